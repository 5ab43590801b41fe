"""Who is acting: a user with their role grants, through which channel, from where. Services take an Actor."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from fangkong.auth.audit_models import Channel
from fangkong.auth.models import Role
from fangkong.core.facts import Cause, CauseParam


@dataclass(frozen=True, slots=True)
class Grant:
    role: Role
    region_id: int
    region_code: str
    region_name: str
    region_path: str


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int | None
    username: str
    display_name: str
    grants: tuple[Grant, ...]
    channel: Channel
    address: str | None = None
    person_id: int | None = None  # a resident's own record
    is_system: bool = False  # the machine's operator at the CLI without --as: unscoped, still audited
    token_id: int | None = None
    roles: frozenset[Role] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", frozenset(g.role for g in self.grants))

    @classmethod
    def system(cls) -> Actor:
        return cls(None, "system", "system (CLI)", (), Channel.cli, is_system=True)

    def cause(self, kind: enum.StrEnum, /, **params: CauseParam) -> Cause:
        """A fact's cause with this actor as its author."""
        return Cause(kind, params, self.username, self.user_id)

    def has(self, *roles: Role) -> bool:
        return self.is_system or bool(self.roles.intersection(roles))

    def grants_for(self, *roles: Role) -> tuple[Grant, ...]:
        return tuple(g for g in self.grants if g.role in roles)

    @property
    def primary(self) -> Grant | None:
        """The grant shown in the audit trail: the widest official one, else the first."""
        officials = [g for g in self.grants if g.role is not Role.resident]
        pool = officials or list(self.grants)
        return min(pool, key=lambda g: len(g.region_path)) if pool else None
