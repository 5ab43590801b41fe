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
from .personas import CHEN, LIU, WANG, WU, ZHENG


def build_venues(db: Session, keys: Keyring) -> dict[str, Venue]:
    build_city(db, keys)
    add_account(db, WU)
    add_account(db, ZHENG)
    shop_in = VenueCreate(
        ref="V-LONGSHAN", name="龙山超市", kind=VenueKind.supermarket, region_code="210802001001", capacity=4
    )
    market_in = VenueCreate(ref="V-GANGDU", name="钢都农贸市场", kind=VenueKind.market, region_code="210882001")
    shop = create_venue(db, actor=actor_of(db, WU), venue_in=shop_in)
    market = create_venue(db, actor=actor_of(db, ZHENG), venue_in=market_in)
    db.flush()
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
        create_venue(db, actor=actor_of(db, WU), venue_in=VenueCreate(ref="V-HOSPITAL", name="站前区人民医院",
                     kind=VenueKind.hospital, region_code="210802001"))  # fmt: skip
    return found
