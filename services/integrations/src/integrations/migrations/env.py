from integrations.database import Base
from vitrina_kit.migrations import run_env

run_env(Base.metadata)
