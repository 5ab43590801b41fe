from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.core import clock
from fangkong.core.db import Base, UTCDateTime, enum_type


class VenueKind(enum.StrEnum):
    supermarket = "supermarket"  # 超市
    market = "market"  # 农贸市场
    restaurant = "restaurant"  # 餐馆
    hospital = "hospital"  # 医院
    clinic = "clinic"  # 诊所
    pharmacy = "pharmacy"  # 药店
    school = "school"  # 学校
    office = "office"  # 写字楼
    factory = "factory"  # 工厂
    residential_gate = "residential_gate"  # 小区门口
    station = "station"  # 车站
    bus_line = "bus_line"  # 公交线路
    taxi = "taxi"  # 出租车
    other = "other"

    @property
    def default_dwell(self) -> dt.timedelta:
        return DEFAULT_DWELL[self]


# How long a visit is assumed to last when nobody checks out: typical stays, erring long, since tracing would
# rather propose a companion too many than miss one. A gate is passed, not stayed at.
DEFAULT_DWELL: dict[VenueKind, dt.timedelta] = {
    VenueKind.supermarket: dt.timedelta(minutes=45),
    VenueKind.market: dt.timedelta(minutes=60),
    VenueKind.restaurant: dt.timedelta(minutes=90),
    VenueKind.hospital: dt.timedelta(hours=2),
    VenueKind.clinic: dt.timedelta(minutes=60),
    VenueKind.pharmacy: dt.timedelta(minutes=15),
    VenueKind.school: dt.timedelta(hours=8),
    VenueKind.office: dt.timedelta(hours=9),
    VenueKind.factory: dt.timedelta(hours=9),
    VenueKind.residential_gate: dt.timedelta(minutes=5),
    VenueKind.station: dt.timedelta(minutes=60),
    VenueKind.bus_line: dt.timedelta(minutes=30),
    VenueKind.taxi: dt.timedelta(minutes=20),
    VenueKind.other: dt.timedelta(minutes=60),
}


# The longest a visit may last. A check-out later than this is a scanner's error, and is refused at the door;
# the bound lets occupancy and tracing look back a fixed time through the (venue, time) index.
LONGEST_VISIT = dt.timedelta(hours=24)


class CheckinSource(enum.StrEnum):
    scan = "scan"  # a resident scanned the poster
    door = "door"  # a device at the door, acting with the operator's API token
    batch = "batch"  # an offline scanner's upload
    import_ = "import"  # fangkong import checkins


class Venue(Base):
    __tablename__ = "venue"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[VenueKind] = mapped_column(enum_type(VenueKind, 24))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    address: Mapped[str] = mapped_column(String(255), default="")
    capacity: Mapped[int | None] = mapped_column(Integer)
    # The operator who manages it; NULL for venues imported by the command centre until one is assigned.
    operator_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    # The unguessable part of the poster's URL. It is printed on a public wall, so it is no secret; it only
    # stops check-ins from being made up remotely. Rotating it retires every printed poster.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)


class RetiredVenueToken(Base):
    """A rotated token, kept so that an old poster says it was replaced instead of "not found"."""

    __tablename__ = "retired_venue_token"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venue.id", ondelete="CASCADE"), index=True)
    retired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)


class Checkin(Base):
    """A person present at a venue: [checked_in_at, checked_out_at), or the kind's default dwell without
    check-out. The heaviest table: few indexes, each earning its keep."""

    __tablename__ = "checkin"
    __table_args__ = (
        # The same person, venue and check-in time is the same check-in (CSV re-imports); also finds a
        # person's visits by person first.
        UniqueConstraint("person_id", "checked_in_at", "venue_id", name="uq_checkin_person_time_venue"),
        # Tracing and occupancy: who was at this venue around then.
        Index("ix_checkin_venue_id_checked_in_at", "venue_id", "checked_in_at"),
        # Retention: delete by age.
        Index("ix_checkin_checked_in_at", "checked_in_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    venue_id: Mapped[int] = mapped_column(ForeignKey("venue.id", ondelete="CASCADE"))
    checked_in_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    checked_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[CheckinSource] = mapped_column(enum_type(CheckinSource, 8))
    # A client-generated UUID per row of an offline batch: a re-sent batch creates nothing twice.
    client_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
