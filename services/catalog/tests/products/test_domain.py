import pytest

from catalog.products.domain import (
    ProductCannotBePublished,
    ProductHasNoPublicPlan,
    ProductStatus,
    publish,
)


def test_a_draft_with_a_public_plan_is_published() -> None:
    assert publish(ProductStatus.DRAFT, public_plans=1) is ProductStatus.PUBLISHED


@pytest.mark.parametrize("status", [ProductStatus.PUBLISHED, ProductStatus.RETIRED])
def test_only_a_draft_can_be_published(status: ProductStatus) -> None:
    with pytest.raises(ProductCannotBePublished) as raised:
        publish(status, public_plans=1)
    assert raised.value.status == 409


def test_a_product_nobody_can_order_is_not_published() -> None:
    with pytest.raises(ProductHasNoPublicPlan) as raised:
        publish(ProductStatus.DRAFT, public_plans=0)
    assert raised.value.status == 422
