from catalog.database import Base
from catalog.organizations import models as organizations  # noqa: F401  (registers the tables)
from catalog.products import models  # noqa: F401
from catalog.settings import CatalogSettings
from vitrina_kit.migrations import run_env

run_env(Base.metadata, default_url=lambda: CatalogSettings().database_url)
