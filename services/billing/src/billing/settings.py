from pydantic_settings import SettingsConfigDict

from vitrina_kit.settings import ServiceSettings


class BillingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BILLING_", extra="ignore")

    service_name: str = "billing"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/vitrina_billing"
    http_port: int = 8004
