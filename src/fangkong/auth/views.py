from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from fangkong.auth.deps import CurrentActor

router = APIRouter(tags=["auth"])


class GrantRead(BaseModel):
    role: str
    region_code: str
    region_name: str


class MeRead(BaseModel):
    username: str
    display_name: str
    grants: list[GrantRead]


@router.get("/me", response_model=MeRead)
def me(actor: CurrentActor) -> MeRead:
    return MeRead(
        username=actor.username,
        display_name=actor.display_name,
        grants=[
            GrantRead(role=g.role.value, region_code=g.region_code, region_name=g.region_name) for g in actor.grants
        ],
    )
