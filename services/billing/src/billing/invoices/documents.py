"""The invoices domain's values in the contract's words: parties, document lines, and the
billed segments as stored. The contract models validate on construction (totals are sums of
lines, VAT consistent), so a document that would not add up fails here, before it is stored."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from billing.invoices.domain import BillingPeriod, Line, PlanTerms, ServiceSegment
from billing.invoices.vat import VatMode
from billing.organizations.models import Organization
from billing.settings import BillingSettings
from vitrina_contracts.events.billing import BankAccount, DocumentLine, Party


class BuyerUnknown(LookupError):
    """Identity's organization has not reached billing yet: no requisites to print."""


def seller(settings: BillingSettings) -> Party:
    """The marketplace operator, as every document prints it."""
    return Party(
        organization_id=settings.seller_organization_id,
        legal_name=settings.seller_legal_name,
        inn=settings.seller_inn,
        kpp=settings.seller_kpp,
        address=settings.seller_address,
        bank_account=BankAccount(
            account=settings.seller_account,
            bic=settings.seller_bic,
            bank_name=settings.seller_bank_name,
            correspondent_account=settings.seller_correspondent_account,
        ),
        edo_participant_id=settings.seller_edo_participant_id,
    )


def buyer(organization: Organization | None, customer_id: UUID) -> Party:
    if organization is None:
        raise BuyerUnknown(customer_id)
    bank = None
    if organization.settlement_account and organization.bik and organization.bank_name:
        bank = BankAccount(
            account=organization.settlement_account,
            bic=organization.bik,
            bank_name=organization.bank_name,
            correspondent_account=organization.correspondent_account,
        )
    return Party(
        organization_id=organization.organization_id,
        legal_name=organization.legal_name,
        inn=organization.inn,
        kpp=organization.kpp,
        address=organization.legal_address,
        bank_account=bank,
        edo_participant_id=organization.edo_participant_id,
    )


def document_lines(lines: Sequence[Line]) -> tuple[DocumentLine, ...]:
    return tuple(
        DocumentLine(
            line_no=line_no,
            description=line.description,
            subscription_id=line.subscription_id,
            product_id=line.plan.product_id,
            plan_id=line.plan.plan_id,
            period_start=line.days.starts_on,
            period_end=line.days.last_day,
            quantity=line.quantity,
            okei_code=line.plan.okei_code,
            unit_price=line.unit_price,
            amount_net=line.amount_net,
            vat_mode=line.plan.vat_mode.value,
            vat_rate=line.vat_rate,
            vat_amount=line.vat_amount,
            amount_total=line.amount_total,
        )
        for line_no, line in enumerate(lines, start=1)
    )


def segment_to_json(segment: ServiceSegment) -> dict[str, Any]:
    plan = segment.plan
    return {
        "starts_on": segment.starts_on.isoformat(),
        "ends_on": segment.ends_on.isoformat(),
        "quantity": segment.quantity,
        "anchor": segment.anchor.isoformat(),
        "plan": {
            "plan_id": str(plan.plan_id),
            "product_id": str(plan.product_id),
            "service_name": plan.service_name,
            "billing_period": plan.billing_period.value,
            "unit_price": str(plan.unit_price),
            "vat_mode": plan.vat_mode.value,
            "okei_code": plan.okei_code,
        },
    }


def segment_from_json(value: dict[str, Any]) -> ServiceSegment:
    plan = value["plan"]
    return ServiceSegment(
        starts_on=date.fromisoformat(value["starts_on"]),
        ends_on=date.fromisoformat(value["ends_on"]),
        plan=PlanTerms(
            plan_id=UUID(plan["plan_id"]),
            product_id=UUID(plan["product_id"]),
            service_name=plan["service_name"],
            billing_period=BillingPeriod(plan["billing_period"]),
            unit_price=Decimal(plan["unit_price"]),
            vat_mode=VatMode(plan["vat_mode"]),
            okei_code=plan["okei_code"],
        ),
        quantity=int(value["quantity"]),
        anchor=date.fromisoformat(value["anchor"]),
    )
