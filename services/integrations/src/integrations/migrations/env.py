from vitrina_kit.migrations import run_env

from integrations.database import Base

run_env(Base.metadata)
