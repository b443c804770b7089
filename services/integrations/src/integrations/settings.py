from pydantic_settings import SettingsConfigDict

from vitrina_kit.settings import ServiceSettings


class IntegrationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTEGRATIONS_", extra="ignore")

    service_name: str = "integrations"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/vitrina_integrations"
    http_port: int = 8005
