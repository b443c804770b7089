import uuid

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from vitrina_contracts.events.base import Inn, Kpp, Ogrn
from vitrina_kit.settings import ServiceSettings

# Development defaults only: production sets its own through the environment (IDENTITY_*).
# They are fixed so that the local stack and the e2e tests can get tokens without any setup.
DEV_KEY_ENCRYPTION_KEY = "ZGV2LW9ubHktdml0cmluYS1pZGVudGl0eS1rZXktMDA="
DEV_CLIENT_SECRET_PEPPER = "dev-only-vitrina-client-secret-pepper"  # noqa: S105
DEV_OPERATOR_CLIENT_ID = "vitrina-operator"
DEV_OPERATOR_CLIENT_SECRET = "dev-operator-secret"  # noqa: S105 - a documented dev default


class IdentitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")

    service_name: str = "identity"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/vitrina_identity"
    http_port: int = 8001

    # -- tokens ---------------------------------------------------------------------------
    token_lifetime_seconds: int = Field(
        default=600, ge=300, le=900, description="Lifetime of an access token (5-15 minutes)."
    )
    token_rate_limit_window_seconds: int = Field(default=60, ge=1, le=3600)
    token_rate_limit_per_client: int = Field(
        default=120, ge=1, description="Token requests per client id per window."
    )
    token_rate_limit_per_address: int = Field(
        default=600, ge=1, description="Token requests per source address per window."
    )
    token_failure_limit_per_client: int = Field(
        default=10,
        ge=1,
        description="Failed client authentications per client id per window; after them the "
        "client id gets no token (a right secret neither) until the window ends.",
    )
    token_failure_limit_per_address: int = Field(
        default=30,
        ge=1,
        description="Failed client authentications per source address per window; after them "
        "the address gets no token until the window ends.",
    )

    # -- signing keys ---------------------------------------------------------------------
    signing_key_publish_ahead_seconds: float = Field(
        default=600,
        ge=0,
        le=7 * 24 * 3600,
        description="How long a new key is in the JWKS before it signs, so that verifiers' "
        "cached key sets have it by then.",
    )
    signing_key_rotation_days: float = Field(
        default=30, gt=0, le=3650, description="The signing key is rotated once this old."
    )
    signing_key_grace_seconds: int = Field(
        default=60,
        ge=0,
        le=3600,
        description="A retired key stays in the JWKS this long after its last token expired "
        "(the clock skew verifiers tolerate).",
    )
    jwks_max_age_seconds: int = Field(default=60, ge=0, le=3600)
    key_encryption_keys: SecretStr = Field(
        default=SecretStr(DEV_KEY_ENCRYPTION_KEY),
        description="Fernet keys (url-safe base64 of 32 bytes), comma-separated: the first "
        "encrypts the signing keys at rest, all decrypt; prepend a new one to rotate it.",
    )

    # -- API clients ----------------------------------------------------------------------
    client_secret_pepper: SecretStr = Field(
        default=SecretStr(DEV_CLIENT_SECRET_PEPPER),
        min_length=16,
        description="The HMAC key client secrets are hashed with; changing it invalidates "
        "every secret.",
    )
    client_secret_overlap_hours: float = Field(
        default=24, ge=0, le=30 * 24, description="How long a rotated-out secret still works."
    )

    # -- the bootstrap operator -----------------------------------------------------------
    bootstrap_operator_client_id: str = Field(
        default=DEV_OPERATOR_CLIENT_ID, min_length=3, max_length=100, pattern=r"^[\x21-\x7e]+$"
    )
    bootstrap_operator_client_secret: SecretStr = Field(
        default=SecretStr(DEV_OPERATOR_CLIENT_SECRET),
        min_length=8,
        description="Production must set its own, long and random.",
    )
    operator_organization_id: uuid.UUID = uuid.UUID("0b7e4f0a-3c59-4f0e-9a51-6a0c2d1e0001")
    operator_legal_name: str = "Акционерное общество «Витрина Телеком»"
    operator_short_name: str = "АО «Витрина Телеком»"
    operator_inn: Inn = "7704123450"
    operator_kpp: Kpp = "770401001"
    operator_ogrn: Ogrn = "1027700123450"
    operator_legal_address: str = "123112, г. Москва, Пресненская наб., д. 12"
    operator_contact_email: str = "b2b@vitrina-telecom.example"
    operator_contact_phone: str = "+74950000000"
