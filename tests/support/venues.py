"""The venue city: the access city (factories.build_city) with 吴 running 龙山超市 in 站前区 and 郑 running
钢都农贸市场 in 大石桥市 (personas.WU, personas.ZHENG)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime
from fangkong.venues.models import Venue, VenueKind
from fangkong.venues.schemas import VenueCreate
from fangkong.venues.service import create_venue

from .factories import actor_of, add_account, build_city, tokens_for
from .personas import CHEN, LIU, WANG, WU, ZHENG, Persona


def operators_venue(db: Session, who: Persona, ref: str, venue_in: VenueCreate) -> Venue:
    """A venue registered by its operator, then given a ref the tests can read (the server's own is random)."""
    venue = create_venue(db, actor=actor_of(db, who), venue_in=venue_in)
    venue.ref = ref
    db.flush()
    return venue


def build_venues(db: Session, keys: Keyring) -> dict[str, Venue]:
    build_city(db, keys)
    add_account(db, WU)
    add_account(db, ZHENG)
    shop_in = VenueCreate(name="龙山超市", kind=VenueKind.supermarket, region_code="210802001001", capacity=4)
    market_in = VenueCreate(name="钢都农贸市场", kind=VenueKind.market, region_code="210882001")
    shop = operators_venue(db, WU, "V-LONGSHAN", shop_in)
    market = operators_venue(db, ZHENG, "V-GANGDU", market_in)
    return {"shop": shop, "market": market}


def venue_city(runtime: Runtime, keys: Keyring) -> tuple[dict[str, str], dict[str, str]]:
    """Committed (savepoint) city with venues; bearer tokens of 吴, 郑, 刘, 王芳 and 陈 by username; poster tokens."""
    with runtime.database.unit_of_work() as db:
        venues = build_venues(db, keys)
        tokens = tokens_for(db, WU, ZHENG, LIU, WANG, CHEN)
        posters = {name: v.token for name, v in venues.items()}
    return tokens, posters


def door_city(runtime: Runtime, keys: Keyring) -> dict[str, str]:
    """venue_city's tokens, and a hospital of 吴's (it also wants a negative test from the last 48 hours)."""
    found, _ = venue_city(runtime, keys)
    with runtime.database.unit_of_work() as db:
        hospital_in = VenueCreate(name="站前区人民医院", kind=VenueKind.hospital, region_code="210802001")
        operators_venue(db, WU, "V-HOSPITAL", hospital_in)
    return found
