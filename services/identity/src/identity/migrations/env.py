from identity.database import Base
from identity.settings import IdentitySettings
from vitrina_kit.migrations import run_env

run_env(Base.metadata, default_url=lambda: IdentitySettings().database_url)
