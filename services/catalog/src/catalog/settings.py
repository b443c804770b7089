from pydantic import Field
from pydantic_settings import SettingsConfigDict

from vitrina_kit.settings import ServiceSettings


class CatalogSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore")

    service_name: str = "catalog"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/vitrina_catalog"
    http_port: int = 8002
    price_notice_days: int = Field(
        default=30, ge=0, le=365, description="How far ahead a price change must be announced."
    )
