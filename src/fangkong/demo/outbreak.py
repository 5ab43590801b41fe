"""A small outbreak in the demo city, so that `make run` shows codes of every color with their reasons.

Everything goes through the services an investigator, a lab, a grid worker and a door use, so every row has its
events, its audit record and its recomputed code, exactly as if people had entered them:

- the lab's results: 40% of the residents sampled negative in the last two days, 20% three to five days ago;
- a confirmed case (the index case) in the demo investigator's district, found as the resident with the most
  co-present people in the last days, with a positive test (Ct values) and an onset two days ago; tracing
  proposes its household and the people it met; household members and the longest overlaps are confirmed
  close contacts (red), the next ones companions (yellow, some with one negative test already), two dismissed
  with a reason, and the rest left as candidates for the investigator to decide;
- an asymptomatic case elsewhere in the city, found by a positive test, traced but undecided;
- returnees from a medium-risk area registered by grid workers (yellow), a fever at a clinic's door (yellow);
- one companion's appeal, open in the investigators' queue.

The demo's own resident (P0000001) and household are left out of all of it, so their code stays green. The
outbreak is written once: a database that holds a case already keeps what it has.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor, Grant
from fangkong.auth.audit_models import Channel
from fangkong.auth.models import Role
from fangkong.cases.contacts import Decision, decide, household_members
from fangkong.cases.models import Case, Classification, Contact, ContactEvidence, ContactStatus
from fangkong.cases.service import CaseChangeRequest, report_case
from fangkong.core import clock
from fangkong.core.config import city_zone
from fangkong.healthcode.appeals import file_appeal
from fangkong.healthcode.door import record_fever
from fangkong.healthcode.models import HealthCode
from fangkong.healthcode.service import declare_stay
from fangkong.people.models import Person
from fangkong.policy.editions import Color, RiskLevel
from fangkong.policy.service import policy_in_force
from fangkong.regions.models import Region
from fangkong.regions.service import ancestors, subtree_clause
from fangkong.testing.models import TestOutcome
from fangkong.testing.service import add_result
from fangkong.tracing.service import traced_contacts
from fangkong.venues.models import Venue, VenueKind

DEMO_RESIDENT = "P0000001"  # the demo's resident account (demo.create_demo_accounts): kept green
LAB = "营口市中心医院检验科"
CLOSE_FROM_VENUES = 8  # the longest overlaps confirmed as close contacts, beside the household
COMPANIONS = 15
CANDIDATES_TRIED = 40  # residents of the district whose contacts are counted to find the index case
RISK_AREA = "吉林省长春市南关区（中风险地区）"
APPEAL = "{date}我在{venue}，但一直在另一个区域，没有和确诊的人接触过，请核实。"
DISMISS_REASON = "外卖骑手，只在门口取餐，未进入店内"


def _negative_tests(db: Session, people: Sequence[tuple[int, str]], rng: random.Random, now: dt.datetime) -> int:
    """The lab's results of the last days' mass testing: 40% sampled in the last 2 days, 20% 3 to 5 days ago."""
    entered = 0
    for _, ref in people:
        roll = rng.random()
        if roll < 0.4:
            hours = rng.uniform(2, 48)
        elif roll < 0.6:
            hours = rng.uniform(72, 120)
        else:
            continue
        add_result(db, actor=Actor.system(), person_ref=ref, sampled_at=now - dt.timedelta(hours=hours),
                   result=TestOutcome.negative, lab=LAB)  # fmt: skip
        entered += 1
    return entered


def _index_person(db: Session, *, district_path: str, spared: set[int], rng: random.Random, now: dt.datetime) -> int:
    """Of a sample of the district's residents, the one who met the most people in the last look-back days."""
    policy = policy_in_force(db)
    people = db.execute(
        select(Person.id).join(Region, Region.id == Person.region_id)
        .where(subtree_clause(Region.path, district_path)).order_by(Person.ref)
    ).scalars().all()  # fmt: skip
    pool = [p for p in people if p not in spared]
    tried = rng.sample(pool, k=min(CANDIDATES_TRIED, len(pool)))
    start = now - dt.timedelta(days=3) - policy.lookback  # about the window of a case with onset 2 days ago
    met = {
        p: len(traced_contacts(db, person_id=p, start=start, end=now, min_overlap=policy.min_overlap)) for p in tried
    }
    return max(sorted(met), key=lambda p: met[p])


def _decide_contacts(db: Session, *, case_id: int, spared: set[int], now: dt.datetime) -> Counter[str]:
    """The investigator's first decisions on the index case's candidates, longest overlap first."""
    candidates = db.execute(
        select(Contact).where(Contact.case_id == case_id, Contact.status == ContactStatus.candidate,
                              Contact.via_contact_id.is_(None), Contact.person_id.not_in(spared))
        .order_by(Contact.overlap_seconds.desc(), Contact.person_id)
    ).scalars().all()  # fmt: skip
    decided: Counter[str] = Counter()
    household = [c for c in candidates if c.proposed_tier.value == "close"]
    venues = [c for c in candidates if c.proposed_tier.value != "close"]
    plan = [(c, Decision.close, "同住家庭成员") for c in household]
    plan += [(c, Decision.close, "同场所同时段，暴露时间长，未规范佩戴口罩") for c in venues[:CLOSE_FROM_VENUES]]
    companions = venues[CLOSE_FROM_VENUES : CLOSE_FROM_VENUES + COMPANIONS]
    plan += [(c, Decision.companion, "同场所同时段，时空伴随") for c in companions]
    plan += [(c, Decision.dismiss, DISMISS_REASON) for c in venues[CLOSE_FROM_VENUES + COMPANIONS :][:2]]
    for contact, decision, reason in plan:
        decide(db, actor=Actor.system(), contact_id=contact.id, decision=decision, reason=reason)
        decided[decision.value] += 1
    # Some companions have had their first negative test since: one more is needed.
    for contact in companions[::3]:
        person = db.get_one(Person, contact.person_id)
        add_result(db, actor=Actor.system(), person_ref=person.ref, sampled_at=now - dt.timedelta(hours=20),
                   result=TestOutcome.negative, lab=LAB)  # fmt: skip
    if companions:
        _appeal(db, companions[-1])
    return decided


def _appeal(db: Session, contact: Contact) -> None:
    """The companion says where they were, from the evidence the investigator will weigh it against."""
    person = db.get_one(Person, contact.person_id)
    region = db.get_one(Region, person.region_id)
    resident = Actor(None, person.ref, person.name, (Grant(Role.resident, region.id, region.code, region.name,
                     region.path),), Channel.page, person_id=person.id)  # fmt: skip
    seen = db.execute(
        select(ContactEvidence).where(ContactEvidence.contact_id == contact.id, ContactEvidence.venue_name.is_not(None))
        .order_by(ContactEvidence.start.desc())
    ).scalars().first()  # fmt: skip
    when = seen.start.astimezone(city_zone()) if seen is not None and seen.start is not None else None
    statement = APPEAL.format(date=f"{when.month}月{when.day}日" if when else "那天",
                              venue=seen.venue_name if seen is not None else "那里")  # fmt: skip
    file_appeal(db, actor=resident, statement=statement)


def fill_demo_outbreak(db: Session, *, seed: int, now: dt.datetime | None = None) -> str:
    """Write the outbreak (see the module's text) and return a one-line summary of it and of the codes."""
    if db.execute(select(Case.id).limit(1)).first() is not None:
        return "outbreak: the database holds cases already; kept as it is"
    now = now or clock.now()
    rng = random.Random(f"outbreak-{seed}")
    zone = city_zone()
    resident = db.execute(select(Person).where(Person.ref == DEMO_RESIDENT)).scalar_one_or_none()
    if resident is None:
        return "outbreak: no demo resident to place it near"
    spared = {resident.id, *(m.id for m in household_members(db, person_id=resident.id))}
    people = db.execute(select(Person.id, Person.ref).order_by(Person.ref)).all()
    if len(people) < 20:
        return "outbreak: too few people for one"
    tests = _negative_tests(db, people, rng, now)

    # In the district of the demo's investigator (demo.create_demo_accounts: the demo resident's district).
    grid = db.get_one(Region, resident.region_id)
    [district] = [r for r in [*ancestors(db, region=grid), grid] if r.level.value == "district"]
    index_id = _index_person(db, district_path=district.path, spared=spared, rng=rng, now=now)
    index = db.get_one(Person, index_id)
    sampled = now - dt.timedelta(hours=30)
    add_result(db, actor=Actor.system(), person_ref=index.ref, sampled_at=sampled, result=TestOutcome.positive,
               ct_n=24.3, ct_orf=25.1, lab=LAB)  # fmt: skip
    onset = (now - dt.timedelta(days=2)).astimezone(zone).date()
    change = CaseChangeRequest(classification=Classification.confirmed, onset_date=onset, first_positive_at=sampled,
                               isolated_at=now - dt.timedelta(hours=6))  # fmt: skip
    case = report_case(db, actor=Actor.system(), person_ref=index.ref, change=change, reason="发热门诊就诊，核酸阳性")
    spared.add(index_id)
    decided = _decide_contacts(db, case_id=case.case.id, spared=spared, now=now)

    # An asymptomatic case found by the mass testing, in another district.
    involved = set(db.execute(select(Contact.person_id)).scalars()) | spared
    others = [(p, ref) for p, ref in people if p not in involved]
    second_id, second_ref = rng.choice(others or [(p, ref) for p, ref in people if p != index.id])
    sampled = now - dt.timedelta(hours=14)
    add_result(db, actor=Actor.system(), person_ref=second_ref, sampled_at=sampled, result=TestOutcome.positive,
               ct_n=33.2, ct_orf=34.0, lab=LAB)  # fmt: skip
    found = CaseChangeRequest(classification=Classification.asymptomatic, first_positive_at=sampled)
    report_case(db, actor=Actor.system(), person_ref=second_ref, change=found, reason="区域核酸筛查阳性")
    involved |= {second_id, *db.execute(select(Contact.person_id)).scalars()}

    # In a small city the two cases' contacts can take in everyone left (how many depends on the clock, which
    # places the fortnight of check-ins): then there are fewer returnees, or no fever, rather than a crash.
    rest = [ref for p, ref in people if p not in involved]
    returnees = rng.sample(rest, k=min(3, len(rest)))
    for ref in returnees:
        declare_stay(db, actor=Actor.system(), person_ref=ref, area=RISK_AREA, level=RiskLevel.medium,
                     start=now - dt.timedelta(days=4), end=now - dt.timedelta(days=2))  # fmt: skip
    clinic = db.execute(select(Venue).where(Venue.kind == VenueKind.clinic).order_by(Venue.ref)).scalars().first()
    fevers = 0
    if clinic is not None and rest:
        fevers = 1
        fever_id = db.execute(select(Person.id).where(Person.ref == rng.choice(rest))).scalar_one()
        record_fever(db, person_id=fever_id, venue=(clinic.id, clinic.ref), at=now - dt.timedelta(hours=3),
                     temperature=38.2, by=(None, "demo"))  # fmt: skip

    waiting = db.execute(
        select(func.count()).select_from(Contact).where(Contact.status == ContactStatus.candidate)
    ).scalar_one()
    # Codes are computed when first used; everyone without one yet is green (no fact on record makes a color).
    colors = dict(db.execute(select(HealthCode.color, func.count()).group_by(HealthCode.color)).all())
    colors[Color.green] = len(people) - sum(n for color, n in colors.items() if color is not Color.green)
    return (
        f"outbreak: {tests} negative tests; a confirmed case ({index.ref}, {decided['close']} close contacts, "
        f"{decided['companion']} companions, {decided['dismiss']} dismissed), an asymptomatic case "
        f"({second_ref}), {waiting} candidates to decide, {len(returnees)} returnees from a risk area, "
        f"{fevers} fever(s) at a clinic's door; codes "
        + ", ".join(f"{color.value} {colors.get(color, 0)}" for color in Color)
    )
