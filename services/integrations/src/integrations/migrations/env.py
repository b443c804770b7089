from integrations.database import Base
from integrations.settings import IntegrationsSettings
from vitrina_kit.migrations import run_env

run_env(Base.metadata, default_url=lambda: IntegrationsSettings().database_url)
