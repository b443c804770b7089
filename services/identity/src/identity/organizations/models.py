from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from identity.database import Base
from identity.organizations.domain import BankAccount, OrganizationStatus
from vitrina_kit.auth import OrganizationKind


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = (
        # One live registration per legal entity (INN + KPP: branches share the INN) and per
        # entrepreneur (INN alone); a rejected applicant may apply again.
        Index(
            "uq_organizations_inn_kpp",
            "inn",
            "kpp",
            unique=True,
            postgresql_where=text("kpp IS NOT NULL AND status <> 'rejected'"),
        ),
        Index(
            "uq_organizations_inn",
            "inn",
            unique=True,
            postgresql_where=text("kpp IS NULL AND status <> 'rejected'"),
        ),
        # The operator's listing pages through organizations in creation order.
        Index("ix_organizations_created_at_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[OrganizationKind] = mapped_column(String(20))
    status: Mapped[OrganizationStatus] = mapped_column(String(20))
    legal_name: Mapped[str] = mapped_column(String(500))
    short_name: Mapped[str | None] = mapped_column(String(200))
    inn: Mapped[str] = mapped_column(String(12))
    kpp: Mapped[str | None] = mapped_column(String(9))
    ogrn: Mapped[str | None] = mapped_column(String(15))
    legal_address: Mapped[str] = mapped_column(String(500))
    bank_name: Mapped[str | None] = mapped_column(String(200))
    bank_bik: Mapped[str | None] = mapped_column(String(9))
    bank_settlement_account: Mapped[str | None] = mapped_column(String(20))
    bank_correspondent_account: Mapped[str | None] = mapped_column(String(20))
    edo_participant_id: Mapped[str | None] = mapped_column(String(100))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(16))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    # The aggregate version: bumped with every event about the organization, so consumers can
    # drop stale or repeated events.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    @property
    def bank_details(self) -> BankAccount | None:
        if self.bank_bik is None or self.bank_settlement_account is None:
            return None
        return BankAccount(
            bank_name=self.bank_name or "",
            bik=self.bank_bik,
            settlement_account=self.bank_settlement_account,
            correspondent_account=self.bank_correspondent_account,
        )

    @bank_details.setter
    def bank_details(self, account: BankAccount | None) -> None:
        self.bank_name = account.bank_name if account else None
        self.bank_bik = account.bik if account else None
        self.bank_settlement_account = account.settlement_account if account else None
        self.bank_correspondent_account = account.correspondent_account if account else None
