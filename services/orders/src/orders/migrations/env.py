from vitrina_kit.migrations import run_env

from orders.database import Base
from orders.catalog import models  # noqa: F401  (registers the tables on Base.metadata)

run_env(Base.metadata)
