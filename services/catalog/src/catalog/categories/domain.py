"""The taxonomy's rules: a product belongs to a category that exists."""

from __future__ import annotations

from vitrina_kit.problems import UnprocessableEntity


class UnknownCategory(UnprocessableEntity):
    code = "unknown_category"
    title = "There is no such category"

    def __init__(self, slug: str) -> None:
        super().__init__(
            f"There is no category {slug!r}; GET /categories lists them.", category=slug
        )
