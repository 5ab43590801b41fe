from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.core import clock
from fangkong.core.db import Base, UTCDateTime, enum_type, path_string


class RegionLevel(enum.StrEnum):
    city = "city"  # 市 (prefecture-level city)
    district = "district"  # 区/县/县级市
    street = "street"  # 街道/镇/乡
    community = "community"  # 社区/村
    grid = "grid"  # 网格

    @property
    def depth(self) -> int:
        return _DEPTH[self]

    @property
    def child(self) -> RegionLevel | None:
        order = list(RegionLevel)
        i = order.index(self)
        return order[i + 1] if i + 1 < len(order) else None


_DEPTH = {level: i for i, level in enumerate(RegionLevel)}
# People are registered where they live: in a grid, or in a community not yet divided into grids.
RESIDENCE_LEVELS = frozenset({RegionLevel.community, RegionLevel.grid})


class Region(Base):
    __tablename__ = "region"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[RegionLevel] = mapped_column(enum_type(RegionLevel, 16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    # Materialized path of codes, e.g. "/210800/210882/210882001/". A subtree is one index range scan:
    # path >= "/210800/210882/" AND path < "/210800/2108820" (see service.subtree_range).
    path: Mapped[str] = mapped_column(path_string(255), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    parent: Mapped[Region | None] = relationship(remote_side=[id], lazy="raise")

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name} {self.level.value}>"


class Household(Base):
    """The people registered at one address (户); members of a case's household are close contacts."""

    __tablename__ = "household"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    address: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
