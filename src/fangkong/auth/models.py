from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.core import clock
from fangkong.core.db import Base, UTCDateTime, enum_type
from fangkong.regions.models import Region


class Role(enum.StrEnum):
    resident = "resident"  # 居民
    venue_operator = "venue_operator"  # 场所负责人
    grid_worker = "grid_worker"  # 网格员
    investigator = "investigator"  # 流调人员
    quarantine_staff = "quarantine_staff"  # 隔离点工作人员
    sampler = "sampler"  # 采样员
    lab = "lab"  # 检测机构
    commander = "commander"  # 指挥部
    admin = "admin"  # 管理员


class User(Base):
    # "user" is a reserved word in PostgreSQL.
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    # A resident's account is linked to their own record in the registry.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password change or "log out everywhere": every older session cookie stops working.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    grants: Mapped[list[RoleGrant]] = relationship(lazy="raise", back_populates="user")


class RoleGrant(Base):
    """A role held over a region subtree: a district investigator sees their district, the commander the city."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("user_id", "role", "region_id", name="uq_role_grant_user_role_region"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(enum_type(Role, 24))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)

    user: Mapped[User] = relationship(lazy="raise", back_populates="grants")
    region: Mapped[Region] = relationship(lazy="raise")


class ApiToken(Base):
    """A bearer token for a device or script, acting as its user. Only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists so people can tell tokens apart
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class LoginAttempt(Base):
    """Failed and successful logins, for throttling per account and per address across server processes."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "at"),
        Index("ix_login_attempt_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    # The source the throttle counts the attempt under: the client's address, or "device:<id>" for a browser with
    # the account's known-device cookie (auth/throttle.py).
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    succeeded: Mapped[bool] = mapped_column(Boolean)
