"""Products and plans as the catalog's rules see them: plain values, no I/O.

The moderation workflow is a state machine over a product's latest revision::

    draft ──submit──▶ submitted ──approve──▶ approved (the product is published)
      ▲                   │
    edit               reject (with a reason)
      │                   ▼
    revised ◀──edit── rejected            published ──retire──▶ retired

A product is born with revision 1 in ``draft``. Until its first approval the product's status is
its revision's status. Editing a published product opens revision N+1 (a draft) that goes through
the same review while revision N stays live; approving it revises the live product. Retiring a
published product withdraws a revision still in review.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from http import HTTPStatus
from uuid import UUID

from vitrina_kit.auth import OrganizationKind
from vitrina_kit.problems import (
    Conflict,
    DomainError,
    InvalidStateTransition,
    NotFound,
    UnprocessableEntity,
)

KOPECK = Decimal("0.01")


class ProductStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    REJECTED = "rejected"
    REVISED = "revised"
    PUBLISHED = "published"
    RETIRED = "retired"


class RevisionStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    REJECTED = "rejected"
    REVISED = "revised"
    APPROVED = "approved"
    WITHDRAWN = "withdrawn"
    """The product was retired while this revision waited for review."""


CLOSED_REVISION = frozenset({RevisionStatus.APPROVED, RevisionStatus.WITHDRAWN})
"""A revision in one of these statuses is history; the next edit opens a new one."""


class Outcome(StrEnum):
    """What an approval did to the storefront: which event tells the world."""

    PUBLISHED = "published"
    REVISED = "revised"


class BillingPeriod(StrEnum):
    MONTH = "month"
    YEAR = "year"


class PricingUnit(StrEnum):
    SEAT = "seat"
    ORGANIZATION = "organization"
    GB = "gb"
    VCPU = "vcpu"
    UNIT = "unit"


class VatMode(StrEnum):
    STANDARD = "standard"
    EXEMPT = "exempt"


class ProductNotFound(NotFound):
    code = "product_not_found"
    title = "Product not found"

    def __init__(self, product_id: UUID) -> None:
        super().__init__(f"There is no product {product_id} you can see.")


class SlugTaken(Conflict):
    code = "slug_taken"
    title = "The slug is taken"

    def __init__(self, slug: str) -> None:
        super().__init__(f"Another product already uses the slug {slug!r}.", slug=slug)


class WorkflowConflict(InvalidStateTransition):
    """An action the product's current state does not allow (each action has its own code)."""

    action = "change"

    def __init__(self, review: Review, why: str) -> None:
        super().__init__(
            f"Cannot {self.action} the product: {why}",
            product_status=str(review.status),
            revision=review.revision,
            revision_status=str(review.revision_status),
        )


class ProductCannotBeEdited(WorkflowConflict):
    code = "product_cannot_be_edited"
    title = "The product cannot be edited in its current state"
    action = "edit"


class ProductCannotBeSubmitted(WorkflowConflict):
    code = "product_cannot_be_submitted"
    title = "The product cannot be submitted for review in its current state"
    action = "submit"


class ProductCannotBeApproved(WorkflowConflict):
    code = "product_cannot_be_approved"
    title = "The product has nothing waiting for approval"
    action = "approve"


class ProductCannotBeRejected(WorkflowConflict):
    code = "product_cannot_be_rejected"
    title = "The product has nothing waiting for review"
    action = "reject"


class ProductCannotBeRetired(WorkflowConflict):
    code = "product_cannot_be_retired"
    title = "Only a published product can be retired"
    action = "retire"


class ProductHasNoPublicPlan(UnprocessableEntity):
    code = "product_has_no_public_plan"
    title = "A product needs a public plan to be published"

    def __init__(self) -> None:
        super().__init__("Add at least one public plan before submitting the product.")


class OnlyPartnersOfferProducts(DomainError):
    status = HTTPStatus.FORBIDDEN
    code = "only_partners_offer_products"
    title = "Only partners and the operator offer products"

    def __init__(self) -> None:
        super().__init__("A business organization buys products; it cannot offer them.")


def check_may_offer_products(kind: OrganizationKind) -> None:
    """Partners offer their products, the operator its own; businesses only buy."""
    if kind is OrganizationKind.BUSINESS:
        raise OnlyPartnersOfferProducts()


@dataclass(frozen=True)
class Review:
    """Where a product stands: its own status and its latest revision's number and status."""

    status: ProductStatus
    revision: int
    revision_status: RevisionStatus

    @classmethod
    def new(cls) -> Review:
        return cls(ProductStatus.DRAFT, 1, RevisionStatus.DRAFT)

    @property
    def is_live(self) -> bool:
        """Has the product been approved at least once (published or retired since)?"""
        return self.status in {ProductStatus.PUBLISHED, ProductStatus.RETIRED}

    @property
    def has_pending_revision(self) -> bool:
        return self.revision_status not in CLOSED_REVISION

    def _move(self, revision_status: RevisionStatus) -> Review:
        # Before the first approval the product is exactly as far as its revision.
        status = self.status if self.is_live else ProductStatus(revision_status.value)
        return replace(self, status=status, revision_status=revision_status)

    def edit(self) -> Review:
        """Content changes: in place on a draft, as a new revision on a published product."""
        if self.status is ProductStatus.RETIRED:
            raise ProductCannotBeEdited(self, "it is retired.")
        match self.revision_status:
            case RevisionStatus.APPROVED | RevisionStatus.WITHDRAWN:
                return replace(
                    self, revision=self.revision + 1, revision_status=RevisionStatus.DRAFT
                )
            case RevisionStatus.SUBMITTED:
                raise ProductCannotBeEdited(
                    self, f"revision {self.revision} is under review; wait for the decision."
                )
            case RevisionStatus.DRAFT:
                return self
            case RevisionStatus.REJECTED | RevisionStatus.REVISED:
                return self._move(RevisionStatus.REVISED)

    def submit(self, *, public_plans: int) -> Review:
        """Send the latest revision for review; nobody can order a product without a public plan."""
        if self.revision_status not in {RevisionStatus.DRAFT, RevisionStatus.REVISED}:
            why = {
                RevisionStatus.SUBMITTED: "it is already waiting for review.",
                RevisionStatus.REJECTED: "it was rejected; edit it before submitting it again.",
            }.get(self.revision_status, "it has no changes to review; edit it first.")
            raise ProductCannotBeSubmitted(self, why)
        if public_plans == 0:
            raise ProductHasNoPublicPlan()
        return self._move(RevisionStatus.SUBMITTED)

    def approve(self) -> tuple[Review, Outcome]:
        """The operator accepts the revision in review: it becomes what the storefront shows."""
        if self.revision_status is not RevisionStatus.SUBMITTED:
            raise ProductCannotBeApproved(self, "no revision is waiting for review.")
        outcome = Outcome.REVISED if self.is_live else Outcome.PUBLISHED
        return Review(ProductStatus.PUBLISHED, self.revision, RevisionStatus.APPROVED), outcome

    def reject(self) -> Review:
        """The operator turns the revision in review down; a published revision stays live."""
        if self.revision_status is not RevisionStatus.SUBMITTED:
            raise ProductCannotBeRejected(self, "no revision is waiting for review.")
        return self._move(RevisionStatus.REJECTED)

    def retire(self) -> Review:
        """No more sales; a revision still in review is withdrawn with it."""
        if self.status is not ProductStatus.PUBLISHED:
            raise ProductCannotBeRetired(self, f"it is {self.status}.")
        revision_status = (
            RevisionStatus.WITHDRAWN if self.has_pending_revision else self.revision_status
        )
        return Review(ProductStatus.RETIRED, self.revision, revision_status)


class PlanNotFound(NotFound):
    code = "plan_not_found"
    title = "Plan not found"

    def __init__(self, plan_id: UUID) -> None:
        super().__init__(f"There is no plan {plan_id} on this product.")


class PriceChangeTooSoon(UnprocessableEntity):
    code = "price_change_too_soon"
    title = "A price change must be announced in advance"

    def __init__(self, earliest: date) -> None:
        super().__init__(
            f"Customers must be told in advance: the earliest date is {earliest.isoformat()}.",
            earliest_effective_on=earliest.isoformat(),
        )


class PriceChangeNeedsPublishedProduct(InvalidStateTransition):
    code = "price_change_needs_published_product"
    title = "Only a published product's prices are changed by schedule"

    def __init__(self, status: ProductStatus) -> None:
        super().__init__(
            f"The product is {status}; change a plan's price directly until it is published.",
            product_status=str(status),
        )


class PriceUnchanged(UnprocessableEntity):
    code = "price_unchanged"
    title = "The new price is the current price"

    def __init__(self) -> None:
        super().__init__("The plan already costs that much; nothing to schedule.")


@dataclass(frozen=True)
class Price:
    """A plan's price now and, if a change was scheduled, its next price and from when."""

    current: Decimal
    next: Decimal | None = None
    next_on: date | None = None

    def on(self, day: date) -> Decimal:
        """The unit price billed on ``day``."""
        if self.next is not None and self.next_on is not None and day >= self.next_on:
            return self.next
        return self.current

    def settled(self, today: date) -> Price:
        """A scheduled change whose day has come is simply the price now."""
        if self.next_on is not None and today >= self.next_on:
            return Price(self.on(today))
        return self

    def schedule(
        self, price: Decimal, effective_on: date, *, today: date, notice_days: int
    ) -> Price:
        """Announce ``price`` from ``effective_on``, no sooner than the notice period allows.

        A new announcement replaces one still pending: customers are told the latest plan.
        """
        earliest = today + timedelta(days=notice_days)
        if effective_on < earliest:
            raise PriceChangeTooSoon(earliest)
        now = self.settled(today)
        if price == now.current:
            raise PriceUnchanged()
        return Price(now.current, price.quantize(KOPECK), effective_on)


class PlansAreFixedOncePublished(InvalidStateTransition):
    code = "plans_fixed_once_published"
    title = "A published product's plans are not edited directly"

    def __init__(self) -> None:
        super().__init__(
            "Subscribers rely on the published plans: schedule a price change instead."
        )


class PlanCodeTaken(Conflict):
    code = "plan_code_taken"
    title = "The plan code is taken"

    def __init__(self, code: str) -> None:
        super().__init__(f"The product already has a plan {code!r}.", plan_code=code)


class QuantityRangeInverted(UnprocessableEntity):
    code = "quantity_range_inverted"
    title = "The minimum quantity is above the maximum"

    def __init__(self, minimum: int, maximum: int) -> None:
        super().__init__(f"min_quantity {minimum} is above max_quantity {maximum}.")


def edit_plans(review: Review) -> Review:
    """Plans change with the draft: before the first approval only."""
    if review.is_live:
        raise PlansAreFixedOncePublished()
    return review.edit()


def check_quantity_range(minimum: int, maximum: int | None) -> None:
    if maximum is not None and maximum < minimum:
        raise QuantityRangeInverted(minimum, maximum)
