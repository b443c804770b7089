from __future__ import annotations

from vitrina_kit.api import ResponseModel


class CategoryRead(ResponseModel):
    slug: str
    name: str
    children: list[CategoryRead]
