from decimal import Decimal
from uuid import UUID

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from billing.dunning.domain import DunningPolicy
from vitrina_contracts.events.base import Inn, Kpp
from vitrina_kit.settings import ServiceSettings


class BillingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BILLING_", extra="ignore")

    service_name: str = "billing"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/vitrina_billing"
    http_port: int = 8004

    # The seller on every document: the marketplace operator. The defaults are a fictional
    # operator (the contracts' АО «Витрина»: invented requisites with valid check digits) so a
    # local stack prints complete documents; a real deployment sets every one of them.
    seller_organization_id: UUID = UUID("0b7e4f0a-3c59-4f0e-9a51-6a0c2d1e0001")
    seller_legal_name: str = Field(default="АО «Витрина»", min_length=1)
    seller_inn: Inn = "7704123450"
    seller_kpp: Kpp | None = "770401001"
    seller_address: str = Field(default="123112, г. Москва, Пресненская наб., д. 12", min_length=1)
    seller_bank_name: str = Field(default="АО «Банк Пример», г. Москва", min_length=1)
    seller_bic: str = Field(default="044525999", pattern=r"^[0-9]{9}$")
    seller_account: str = Field(default="40702810400000001234", pattern=r"^[0-9]{20}$")
    seller_correspondent_account: str | None = Field(
        default="30101810400000000999", pattern=r"^[0-9]{20}$"
    )
    seller_edo_participant_id: str | None = "2BM-7704123450-770401001-000000000000001"

    run_concurrency: int = Field(
        default=4, ge=1, le=64, description="Customers a billing run works on at once."
    )
    run_interval_seconds: float = Field(
        default=3600,
        ge=1,
        description="How often the worker runs the billing calendar (today's renewals, closing "
        "the month just ended); each run is idempotent, so a short interval only costs queries.",
    )

    dunning_reminder_offsets: tuple[int, ...] = Field(
        default=(1, 5, 10),
        description="Days after the due date a reminder is recorded (JSON list in the env).",
    )
    dunning_grace_days: int = Field(
        default=10,
        ge=0,
        le=365,
        description="Days after the due date billing counts the suspension as asked for. Keep it "
        "equal to ORDERS_SUSPENSION_GRACE_DAYS: orders suspends on invoice.overdue after its own "
        "grace (billing.dunning.service says why).",
    )
    dunning_interval_seconds: float = Field(
        default=3600, ge=1, description="How often the worker runs the dunning check."
    )
    default_commission_percent: Decimal = Field(
        default=Decimal("20.00"),
        ge=0,
        le=100,
        decimal_places=2,
        description="The marketplace's commission for a partner without a rate of its own.",
    )

    @property
    def dunning_policy(self) -> DunningPolicy:
        return DunningPolicy(self.dunning_reminder_offsets, self.dunning_grace_days)
