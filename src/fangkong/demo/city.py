"""The demo city written to the database: its regions and people, venues and check-ins, a small outbreak, and one
account per role. Everything goes through the same services and importers as real data would."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.core.crypto import Keyring
from fangkong.core.errors import Conflict
from fangkong.core.importing import CsvRow
from fangkong.core.models import SystemSetting
from fangkong.demo.outbreak import fill_demo_outbreak
from fangkong.demo.population import CITY, city_regions, generate_people, region_rows
from fangkong.demo.venue_writer import fill_demo_venues
from fangkong.demo.venues import Resident, keep_residents
from fangkong.people.models import Person
from fangkong.people.service import import_people, record_import
from fangkong.regions.models import Region
from fangkong.regions.service import import_regions

DEMO_SEED_KEY = "demo_seed"


def database_is_empty(db: Session) -> bool:
    return db.execute(select(func.count()).select_from(Person)).scalar_one() == 0


def _claim_for_demo(db: Session, seed: int) -> None:
    """A database holds one demo city: re-running the same seed is an idempotent upsert, but another seed (or
    real imported people) would be overwritten ref by ref, so that is refused."""
    setting = db.get(SystemSetting, DEMO_SEED_KEY)
    if setting is not None and setting.value != str(seed):
        raise Conflict(
            f"this database holds the demo city of seed {setting.value}; "
            f"use another database (FANGKONG_DATABASE_URL) for seed {seed}"
        )
    if setting is None:
        if not database_is_empty(db):
            raise Conflict("this database already holds people; the demo city goes into an empty database")
        db.add(SystemSetting(key=DEMO_SEED_KEY, value=str(seed)))
        db.flush()


def fill_demo_city(
    db: Session,
    *,
    keys: Keyring,
    people: int,
    seed: int,
    on_people: Callable[[int], None] | None = None,
    on_checkins: Callable[[int], None] | None = None,
    today: dt.date | None = None,
    checkin_days: int = 14,
    now: dt.datetime | None = None,
    with_outbreak: bool = True,
) -> str:
    """Write the demo city through the importers and return a one-line summary. Venues and `checkin_days` days
    of check-ins ending at `now` follow the people (see `fangkong.demo.venues`), then a small outbreak
    (`fangkong.demo.outbreak`): test results, two cases, their contacts, and codes of every color."""

    _claim_for_demo(db, seed)
    specs = city_regions(seed)
    region_report = import_regions(db, rows=region_rows(specs))
    if region_report.errors:  # a bug in the generator, not bad user input
        raise RuntimeError(f"demo regions rejected: {region_report.errors[:3]}")
    today = today or dt.date.today()  # noqa: DTZ011 - ages are calendar arithmetic
    residents: list[Resident] = []
    generated = keep_residents(generate_people(people, seed, today=today), residents)
    rows = (CsvRow(i, values) for i, values in enumerate(generated, start=2))
    people_report = import_people(db, keys=keys, rows=rows, on_batch=on_people)
    if people_report.errors:
        raise RuntimeError(f"demo people rejected: {people_report.errors[:3]}")
    record_import(db, actor=Actor.system(), source=f"demo seed {seed}", report=people_report, reason="demo city")
    venues = fill_demo_venues(db, regions=specs, residents=residents, seed=seed, days=checkin_days, now=now,
                              on_checkins=on_checkins)  # fmt: skip
    outbreak = fill_demo_outbreak(db, seed=seed, now=now) if with_outbreak else ""
    counts = {level: sum(1 for s in specs if s.level == level) for level in ("district", "street", "community", "grid")}
    return (
        f"demo city {CITY[1]} ({CITY[0]}), seed {seed}: {counts['district']} districts, {counts['street']} streets, "
        f"{counts['community']} communities, {counts['grid']} grids; people imported {people_report.imported}, "
        f"updated {people_report.updated}, unchanged {people_report.unchanged}; {venues.summary()}"
        + (f"; {outbreak}" if outbreak else "")
    )


# --- demo accounts: one per role ------------------------------------------------------------------------------

DEMO_TITLES = {
    "venue_operator": "场所负责人",
    "grid_worker": "网格员",
    "investigator": "流调员",
    "quarantine_staff": "隔离点工作人员",
    "sampler": "采样员",
    "lab": "检测机构",
    "commander": "指挥部",
    "admin": "管理员",
}
DEMO_PASSWORD = "fangkong-demo"  # noqa: S105 - printed to whoever ran `fangkong demo`; for trying it out only


@dataclass(frozen=True, slots=True)
class DemoAccount:
    username: str
    role: str
    region_code: str
    region_name: str
    person_ref: str | None


def create_demo_accounts(db: Session) -> list[DemoAccount]:
    """One account per role, scoped around the demo's first resident (P0000001), so that the resident, their
    grid worker and their district's investigator see the same person. Existing accounts are left alone."""
    from fangkong.auth.models import Role, User
    from fangkong.auth.service import create_user
    from fangkong.people.service import get_person
    from fangkong.regions.service import ancestors

    resident = get_person(db, ref="P0000001")
    grid = db.get(Region, resident.region_id)
    assert grid is not None  # a foreign key guarantees it
    chain = {r.level.value: r for r in [*ancestors(db, region=grid), grid]}
    scopes = {
        Role.resident: chain["grid"],
        Role.grid_worker: chain["grid"],
        Role.sampler: chain["street"],
        Role.investigator: chain["district"],
        Role.quarantine_staff: chain["district"],
        Role.venue_operator: chain["district"],
        Role.lab: chain["city"],
        Role.commander: chain["city"],
        Role.admin: chain["city"],
    }
    accounts = []
    for role, region in scopes.items():
        person_ref = resident.ref if role is Role.resident else None
        if db.execute(select(User.id).where(User.username == role.value)).first() is None:
            create_user(
                db,
                actor=Actor.system(),
                username=role.value,
                password=DEMO_PASSWORD,
                grants=[(role, region.code)],
                display_name=resident.name if role is Role.resident else f"{DEMO_TITLES[role.value]}（演示）",
                person_ref=person_ref,
            )
        accounts.append(DemoAccount(role.value, role.value, region.code, region.name, person_ref))
    return accounts
