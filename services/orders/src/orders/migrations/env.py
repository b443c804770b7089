from orders.catalog import models  # noqa: F401  (registers the tables on Base.metadata)
from orders.database import Base
from orders.organizations import models as organization_models  # noqa: F401
from orders.settings import OrdersSettings
from vitrina_kit.migrations import run_env

run_env(Base.metadata, default_url=lambda: OrdersSettings().database_url)
