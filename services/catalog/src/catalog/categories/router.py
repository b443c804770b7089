from __future__ import annotations

from fastapi import APIRouter

from catalog.categories import service
from catalog.categories.schemas import CategoryRead
from vitrina_kit.api import SessionDep
from vitrina_kit.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/categories", tags=["categories"], responses=PROBLEM_RESPONSES)


@router.get("", response_model=list[CategoryRead])
async def list_categories(session: SessionDep) -> list[CategoryRead]:
    """The storefront's taxonomy (public): top-level categories with their subcategories."""
    return await service.tree(session)
