# The models' imports register their tables on Base.metadata.
from orders.catalog import models as catalog_models  # noqa: F401
from orders.database import Base
from orders.orders import models as order_models  # noqa: F401
from orders.organizations import models as organization_models  # noqa: F401
from orders.settings import OrdersSettings
from orders.subscriptions import models as subscription_models  # noqa: F401
from vitrina_kit.migrations import run_env

run_env(Base.metadata, default_url=lambda: OrdersSettings().database_url)
