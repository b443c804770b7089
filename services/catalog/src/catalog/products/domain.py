"""Products and plans as the catalog's rules see them: plain values, no I/O."""

from __future__ import annotations

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
    PUBLISHED = "published"
    RETIRED = "retired"


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


class ProductCannotBePublished(InvalidStateTransition):
    code = "product_cannot_be_published"
    title = "The product cannot be published in its current status"

    def __init__(self, status: ProductStatus) -> None:
        super().__init__(f"A {status} product cannot be published; only a draft can.")


class ProductHasNoPublicPlan(UnprocessableEntity):
    code = "product_has_no_public_plan"
    title = "A product needs a public plan to be published"

    def __init__(self) -> None:
        super().__init__("Add at least one public plan before publishing the product.")


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


def publish(status: ProductStatus, *, public_plans: int) -> ProductStatus:
    """The status after publishing: only a draft with something to order can be published."""
    if status is not ProductStatus.DRAFT:
        raise ProductCannotBePublished(status)
    if public_plans == 0:
        raise ProductHasNoPublicPlan()
    return ProductStatus.PUBLISHED
