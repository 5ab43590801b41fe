from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from fangkong.regions.models import RegionLevel


class RegionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    level: RegionLevel


class RegionDetail(RegionRead):
    ancestors: list[RegionRead]
    children: list[RegionRead]
