"""Installation-wide settings kept in the database (e.g. the fingerprint of the secret key)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.core import clock
from fangkong.core.db import Base, UTCDateTime


class SystemSetting(Base):
    __tablename__ = "system_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)
