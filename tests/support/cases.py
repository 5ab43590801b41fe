"""The outbreak scene for case and health-code tests, on the venue city (venues.py). Beijing time, March 2022:

- 王芳 (wang-fang, the index case) shopped at 龙山超市 on 03-20 10:00–10:30; symptom onset 03-20, isolated
  03-21 08:00. Under the 9th edition her infectious window is [03-16 00:00, 03-21 08:00).
- 李强 (li-qiang) was there 10:20–11:00: 10 minutes with her, a co-present candidate. At 15:00–15:40 the same day
  he was at 钢都农贸市场 with 赵敏 (zhao-min): once 李强 is a close contact, 赵敏 is a secondary candidate.
- 张伟 (zhang-wei) came at 10:25 without checking out (45 minutes' dwell): 5 minutes with her, below the minimum.
- 王磊 (wang-lei) lives in 王芳's household: a close-contact candidate without any check-in.
Officials (personas.py): 陈 (`inv`) investigates 站前区, 周 (`inv2`) 大石桥市, 孙 (`cmd`) commands the city.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from typer.testing import CliRunner

from fangkong.auth.audit_models import Channel
from fangkong.cases.contacts import Decision, decide
from fangkong.cases.models import Contact
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime
from fangkong.people.models import Person
from fangkong.venues.models import Checkin, CheckinSource, Venue

from .factories import actor_of, add_account, load_people, people_csv, tokens_for
from .personas import CHEN, SUN, WANG_LEI, ZHAO_MIN, ZHOU
from .venues import venue_city
from .web import run

BJ = dt.timezone(dt.timedelta(hours=8))
ONSET = "2022-03-20"
ISOLATED = "2022-03-21T08:00:00+08:00"


def at(hhmm: str, day: int = 20) -> dt.datetime:
    """A Beijing time in March 2022."""
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
            f"{WANG_LEI.ref},{WANG_LEI.name},{WANG_LEI.id_number},,{WANG_LEI.region_code},H1,渤海大街12号",
            f"{ZHAO_MIN.ref},{ZHAO_MIN.name},{ZHAO_MIN.id_number},,{ZHAO_MIN.region_code},H9,渤海大街20号",
        ))  # fmt: skip
        add_account(db, ZHOU)
        tokens |= tokens_for(db, ZHOU, SUN)
    add_visit(runtime, "wang-fang", "V-LONGSHAN", at("10:00"), at("10:30"))
    add_visit(runtime, "li-qiang", "V-LONGSHAN", at("10:20"), at("11:00"))
    add_visit(runtime, "zhang-wei", "V-LONGSHAN", at("10:25"), None)
    add_visit(runtime, "li-qiang", "V-GANGDU", at("15:00"), at("15:40"))
    add_visit(runtime, "zhao-min", "V-GANGDU", at("15:10"), at("15:50"))
    return tokens


def confirm_case_and_close_contact(runtime: Runtime, cli: CliRunner) -> int:
    """王芳 confirmed by 陈 through the CLI, and 李强 decided her close contact; his contact id."""
    result = run(cli, "case", "confirm", "--person", "wang-fang", "--onset", ONSET, "--isolated", ISOLATED,
                 "--as", CHEN.username)  # fmt: skip
    assert result.exit_code == 0, result.output
    with runtime.database.unit_of_work() as db:
        li = db.execute(select(Person.id).where(Person.ref == "li-qiang")).scalar_one()
        contact = db.execute(select(Contact).where(Contact.person_id == li)).scalar_one()
        decide(db, actor=actor_of(db, CHEN, Channel.cli), contact_id=contact.id, decision=Decision.close)
        return contact.id
