"""Region tree API. Region names and codes are public administrative data, so these need no scope."""

from __future__ import annotations

from fastapi import APIRouter

from fangkong.core.deps import DbSession
from fangkong.regions import service
from fangkong.regions.models import RegionLevel
from fangkong.regions.schemas import RegionDetail, RegionRead

router = APIRouter(prefix="/regions", tags=["regions"])


@router.get("", response_model=list[RegionRead])
def list_roots(db: DbSession) -> list[RegionRead]:
    """The top of the tree (the cities)."""
    return [RegionRead.model_validate(r) for r in service.children(db, region=None)]


@router.get("/{code}", response_model=RegionDetail)
def get_region(code: str, db: DbSession) -> RegionDetail:
    region = service.get_region(db, code=code)
    return RegionDetail(
        code=region.code,
        name=region.name,
        level=region.level,
        ancestors=[RegionRead.model_validate(r) for r in service.ancestors(db, region=region)],
        children=[RegionRead.model_validate(r) for r in service.children(db, region=region)],
    )


@router.get("/{code}/subtree", response_model=list[RegionRead])
def get_subtree(code: str, db: DbSession, level: RegionLevel | None = None) -> list[RegionRead]:
    """The region and everything below it, optionally only one level (e.g. every grid of a district)."""
    region = service.get_region(db, code=code)
    return [RegionRead.model_validate(r) for r in service.subtree(db, region=region, level=level)]
