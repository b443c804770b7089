from catalog.database import Base
from catalog.products import models  # noqa: F401  (registers the tables on Base.metadata)
from catalog.settings import CatalogSettings
from vitrina_kit.migrations import run_env

run_env(Base.metadata, default_url=lambda: CatalogSettings().database_url)
