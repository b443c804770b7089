"""Reviewing an order against what the projections know: every reason, and the order's status."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orders.orders.domain import (
    MAX_LINES,
    Accepted,
    Buyer,
    OfferedPlan,
    Order,
    OrderCannotBeDecided,
    OrderStatus,
    ProductStatus,
    ReasonCode,
    Rejected,
    RequestedLine,
    review_order,
)
from orders.subscriptions.domain import BillingPeriod

R = ReasonCode
PRODUCT = uuid.uuid4()
STANDARD = OfferedPlan(
    plan_id=uuid.uuid4(),
    product_id=PRODUCT,
    partner_id=uuid.uuid4(),
    product_name="Проектная доска",
    product_status=ProductStatus.PUBLISHED,
    plan_name="Стандарт",
    public=True,
    billing_period=BillingPeriod.MONTH,
    pricing_unit="seat",
    unit_price=Decimal("450.00"),
    min_quantity=1,
    max_quantity=100,
    trial_days=14,
)
BUSINESS = replace(STANDARD, plan_id=uuid.uuid4(), plan_name="Бизнес", min_quantity=10)
PLANS = {plan.plan_id: plan for plan in (STANDARD, BUSINESS)}
ROMASHKA = Buyer(
    organization_id=uuid.uuid4(),
    kind="business",
    status="active",
    inn="5012345672",
    kpp="501201001",
    legal_address="143900, Московская обл., г. Балашиха, ул. Советская, д. 3",
)
SOLE_PROPRIETOR_INN = "500100732259"


def review(*lines: RequestedLine, buyer: Buyer | None = ROMASHKA) -> Accepted | Rejected:
    return review_order(lines, buyer=buyer, plans=PLANS)


def codes(verdict: Accepted | Rejected) -> list[tuple[int | None, ReasonCode]]:
    assert isinstance(verdict, Rejected)
    return [(reason.line_no, reason.code) for reason in verdict.reasons]


def test_an_order_within_the_rules_is_accepted_with_its_lines() -> None:
    verdict = review(
        RequestedLine(STANDARD.plan_id, 10, product_id=PRODUCT), RequestedLine(BUSINESS.plan_id, 10)
    )

    assert isinstance(verdict, Accepted)
    assert [(line.line_no, line.plan, line.quantity) for line in verdict.lines] == [
        (1, STANDARD, 10),
        (2, BUSINESS, 10),
    ]
    terms = verdict.lines[0].plan.terms
    assert (terms.plan_id, terms.trial_days, terms.max_quantity) == (STANDARD.plan_id, 14, 100)


def test_quantity_out_of_the_plans_range_is_said_in_the_customers_words() -> None:
    verdict = review(RequestedLine(STANDARD.plan_id, 150), RequestedLine(BUSINESS.plan_id, 3))

    assert codes(verdict) == [(1, R.QUANTITY_ABOVE_MAXIMUM), (2, R.QUANTITY_BELOW_MINIMUM)]
    assert isinstance(verdict, Rejected)
    assert verdict.reasons[0].message == (
        "Тариф «Стандарт» продукта «Проектная доска» допускает не более 100 мест, заказано 150."
    )
    assert verdict.summary.startswith("Строка 1: Тариф «Стандарт»")
    assert "Строка 2: Тариф «Бизнес» продукта «Проектная доска» допускает не менее 10 мест" in (
        verdict.summary
    )


@pytest.mark.parametrize(
    ("plan", "line", "code"),
    [
        (None, RequestedLine(uuid.uuid4(), 1), R.PLAN_UNKNOWN),
        (STANDARD, RequestedLine(STANDARD.plan_id, 1, uuid.uuid4()), R.PLAN_OF_ANOTHER_PRODUCT),
        (
            replace(STANDARD, product_status=ProductStatus.RETIRED),
            RequestedLine(STANDARD.plan_id, 1),
            R.PRODUCT_RETIRED,
        ),
        (replace(STANDARD, public=False), RequestedLine(STANDARD.plan_id, 1), R.PLAN_NOT_PUBLIC),
        (STANDARD, RequestedLine(STANDARD.plan_id, 0), R.QUANTITY_BELOW_MINIMUM),
    ],
)
def test_each_line_problem_has_its_code(
    plan: OfferedPlan | None, line: RequestedLine, code: ReasonCode
) -> None:
    plans = {} if plan is None else {plan.plan_id: plan}
    verdict = review_order([line], buyer=ROMASHKA, plans=plans)

    assert codes(verdict) == [(1, code)]


def test_a_plan_ordered_twice_is_refused_on_its_second_line() -> None:
    verdict = review(RequestedLine(STANDARD.plan_id, 5), RequestedLine(STANDARD.plan_id, 5))

    assert codes(verdict) == [(2, R.DUPLICATE_PLAN)]
    assert isinstance(verdict, Rejected)
    assert "уже заказан в строке 1" in verdict.reasons[0].message


def test_an_empty_or_huge_order_is_refused_as_a_whole() -> None:
    assert codes(review()) == [(None, R.NO_LINES)]
    many = [RequestedLine(uuid.uuid4(), 1) for _ in range(MAX_LINES + 1)]
    verdict = review_order(many, buyer=ROMASHKA, plans={})
    assert codes(verdict)[0] == (None, R.TOO_MANY_LINES)
    assert len(codes(verdict)) == MAX_LINES + 1  # the first MAX_LINES lines are still reviewed


@pytest.mark.parametrize(
    ("buyer", "code"),
    [
        (None, R.BUYER_UNKNOWN),
        (replace(ROMASHKA, kind="partner"), R.BUYER_NOT_BUSINESS),
        (replace(ROMASHKA, status="pending"), R.BUYER_NOT_ACTIVE),
        (replace(ROMASHKA, status="rejected"), R.BUYER_NOT_ACTIVE),
        (replace(ROMASHKA, inn="5012345670"), R.BUYER_INN_INVALID),
        (replace(ROMASHKA, kpp=None), R.BUYER_KPP_MISSING),
        (replace(ROMASHKA, legal_address="  "), R.BUYER_LEGAL_ADDRESS_MISSING),
    ],
)
def test_the_buyers_requisites_must_be_complete(buyer: Buyer | None, code: ReasonCode) -> None:
    assert codes(review(RequestedLine(STANDARD.plan_id, 1), buyer=buyer)) == [(None, code)]


def test_a_sole_proprietor_needs_no_kpp_nobody_needs_edo_and_old_events_count_as_active() -> None:
    proprietor = replace(ROMASHKA, inn=SOLE_PROPRIETOR_INN, kpp=None, status=None)

    assert isinstance(review(RequestedLine(STANDARD.plan_id, 1), buyer=proprietor), Accepted)
    assert ROMASHKA.edo_participant_id is None


def test_every_reason_is_reported_at_once() -> None:
    verdict = review(
        RequestedLine(uuid.uuid4(), 1),
        RequestedLine(STANDARD.plan_id, 101),
        buyer=replace(ROMASHKA, kpp=None, legal_address=""),
    )

    assert codes(verdict) == [
        (None, R.BUYER_KPP_MISSING),
        (None, R.BUYER_LEGAL_ADDRESS_MISSING),
        (1, R.PLAN_UNKNOWN),
        (2, R.QUANTITY_ABOVE_MAXIMUM),
    ]


@settings(max_examples=200, deadline=None, database=None)
@given(
    lines=st.lists(
        st.builds(
            RequestedLine,
            plan_id=st.sampled_from([STANDARD.plan_id, BUSINESS.plan_id, uuid.uuid4()]),
            quantity=st.integers(min_value=-5, max_value=150),
        ),
        max_size=6,
    )
)
def test_accepted_exactly_when_every_line_is_orderable(lines: list[RequestedLine]) -> None:
    verdict = review_order(lines, buyer=ROMASHKA, plans=PLANS)

    plan_ids = [line.plan_id for line in lines]
    orderable = (
        bool(lines)
        and len(set(plan_ids)) == len(plan_ids)
        and all(
            line.plan_id in PLANS and PLANS[line.plan_id].terms.allows(line.quantity)
            for line in lines
        )
    )
    assert isinstance(verdict, Accepted) == orderable
    if isinstance(verdict, Accepted):
        assert [line.line_no for line in verdict.lines] == list(range(1, len(lines) + 1))
    else:
        assert verdict.reasons
        assert all(reason.message for reason in verdict.reasons)
        assert all(
            reason.line_no is None or 1 <= reason.line_no <= len(lines)
            for reason in verdict.reasons
        )


# The order's own status -------------------------------------------------------------------------


def placed(*lines: RequestedLine) -> Order:
    return Order.place(
        order_id=uuid.uuid4(), customer_id=ROMASHKA.organization_id, lines=lines, plans=PLANS
    )


def test_an_order_completes_when_every_line_has_its_subscription() -> None:
    order = placed(RequestedLine(STANDARD.plan_id, 10), RequestedLine(BUSINESS.plan_id, 10))
    assert order.status is OrderStatus.PLACED
    assert [line.product_id for line in order.lines] == [PRODUCT, PRODUCT]
    ids = {1: uuid.uuid4(), 2: uuid.uuid4()}

    completed = order.complete(ids)

    assert completed.status is OrderStatus.COMPLETED
    assert [line.subscription_id for line in completed.lines] == [ids[1], ids[2]]
    with pytest.raises(ValueError, match="every line"):
        order.complete({1: ids[1]})


def test_an_order_is_decided_once() -> None:
    order = placed(RequestedLine(uuid.uuid4(), 1))
    rejection = review_order([RequestedLine(uuid.uuid4(), 1)], buyer=ROMASHKA, plans={})
    assert isinstance(rejection, Rejected)
    rejected = order.reject(rejection)

    assert rejected.status is OrderStatus.REJECTED
    assert rejected.lines[0].product_id is None  # the catalog does not know the plan
    with pytest.raises(OrderCannotBeDecided):
        rejected.complete({1: uuid.uuid4()})
    with pytest.raises(OrderCannotBeDecided):
        rejected.reject(rejection)
