from identity.clients import models as clients  # noqa: F401  (registers the tables on Base.metadata)
from identity.database import Base
from identity.keys import models as keys  # noqa: F401
from identity.oauth import models as oauth  # noqa: F401
from identity.organizations import models as organizations  # noqa: F401
from identity.settings import IdentitySettings
from vitrina_kit.migrations import run_env

run_env(Base.metadata, default_url=lambda: IdentitySettings().database_url)
