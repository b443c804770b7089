from vitrina_kit.migrations import run_env

from identity.database import Base

run_env(Base.metadata)
