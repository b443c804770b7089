from integrations.bank import models as bank  # noqa: F401  (registers the tables on Base.metadata)
from integrations.connectors import models as connectors  # noqa: F401
from integrations.database import Base
from integrations.edo import models as edo  # noqa: F401
from integrations.onec import models as onec  # noqa: F401
from integrations.organizations import models as organizations  # noqa: F401
from integrations.provisioning import models as provisioning  # noqa: F401
from integrations.settings import IntegrationsSettings
from integrations.webhooks import models as webhooks  # noqa: F401
from vitrina_kit.migrations import run_env

run_env(Base.metadata, default_url=lambda: IntegrationsSettings().database_url)
