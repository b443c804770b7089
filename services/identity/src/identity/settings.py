from pydantic_settings import SettingsConfigDict

from vitrina_kit.settings import ServiceSettings


class IdentitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")

    service_name: str = "identity"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/vitrina_identity"
    http_port: int = 8001
