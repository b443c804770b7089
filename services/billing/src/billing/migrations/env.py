from billing.accounts import models as accounts  # noqa: F401  (registers the tables on Base.metadata)
from billing.catalog import models as catalog  # noqa: F401
from billing.database import Base
from billing.dunning import models as dunning  # noqa: F401
from billing.invoices import models as invoices  # noqa: F401
from billing.organizations import models as organizations  # noqa: F401
from billing.payments import models as payments  # noqa: F401
from billing.runs import models as runs  # noqa: F401
from billing.settings import BillingSettings
from billing.settlements import models as settlements  # noqa: F401
from billing.subscriptions import models as subscriptions  # noqa: F401
from vitrina_kit.migrations import run_env

run_env(Base.metadata, default_url=lambda: BillingSettings().database_url)
