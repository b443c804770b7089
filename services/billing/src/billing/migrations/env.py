from vitrina_kit.migrations import run_env

from billing.database import Base

run_env(Base.metadata)
