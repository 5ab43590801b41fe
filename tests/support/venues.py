"""Venue personas on top of the access city (access_helpers): operator `op1` runs the 龙山 supermarket in 站前区,
operator `op2` a market in 大石桥市."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import Channel
from fangkong.auth.models import Role
from fangkong.auth.service import actor_for, create_token, create_user, get_user
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime
from fangkong.venues.models import Venue, VenueKind
from fangkong.venues.schemas import VenueCreate
from fangkong.venues.service import create_venue

from .access_helpers import PASSWORD, build_city


def build_venues(db: Session, keys: Keyring) -> dict[str, Venue]:
    build_city(db, keys)
    system = Actor.system()
    create_user(db, actor=system, username="op1", password=PASSWORD, grants=[(Role.venue_operator, "210802")])
    create_user(db, actor=system, username="op2", password=PASSWORD, grants=[(Role.venue_operator, "210882")])
    op1 = actor_for(db, user=get_user(db, username="op1"), channel=Channel.api)
    op2 = actor_for(db, user=get_user(db, username="op2"), channel=Channel.api)
    shop_in = VenueCreate(
        ref="V-LONGSHAN", name="龙山超市", kind=VenueKind.supermarket, region_code="210802001001", capacity=4
    )
    market_in = VenueCreate(ref="V-GANGDU", name="钢都农贸市场", kind=VenueKind.market, region_code="210882001")
    shop = create_venue(db, actor=op1, venue_in=shop_in)
    market = create_venue(db, actor=op2, venue_in=market_in)
    db.flush()
    return {"shop": shop, "market": market}


def venue_city(runtime: Runtime, keys: Keyring) -> tuple[dict[str, str], dict[str, str]]:
    """Committed (savepoint) city with venues; bearer tokens for op1, op2 and the access personas; poster tokens."""
    with runtime.database.unit_of_work() as db:
        venues = build_venues(db, keys)
        tokens = {}
        for username in ("op1", "op2", "gw", "wang", "inv"):
            _, tokens[username] = create_token(db, actor=Actor.system(), user=get_user(db, username=username))
        posters = {name: v.token for name, v in venues.items()}
    return tokens, posters


def door_city(runtime: Runtime, keys: Keyring) -> dict[str, str]:
    """venue_city's tokens, and a hospital of op1's (it also wants a negative test from the last 48 hours)."""
    found, _ = venue_city(runtime, keys)
    with runtime.database.unit_of_work() as db:
        op1 = actor_for(db, user=get_user(db, username="op1"), channel=Channel.api)
        create_venue(db, actor=op1, venue_in=VenueCreate(ref="V-HOSPITAL", name="站前区人民医院",
                                                         kind=VenueKind.hospital, region_code="210802001"))  # fmt: skip
    return found
