"""The outbreak scene for case tests, on the venue city (venue_helpers). Beijing time, March 2022:

- 王芳 (wang-fang, the index case) shopped at 龙山超市 on 03-20 10:00–10:30; symptom onset 03-20, isolated
  03-21 08:00. Under the 9th edition her infectious window is [03-16 00:00, 03-21 08:00).
- 李强 (li-qiang) was there 10:20–11:00: 10 minutes with her, a co-present candidate. At 15:00–15:40 the same day
  he was at 钢都农贸市场 with 赵敏 (zhao-min): once 李强 is a close contact, 赵敏 is a secondary candidate.
- 张伟 (zhang-wei) came at 10:25 without checking out (45 minutes' dwell): 5 minutes with her, below the minimum.
- 王磊 (wang-lei) lives in 王芳's household: a close-contact candidate without any check-in.
Officials: `inv` investigates 站前区, `inv2` 大石桥市, `cmd` commands the city.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from typer.testing import CliRunner

from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import Channel
from fangkong.auth.models import Role
from fangkong.auth.service import actor_for, create_token, create_user, get_user
from fangkong.cases.contacts import Decision, decide
from fangkong.cases.models import Contact
from fangkong.core.crypto import Keyring
from fangkong.core.ids import make_resident_id
from fangkong.core.runtime import Runtime
from fangkong.people.models import Person
from fangkong.venues.models import Checkin, CheckinSource, Venue

from ..access_helpers import PASSWORD
from ..helpers import load_people, people_csv, run
from ..venue_helpers import venue_city

BJ = dt.timezone(dt.timedelta(hours=8))
ONSET = "2022-03-20"
ISOLATED = "2022-03-21T08:00:00+08:00"


def at(hhmm: str, day: int = 20) -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime(2022, 3, day, hour, minute, tzinfo=BJ)


def add_visit(runtime: Runtime, ref: str, venue_ref: str, start: dt.datetime, end: dt.datetime | None) -> None:
    with runtime.database.unit_of_work() as db:
        person = db.execute(select(Person.id).where(Person.ref == ref)).scalar_one()
        venue = db.execute(select(Venue.id).where(Venue.ref == venue_ref)).scalar_one()
        db.add(Checkin(person_id=person, venue_id=venue, checked_in_at=start, checked_out_at=end,
                       source=CheckinSource.import_))  # fmt: skip


def outbreak(runtime: Runtime, keys: Keyring) -> dict[str, str]:
    """The scene, committed; returns bearer tokens by username."""
    tokens, _ = venue_city(runtime, keys)
    with runtime.database.unit_of_work() as db:
        load_people(db, keys, people_csv(
            f"wang-lei,王磊,{make_resident_id('210802', dt.date(2015, 5, 1), 12)},,210802001001001,H1,渤海大街12号",
            f"zhao-min,赵敏,{make_resident_id('210802', dt.date(1992, 8, 9), 21)},,210802001001002,H9,渤海大街20号",
        ))  # fmt: skip
        create_user(db, actor=Actor.system(), username="inv2", password=PASSWORD,
                    grants=[(Role.investigator, "210882")])  # fmt: skip
        for username in ("inv2", "cmd"):
            _, tokens[username] = create_token(db, actor=Actor.system(), user=get_user(db, username=username))
    add_visit(runtime, "wang-fang", "V-LONGSHAN", at("10:00"), at("10:30"))
    add_visit(runtime, "li-qiang", "V-LONGSHAN", at("10:20"), at("11:00"))
    add_visit(runtime, "zhang-wei", "V-LONGSHAN", at("10:25"), None)
    add_visit(runtime, "li-qiang", "V-GANGDU", at("15:00"), at("15:40"))
    add_visit(runtime, "zhao-min", "V-GANGDU", at("15:10"), at("15:50"))
    return tokens


def confirm_case_and_close_contact(runtime: Runtime, cli: CliRunner) -> int:
    """王芳 confirmed by the investigator through the CLI, and 李强 decided her close contact; his contact id."""
    result = run(cli, "case", "confirm", "--person", "wang-fang", "--onset", ONSET, "--isolated", ISOLATED,
                 "--as", "inv")  # fmt: skip
    assert result.exit_code == 0, result.output
    with runtime.database.unit_of_work() as db:
        li = db.execute(select(Person.id).where(Person.ref == "li-qiang")).scalar_one()
        contact = db.execute(select(Contact).where(Contact.person_id == li)).scalar_one()
        inv = actor_for(db, user=get_user(db, username="inv"), channel=Channel.cli)
        decide(db, actor=inv, contact_id=contact.id, decision=Decision.close)
        return contact.id
