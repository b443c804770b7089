"""The models' own rules: shapes other services rely on, and invariants of money documents."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from pydantic import ValidationError

from vitrina_contracts.events.billing import (
    InvoiceIssued,
    PaymentAllocated,
    SettlementIssued,
)
from vitrina_contracts.events.catalog import PlanSnapshot, ProductPublished, ProductSnapshot
from vitrina_contracts.events.orders import SubscriptionCreated


def test_product_snapshot_has_the_shape_the_catalog_service_builds() -> None:
    plan = PlanSnapshot(
        plan_id=uuid4(),
        code="basic",
        name="Базовый",
        billing_period="month",
        pricing_unit="gb",
        unit_price="12.5",
        vat_mode="exempt",
    )
    product = ProductSnapshot(
        product_id=uuid4(),
        partner_id=uuid4(),
        slug="backup",
        name="Резервное копирование",
        category="backup",
        status="published",
        version=1,
        plans=[plan],
    )

    assert (plan.min_quantity, plan.max_quantity, plan.trial_days, plan.public) == (
        1,
        None,
        0,
        True,
    )
    assert plan.unit_price == Decimal("12.50")
    assert product.short_description == ""
    assert list(product.plans) == [plan]
    assert ProductPublished(product=product).product is product


@pytest.mark.parametrize(
    "change",
    [{"version": 0}, {"status": "draft"}, {"category": None}],
)
def test_product_snapshot_refuses_what_consumers_cannot_use(change: dict[str, object]) -> None:
    fields = ProductPublished.example().product.model_dump() | change
    with pytest.raises(ValidationError):
        ProductSnapshot.model_validate(fields)


def test_instants_must_carry_a_time_zone() -> None:
    snapshot = SubscriptionCreated.example().subscription.model_dump()
    with pytest.raises(ValidationError, match="timezone"):
        SubscriptionCreated.model_validate(
            {"subscription": snapshot | {"effective_at": datetime(2025, 12, 1, 9, 0)}}
        )


def test_document_totals_must_be_the_sums_of_the_lines() -> None:
    invoice = InvoiceIssued.example().invoice.model_dump()

    with pytest.raises(ValidationError, match="vat_amount must equal the sum"):
        InvoiceIssued.model_validate({"invoice": invoice | {"vat_amount": Decimal("899.99")}})


def test_a_line_total_is_net_plus_vat_and_an_exempt_line_has_no_vat() -> None:
    invoice = InvoiceIssued.example().invoice.model_dump()
    line = invoice["lines"][0]

    with pytest.raises(ValidationError, match="amount_net \\+ vat_amount"):
        InvoiceIssued.model_validate(
            {"invoice": invoice | {"lines": [line | {"amount_total": Decimal("5400.01")}]}}
        )
    with pytest.raises(ValidationError, match="vat_rate is None exactly"):
        InvoiceIssued.model_validate(
            {"invoice": invoice | {"lines": [line | {"vat_mode": "exempt"}]}}
        )


def test_vat_exempt_documents_are_valid() -> None:
    invoice = InvoiceIssued.example().invoice.model_dump()
    net = invoice["amount_net"]
    line = invoice["lines"][0] | {
        "vat_mode": "exempt",
        "vat_rate": None,
        "vat_amount": Decimal("0.00"),
        "amount_total": net,
    }
    exempt = {"lines": [line], "vat_amount": Decimal("0.00"), "amount_total": net}

    event = InvoiceIssued.model_validate({"invoice": invoice | exempt})

    assert event.invoice.amount_total == event.invoice.amount_net == Decimal("4500.00")


def test_allocations_and_the_advance_add_up_to_the_payment() -> None:
    allocated = PaymentAllocated.example().model_dump()

    with pytest.raises(ValidationError, match="must equal the payment's amount"):
        PaymentAllocated.model_validate(allocated | {"unallocated": Decimal("100.00")})


def test_payout_is_gross_sales_minus_commission() -> None:
    settlement = SettlementIssued.example()
    assert settlement.payout == settlement.gross_sales - settlement.commission

    with pytest.raises(ValidationError, match="payout must equal"):
        SettlementIssued.model_validate(settlement.model_dump() | {"payout": Decimal("4500.00")})


def test_examples_use_2025_vat_rates_for_2025_supplies() -> None:
    line = InvoiceIssued.example().invoice.lines[0]
    assert line.period_start is not None
    assert line.period_start < date(2026, 1, 1)
    assert line.vat_rate == 20
    assert line.vat_amount == (line.amount_net * Decimal("0.20")).quantize(Decimal("0.01"))
