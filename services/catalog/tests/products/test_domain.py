"""The moderation workflow as plain values: every transition, and every one it refuses."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from catalog.products.domain import (
    Outcome,
    Price,
    PriceChangeTooSoon,
    PriceUnchanged,
    ProductCannotBeApproved,
    ProductCannotBeEdited,
    ProductCannotBeRejected,
    ProductCannotBeRetired,
    ProductCannotBeSubmitted,
    ProductHasNoPublicPlan,
    ProductStatus,
    Review,
    RevisionStatus,
    WorkflowConflict,
)

P, R = ProductStatus, RevisionStatus


def published(revision: int = 1) -> Review:
    return Review(P.PUBLISHED, revision, R.APPROVED)


def test_a_new_product_is_a_draft_of_revision_one() -> None:
    assert Review.new() == Review(P.DRAFT, 1, R.DRAFT)


def test_draft_submitted_approved_publishes_it() -> None:
    submitted = Review.new().submit(public_plans=1)
    assert submitted == Review(P.SUBMITTED, 1, R.SUBMITTED)
    assert submitted.approve() == (published(1), Outcome.PUBLISHED)


def test_rejected_then_revised_then_resubmitted() -> None:
    rejected = Review.new().submit(public_plans=1).reject()
    assert rejected == Review(P.REJECTED, 1, R.REJECTED)
    revised = rejected.edit()
    assert revised == Review(P.REVISED, 1, R.REVISED)
    assert revised.edit() == revised
    assert revised.submit(public_plans=1) == Review(P.SUBMITTED, 1, R.SUBMITTED)


def test_editing_a_draft_changes_it_in_place() -> None:
    assert Review.new().edit() == Review.new()


def test_editing_a_published_product_opens_the_next_revision_and_stays_live() -> None:
    draft = published(1).edit()
    assert draft == Review(P.PUBLISHED, 2, R.DRAFT)
    submitted = draft.submit(public_plans=1)
    assert submitted == Review(P.PUBLISHED, 2, R.SUBMITTED)
    assert submitted.approve() == (published(2), Outcome.REVISED)


def test_a_rejected_revision_leaves_the_published_one_live() -> None:
    rejected = published(1).edit().submit(public_plans=1).reject()
    assert rejected == Review(P.PUBLISHED, 2, R.REJECTED)
    assert rejected.edit() == Review(P.PUBLISHED, 2, R.REVISED)


def test_retiring_withdraws_a_pending_revision() -> None:
    assert published(1).retire() == Review(P.RETIRED, 1, R.APPROVED)
    pending = published(1).edit().submit(public_plans=1)
    assert pending.retire() == Review(P.RETIRED, 2, R.WITHDRAWN)


def test_nobody_can_order_a_product_without_a_public_plan() -> None:
    with pytest.raises(ProductHasNoPublicPlan) as raised:
        Review.new().submit(public_plans=0)
    assert raised.value.status == 422


DRAFT = Review.new()
SUBMITTED = DRAFT.submit(public_plans=1)
REJECTED = SUBMITTED.reject()
PUBLISHED = published()
RETIRED = PUBLISHED.retire()
PENDING = PUBLISHED.edit().submit(public_plans=1)

REFUSED = [
    ("submit", SUBMITTED, ProductCannotBeSubmitted),
    ("submit", REJECTED, ProductCannotBeSubmitted),
    ("submit", PUBLISHED, ProductCannotBeSubmitted),
    ("submit", RETIRED, ProductCannotBeSubmitted),
    ("approve", DRAFT, ProductCannotBeApproved),
    ("approve", REJECTED, ProductCannotBeApproved),
    ("approve", PUBLISHED, ProductCannotBeApproved),
    ("approve", RETIRED, ProductCannotBeApproved),
    ("reject", DRAFT, ProductCannotBeRejected),
    ("reject", REJECTED, ProductCannotBeRejected),
    ("reject", PUBLISHED, ProductCannotBeRejected),
    ("reject", RETIRED, ProductCannotBeRejected),
    ("retire", DRAFT, ProductCannotBeRetired),
    ("retire", SUBMITTED, ProductCannotBeRetired),
    ("retire", REJECTED, ProductCannotBeRetired),
    ("retire", RETIRED, ProductCannotBeRetired),
    ("edit", SUBMITTED, ProductCannotBeEdited),
    ("edit", PENDING, ProductCannotBeEdited),
    ("edit", RETIRED, ProductCannotBeEdited),
]


@pytest.mark.parametrize(("action", "review", "error"), REFUSED)
def test_a_transition_from_the_wrong_state_is_a_conflict(
    action: str, review: Review, error: type[WorkflowConflict]
) -> None:
    actions: dict[str, Callable[[], object]] = {
        "submit": lambda: review.submit(public_plans=1),
        "approve": review.approve,
        "reject": review.reject,
        "retire": review.retire,
        "edit": review.edit,
    }
    with pytest.raises(error) as raised:
        actions[action]()
    assert raised.value.status == 409
    assert raised.value.extensions["product_status"] == review.status


TODAY = date(2026, 11, 25)


def test_a_price_change_respects_the_notice_period() -> None:
    price = Price(Decimal("100.00"))
    with pytest.raises(PriceChangeTooSoon) as raised:
        price.schedule(Decimal("120"), date(2026, 12, 24), today=TODAY, notice_days=30)
    assert raised.value.extensions["earliest_effective_on"] == "2026-12-25"

    scheduled = price.schedule(Decimal("120"), date(2026, 12, 25), today=TODAY, notice_days=30)

    assert scheduled == Price(Decimal("100.00"), Decimal("120.00"), date(2026, 12, 25))
    assert scheduled.on(date(2026, 12, 24)) == Decimal("100.00")
    assert scheduled.on(date(2026, 12, 25)) == Decimal("120.00")


def test_a_change_whose_day_came_is_the_current_price_of_the_next_change() -> None:
    old = Price(Decimal("100.00"), Decimal("120.00"), date(2026, 11, 1))
    rescheduled = old.schedule(Decimal("150"), date(2027, 1, 1), today=TODAY, notice_days=30)
    assert rescheduled == Price(Decimal("120.00"), Decimal("150.00"), date(2027, 1, 1))
    with pytest.raises(PriceUnchanged):
        old.schedule(Decimal("120.00"), date(2027, 1, 1), today=TODAY, notice_days=30)
