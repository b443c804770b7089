"""The partner server and the app's fixtures are the webhooks tests' (provisioning calls are
webhook deliveries); tests/ has no package to import them from absolutely."""

from ..webhooks.conftest import (  # type: ignore[import-not-found]  # noqa: F401, TID252
    Outbox,
    Partner,
    database_url,
    outbox,
    partner,
    partner_headers,
    partner_id,
    sessions,
)
