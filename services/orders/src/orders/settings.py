from pydantic import Field
from pydantic_settings import SettingsConfigDict

from vitrina_kit.settings import ServiceSettings


class OrdersSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERS_", extra="ignore")

    service_name: str = "orders"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/vitrina_orders"
    http_port: int = 8003

    suspension_grace_days: int = Field(default=10, ge=0, le=365)
    """Days after an invoice's due date before an unpaid invoice suspends what it bills."""
    scheduler_interval_seconds: float = Field(default=60.0, gt=0)
    """How often the worker applies what came due (scheduled cancellations and changes, trial
    ends, grace periods run out). Everything is due on a day boundary, so a minute is plenty."""
    scheduler_batch_size: int = Field(default=100, ge=1, le=10_000)
    """Subscriptions per scheduler transaction: small, so row locks are held briefly."""
