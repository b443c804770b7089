from datetime import date

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from vitrina_kit.settings import ServiceSettings

# Connectors and EDO: a fixed, documented development key; every real deployment sets its own.
DEV_CONNECTOR_ENCRYPTION_KEY = "ZGV2LW9ubHktdml0cmluYS1pbnRlZ3JhdGlvbnMtMDE="


class IntegrationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTEGRATIONS_", extra="ignore")

    service_name: str = "integrations"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/vitrina_integrations"
    http_port: int = 8005

    # -- connectors (secrets at rest, OAuth tokens) ------------------------------------------
    connector_encryption_keys: SecretStr = Field(
        default=SecretStr(DEV_CONNECTOR_ENCRYPTION_KEY),
        description="Fernet keys (url-safe base64 of 32 bytes), comma-separated: the first "
        "encrypts connector secrets and OAuth tokens at rest, all decrypt; prepend a new one to "
        "rotate it (the re-encryption job moves stored values to it).",
    )
    connector_reencrypt_interval_seconds: float = Field(default=3600, ge=1)
    oauth_refresh_leeway_seconds: float = Field(
        default=60,
        ge=0,
        le=3600,
        description="A cached access token this close to its expiry is renewed before use.",
    )
    connector_timeout_seconds: float = Field(default=10, gt=0, le=300)

    # -- EDO ------------------------------------------------------------------------------------
    edo_signer_last_name: str = Field(default="Петрова", min_length=1, max_length=60)
    edo_signer_first_name: str = Field(default="Анна", min_length=1, max_length=60)
    edo_signer_middle_name: str | None = Field(default="Сергеевна", max_length=60)
    edo_signer_position: str = Field(default="Генеральный директор", min_length=1, max_length=128)
    edo_send_interval_seconds: float = Field(default=5, gt=0)
    edo_track_interval_seconds: float = Field(default=30, gt=0)
    edo_send_attempts_per_round: int = Field(
        default=3, ge=1, le=10, description="Quick retries (with backoff) of one send in a round."
    )
    edo_send_retry_base_seconds: float = Field(default=0.5, ge=0, le=60)
    edo_send_max_rounds: int = Field(
        default=12,
        ge=1,
        description="Rounds (each with its quick retries) before a document the operator never "
        "accepted is failed; rounds are spaced exponentially, capped at an hour.",
    )
    edo_awaiting_recheck_seconds: float = Field(
        default=300,
        gt=0,
        description="A document waiting for a party's EDO participant id is built as soon as "
        "identity's event brings the id; the sender also rechecks waiting ones this often.",
    )
    edo_send_lease_seconds: float = Field(
        default=120,
        gt=0,
        description="A claimed document is left to its sender this long before another replica "
        "may try it (the operator's operationId makes a second send harmless anyway).",
    )

    # -- bank statements ----------------------------------------------------------------------
    operator_account: str | None = Field(
        default=None,
        pattern=r"^[0-9]{20}$",
        description="The operator's settlement account (р/с): payments to it are imported. "
        "Unset: the account a statement file names in its header (exactly one).",
    )

    # -- partner webhooks and provisioning ------------------------------------------------------
    webhook_retry_schedule: str = Field(
        default="1m,5m,30m,2h,6h,12h",
        description="Waits before each retry of a failed delivery (ms, s, m, h); after the "
        "last one the delivery has failed. The default spans about 21 hours.",
    )
    webhook_timeout_seconds: float = Field(default=10, gt=0, le=60)
    webhook_allow_http: bool = Field(
        default=False, description="Accept http:// targets: local stacks and tests only."
    )
    webhook_allowed_networks: list[str] = Field(
        default_factory=list,
        description="Networks (CIDR) a target may resolve to although not public, e.g. "
        "127.0.0.0/8 for a local stack. Empty in production: only public addresses.",
    )
    webhook_disable_after_failures: int = Field(
        default=50, ge=1, description="Consecutive failed attempts that disable an endpoint."
    )
    webhook_disable_after_hours: float = Field(
        default=72, gt=0, description="An endpoint failing without a success this long is disabled."
    )
    webhook_secret_grace_hours: float = Field(
        default=24,
        ge=0,
        le=24 * 7,
        description="After a signing secret is rotated, deliveries carry a signature with the "
        "previous secret too for this long, so the owner can switch its verifier over.",
    )
    webhook_dispatch_interval_seconds: float = Field(default=2, gt=0)
    webhook_dispatch_batch_size: int = Field(default=50, ge=1, le=1000)

    # -- 1C (the operator's accounting base over OData) -----------------------------------------
    onec_sync_interval_seconds: float = Field(default=5, gt=0)
    onec_sync_attempts_per_round: int = Field(
        default=3, ge=1, le=10, description="Quick retries (with backoff) of one write in a round."
    )
    onec_sync_retry_base_seconds: float = Field(default=0.5, ge=0, le=60)
    onec_sync_max_rounds: int = Field(
        default=24,
        ge=1,
        description="Failed rounds (spaced exponentially, capped at an hour) before a document "
        "is failed; the operator retries it from GET /onec/sync.",
    )
    onec_sync_lease_seconds: float = Field(
        default=120, gt=0, description="A claimed document is left to its replica this long."
    )
    onec_payments_interval_seconds: float = Field(default=300, gt=0)
    onec_payments_first_date: date | None = Field(
        default=None,
        description="Where a connector's first pull starts (1C's receipts dated this day or "
        "later); unset: the look-back before today.",
    )
    onec_payments_lookback_days: int = Field(
        default=7,
        ge=0,
        le=366,
        description="Receipts dated this many days before the last one read are read again: "
        "an accountant may enter one late with an earlier date (re-reading is harmless).",
    )
