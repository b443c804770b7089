from billing.database import Base
from billing.settings import BillingSettings
from vitrina_kit.migrations import run_env

run_env(Base.metadata, default_url=lambda: BillingSettings().database_url)
