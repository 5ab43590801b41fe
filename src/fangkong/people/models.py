from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.core import clock
from fangkong.core.db import Base, UTCDateTime, enum_type
from fangkong.core.ids import IdType, Sex
from fangkong.regions.models import Household, Region


class Person(Base):
    """A resident. The ID number and phone are stored only encrypted (AES-GCM) plus a keyed hash (HMAC) for
    exact lookup; see fangkong.core.crypto. Birth date and sex are derived from a resident ID number."""

    __tablename__ = "person"
    __table_args__ = (
        # Also serves lookups by id_hash alone (leading column).
        UniqueConstraint("id_hash", "id_type", name="uq_person_id_hash_id_type"),
        Index("ix_person_phone_hash", "phone_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    id_type: Mapped[IdType] = mapped_column(enum_type(IdType, 24))
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_hash: Mapped[bytes] = mapped_column(LargeBinary(16))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    sex: Mapped[Sex | None] = mapped_column(enum_type(Sex, 8))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_hash: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id", ondelete="SET NULL"), index=True)
    address: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    region: Mapped[Region] = relationship(lazy="raise")
    household: Mapped[Household | None] = relationship(lazy="raise")

    def __repr__(self) -> str:
        return f"<Person {self.ref}>"
