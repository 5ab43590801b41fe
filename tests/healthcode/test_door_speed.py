"""The door devices' verification path (healthcode/door/fast_route.py, grouped.py): the same answers as the single
path (door.verify_at_door behind the FastAPI route), byte for byte, for concurrent verifications grouped into one
transaction; what it does not answer itself goes to the FastAPI route unchanged."""

import asyncio
import datetime as dt
import json
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from fangkong.app import create_app
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import Channel
from fangkong.auth.models import ApiToken, User
from fangkong.auth.service import actor_for, token_hash, user_for_token_hash
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.errors import DomainError
from fangkong.core.runtime import Runtime
from fangkong.healthcode import door
from fangkong.healthcode import token as tokens
from fangkong.healthcode.door import verify
from fangkong.healthcode.door.grouped import DoorScan, DoorVerifier, verify_scans
from fangkong.healthcode.models import CodeChange, FeverRecord, HealthCode
from fangkong.people.models import Person
from fangkong.policy.editions import Color
from fangkong.testing import queries
from fangkong.testing.models import TestOutcome
from fangkong.testing.service import add_result, results_for, withdraw_result
from fangkong.venues.models import Checkin, VenueKind

from ..support.venues import door_city
from ..support.web import bearer

NOW = dt.datetime(2022, 3, 21, 2, 0, tzinfo=dt.UTC)
T = TypeVar("T")


@pytest.fixture
def tokens_(runtime: Runtime, keys: Keyring) -> Iterator[dict[str, str]]:
    found = door_city(runtime, keys)
    with clock.frozen_at(NOW):
        yield found


@pytest.fixture
def app_client(runtime: Runtime) -> Iterator[tuple[Any, TestClient]]:
    app = create_app(runtime)
    with TestClient(app, headers={"accept-language": "en"}) as c:
        yield app, c


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: the browser tests leave an event loop running in the main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def live_codes(runtime: Runtime, keys: Keyring, *refs: str) -> dict[str, str]:
    with runtime.database.unit_of_work() as db:
        ids = {ref: int(pid) for ref, pid in db.execute(select(Person.ref, Person.id).where(Person.ref.in_(refs)))}
        return {ref: door.issue_for(db, keys=keys, person_id=ids[ref]).token for ref in refs}


def signed(keys: Keyring, *, handle: bytes, issued_at: dt.datetime) -> str:
    private, _ = verify._keypair(keys.signing_seed)  # a genuine signature on a chosen handle
    return tokens.issue(private, handle=handle, color="green", issued_at=issued_at)


def groups(app: Any) -> int:
    verifier: DoorVerifier | None = getattr(app.state, "door_verifier", None)
    return verifier.groups if verifier is not None else 0


FALLBACK = {"content-type": "application/json; charset=utf-8"}  # not the plain case: the FastAPI route answers


def test_the_devices_request_gets_the_bytes_the_fastapi_route_gives(
    runtime: Runtime, keys: Keyring, tokens_: dict[str, str], app_client: tuple[Any, TestClient]
) -> None:
    app, client = app_client
    code = live_codes(runtime, keys, "wang-fang")["wang-fang"]
    forged = code[:40] + ("A" if code[40] != "A" else "B") + code[41:]
    cases: list[tuple[str, dict[str, object], dict[str, str]]] = [
        ("op1", {"token": code, "venue_ref": "V-HOSPITAL"}, {}),  # refused: no negative test
        ("op1", {"token": code, "venue_ref": "V-HOSPITAL", "temperature": 36}, {"accept-language": "zh-CN"}),
        ("op1", {"token": forged, "venue_ref": "V-LONGSHAN"}, {}),
        ("op1", {"token": "hello", "venue_ref": "V-LONGSHAN"}, {"accept-language": "zh"}),
        ("op1", {"token": code, "venue_ref": "V-LONGSHAN", "person_ref": "li-qiang"}, {}),
        ("op1", {"token": code, "venue_ref": "V-LONGSHAN", "temperature": 52}, {}),
        ("op1", {"token": code, "venue_ref": "V-NOWHERE"}, {}),
        ("op2", {"token": code, "venue_ref": "V-LONGSHAN"}, {}),
        ("gw", {"token": code, "venue_ref": "V-LONGSHAN"}, {}),
        ("nobody", {"token": code, "venue_ref": "V-LONGSHAN"}, {}),
    ]
    for who, body, headers in cases:
        auth = bearer(tokens_.get(who, "fk_not-a-token"))
        before = groups(app)
        fast = client.post("/api/healthcode/verify", json=body, headers=auth | headers)
        assert groups(app) == before + 1, body  # answered by the group path
        slow = client.post("/api/healthcode/verify", content=json.dumps(body), headers=auth | headers | FALLBACK)
        assert groups(app) == before + 1, body  # answered by the FastAPI route
        assert (fast.status_code, fast.content) == (slow.status_code, slow.content), body
        assert fast.headers["content-type"] == slow.headers["content-type"]
    statuses = [client.post("/api/healthcode/verify", json=b, headers=bearer(tokens_.get(w, "x"))).status_code
                for w, b, _ in cases]  # fmt: skip
    assert statuses == [200, 200, 422, 422, 422, 422, 403, 403, 403, 401]
    # An entry: the same answer but for the check-in's id, and both check-ins are stored.
    body = {"token": code, "venue_ref": "V-LONGSHAN", "person_ref": "wang-fang", "temperature": 36.6}
    fast = client.post("/api/healthcode/verify", json=body, headers=bearer(tokens_["op1"])).json()
    with clock.frozen_at(NOW + dt.timedelta(seconds=1)):  # (the same person at the same door at the same instant
        slow = client.post("/api/healthcode/verify", content=json.dumps(body),  # is one check-in)
                           headers=bearer(tokens_["op1"]) | FALLBACK).json()  # fmt: skip
    assert fast.pop("checkin_id") != slow.pop("checkin_id")
    assert fast == slow == {"person_ref": "wang-fang", "masked_name": "王*", "color": "green", "entry": "allow",
                            "why": "may enter", "negative_test_hours": None, "fever": False}  # fmt: skip
    with runtime.database.unit_of_work() as db:
        assert db.execute(select(func.count()).select_from(Checkin)).scalar_one() == 2


def test_what_the_fast_route_does_not_take_the_fastapi_route_answers_as_before(
    tokens_: dict[str, str], app_client: tuple[Any, TestClient]
) -> None:
    app, client = app_client
    url = "/api/healthcode/verify"
    # Authentication before the body, as on every FastAPI route.
    assert client.post(url, json={"venue_ref": 1}).json()["error"]["code"] == "unauthenticated"
    missing = client.post(url, json={"venue_ref": "V-LONGSHAN"}, headers=bearer(tokens_["op1"]))
    assert (missing.status_code, missing.json()["error"]["code"]) == (422, "invalid")
    # Bodies only FastAPI's validation can judge (it takes true and NaN as temperatures: then the unknown venue).
    bodies = {
        '{"token": "x", ': 422,
        '["x"]': 422,
        '{"token": "' + "x" * 401 + '", "venue_ref": "V-LONGSHAN"}': 422,
        '{"token": "x", "venue_ref": "V", "temperature": true}': 403,
        '{"token": "x", "venue_ref": "V", "temperature": NaN}': 403,
    }
    headers = bearer(tokens_["op1"]) | {"content-type": "application/json"}
    assert {body: client.post(url, content=body, headers=headers).status_code for body in bodies} == bodies
    assert groups(app) == 0


def single_path(runtime: Runtime, keys: Keyring, scans: list[DoorScan]) -> list[object]:
    """What the sync route answers for each scan in turn (its authentication, then door.verify_at_door), each in
    a savepoint as in a transaction of its own; all rolled back afterwards."""
    db = runtime.database.factory()
    outcomes: list[object] = []
    try:
        for scan in scans:
            try:
                with clock.frozen_at(scan.at), db.begin_nested():  # the group's answers are as of arrival
                    user, token = user_for_token_hash(db, digest=scan.token_hash)
                    actor = actor_for(db, user=user, channel=Channel.token, token_id=token.id)
                    outcomes.append(door.verify_at_door(db, actor=actor, keys=keys, code_token=scan.code_token,
                                                        venue_ref=scan.venue_ref, temperature=scan.temperature,
                                                        person_ref=scan.person_ref))  # fmt: skip
            except DomainError as error:
                outcomes.append(error)
    finally:
        db.rollback()
        db.close()
    return outcomes


def comparable(outcome: object) -> object:
    if isinstance(outcome, door.Verification):
        return (outcome.person_ref, outcome.masked_name, outcome.color, outcome.entry, outcome.why,
                outcome.negative_test_age, outcome.checkin_id is not None, outcome.fever)  # fmt: skip
    if isinstance(outcome, DomainError):
        return type(outcome).__name__, outcome.template, outcome.params
    return outcome


def test_a_group_of_concurrent_verifications_answers_each_as_the_single_path_would(
    runtime: Runtime, keys: Keyring, tokens_: dict[str, str]
) -> None:
    with runtime.database.unit_of_work() as db:
        add_result(db, actor=Actor.system(), person_ref="li-qiang", sampled_at=NOW - dt.timedelta(hours=20),
                   result=TestOutcome.negative)  # fmt: skip
    codes = live_codes(runtime, keys, "wang-fang", "li-qiang")
    wang, li = codes["wang-fang"], codes["li-qiang"]
    op1, op2, gw = (token_hash(tokens_[u]) for u in ("op1", "op2", "gw"))
    expired = signed(keys, handle=tokens.verify(wang, keys=verify._keypair(keys.signing_seed)[1], now=NOW).handle,
                     issued_at=NOW - dt.timedelta(minutes=4))  # fmt: skip
    scans = [
        DoorScan(op1, wang, "V-LONGSHAN", NOW),
        DoorScan(op1, wang, "V-HOSPITAL", NOW),
        DoorScan(op1, li, "V-HOSPITAL", NOW, 36.4),  # a negative test 20 hours ago: enters
        DoorScan(op1, wang[:40] + ("A" if wang[40] != "A" else "B") + wang[41:], "V-LONGSHAN", NOW),
        DoorScan(op1, "hello", "V-LONGSHAN", NOW),
        DoorScan(op1, expired, "V-LONGSHAN", NOW),
        DoorScan(op1, signed(keys, handle=b"\x07" * 16, issued_at=NOW), "V-LONGSHAN", NOW),  # not a code of ours
        DoorScan(op2, wang, "V-LONGSHAN", NOW),
        DoorScan(gw, wang, "V-LONGSHAN", NOW),
        DoorScan(op1, wang, "V-NOWHERE", NOW),
        DoorScan(b"\0" * 32, wang, "V-LONGSHAN", NOW),
        DoorScan(op1, wang, "V-LONGSHAN", NOW, 52.0),
        DoorScan(op1, wang, "V-LONGSHAN", NOW, None, "li-qiang"),
        # (Requests arrive before the group is processed: a little before the clock's now.)
        DoorScan(op1, li, "V-LONGSHAN", NOW - dt.timedelta(microseconds=3), 38.5),  # a fever: yellow from now on
        DoorScan(op1, li, "V-LONGSHAN", NOW - dt.timedelta(microseconds=2), None, "li-qiang"),
        DoorScan(op1, wang, "V-LONGSHAN", NOW - dt.timedelta(microseconds=1), 36.6, "wang-fang"),
    ]
    expected = [comparable(o) for o in single_path(runtime, keys, scans)]
    with runtime.database.unit_of_work() as db:
        grouped = verify_scans(db, scans, keys=keys)
    assert [comparable(o) for o in grouped] == expected
    kinds = [o.entry.value if isinstance(o, door.Verification) else o.status_code for o in grouped]
    assert kinds == ["allow", "refuse", "allow", 422, 422, 422, 422, 403, 403, 403, 401, 422, 422, "refuse", "refuse",
                     "allow"]  # fmt: skip
    assert [o.color for o in grouped[13:15] if isinstance(o, door.Verification)] == [Color.yellow] * 2
    admitted = [o.checkin_id for o in grouped if isinstance(o, door.Verification) and o.checkin_id is not None]
    with runtime.database.unit_of_work() as db:
        stored = set(db.execute(select(Checkin.id)).scalars())
        assert len(admitted) == 3
        assert set(admitted) == stored
        assert db.execute(select(func.count()).select_from(FeverRecord)).scalar_one() == 1


def test_both_paths_take_the_same_decision_at_a_hospital_around_the_48_hours(
    runtime: Runtime, keys: Keyring, tokens_: dict[str, str]
) -> None:
    """The same scans through the single path and the grouped path: the same decisions, and the ones
    decision.decide_scan gives from the stored facts."""
    people = {"wang-fang": 47, "li-qiang": 49}  # hours since each one's negative test
    with runtime.database.unit_of_work() as db:
        for ref, hours in people.items():
            add_result(db, actor=Actor.system(), person_ref=ref, sampled_at=NOW - dt.timedelta(hours=hours),
                       result=TestOutcome.negative)  # fmt: skip
    codes = live_codes(runtime, keys, *people)
    op1 = token_hash(tokens_["op1"])
    scans = [DoorScan(op1, codes[ref], venue, NOW - dt.timedelta(microseconds=i), temperature)
             for i, (ref, venue, temperature) in enumerate(
                 (ref, venue, temperature) for ref in people for venue in ("V-HOSPITAL", "V-LONGSHAN")
                 for temperature in (None, 36.8))]  # fmt: skip
    expected = [comparable(o) for o in single_path(runtime, keys, scans)]
    with runtime.database.unit_of_work() as db:
        grouped = verify_scans(db, scans, keys=keys)
    assert [comparable(o) for o in grouped] == expected
    for scan, outcome in zip(scans, grouped, strict=True):
        assert isinstance(outcome, door.Verification)
        ref = outcome.person_ref
        kind = VenueKind.hospital if scan.venue_ref == "V-HOSPITAL" else VenueKind.supermarket
        decision = door.decide_scan(kind=kind, color=Color.green, temperature=scan.temperature, at=scan.at,
                                    negative_sampled_at=NOW - dt.timedelta(hours=people[ref]))  # fmt: skip
        assert (outcome.entry, outcome.why, outcome.negative_test_age, outcome.fever) == (
            decision.entry, decision.why, decision.negative_test_age, decision.fever)  # fmt: skip
    assert [o.entry.value for o in grouped if isinstance(o, door.Verification)] == [
        "allow", "allow", "allow", "allow", "refuse", "refuse", "allow", "allow"]  # fmt: skip


def test_concurrent_requests_share_transactions_and_each_gets_its_own_answer(
    runtime: Runtime, keys: Keyring, tokens_: dict[str, str]
) -> None:
    codes = live_codes(runtime, keys, "wang-fang", "li-qiang")
    op1, op2 = token_hash(tokens_["op1"]), token_hash(tokens_["op2"])
    verifier = DoorVerifier(runtime.database, keys)
    scans = [
        DoorScan(op2 if i % 5 == 4 else op1, codes["wang-fang" if i % 2 else "li-qiang"],
                 "V-HOSPITAL" if i % 3 == 0 else "V-LONGSHAN", NOW + dt.timedelta(microseconds=i))
        for i in range(60)
    ]  # fmt: skip

    async def all_at_once() -> list[object]:
        return await asyncio.gather(*(verifier.verify(s) for s in scans), return_exceptions=True)

    outcomes = run_async(all_at_once())
    for i, outcome in enumerate(outcomes):
        if i % 5 == 4:
            assert isinstance(outcome, DomainError)
            assert outcome.status_code == 403
        else:
            assert isinstance(outcome, door.Verification)
            assert outcome.person_ref == ("wang-fang" if i % 2 else "li-qiang")
            assert outcome.entry is (door.Entry.refuse if i % 3 == 0 else door.Entry.allow)
    ids = [o.checkin_id for o in outcomes if isinstance(o, door.Verification) and o.checkin_id is not None]
    assert len(ids) == len(set(ids)) == sum(1 for i in range(60) if i % 5 != 4 and i % 3 != 0)
    with runtime.database.unit_of_work() as db:
        assert set(db.execute(select(Checkin.id)).scalars()) == set(ids)
    assert 1 <= verifier.groups < len(scans)  # more than one verification per transaction


def test_a_revoked_token_and_a_deactivated_operator_are_refused_in_the_next_group(
    runtime: Runtime, keys: Keyring, tokens_: dict[str, str]
) -> None:
    wang = live_codes(runtime, keys, "wang-fang")["wang-fang"]
    op1, op2 = token_hash(tokens_["op1"]), token_hash(tokens_["op2"])
    with runtime.database.unit_of_work() as db:
        assert isinstance(verify_scans(db, [DoorScan(op1, wang, "V-LONGSHAN", NOW)], keys=keys)[0], door.Verification)
        db.execute(update(ApiToken).where(ApiToken.token_hash == op1).values(revoked_at=NOW))
        db.execute(update(User).where(User.username == "op2").values(is_active=False))
    with runtime.database.unit_of_work() as db:
        revoked, deactivated = verify_scans(db, [DoorScan(op1, wang, "V-LONGSHAN", NOW),
                                                 DoorScan(op2, wang, "V-GANGDU", NOW)], keys=keys)  # fmt: skip
    assert isinstance(revoked, DomainError)
    assert revoked.template == "invalid or revoked API token"
    assert isinstance(deactivated, DomainError)
    assert deactivated.template == "the token's user is deactivated"


def test_a_cached_code_whose_phase_ended_is_recomputed_by_the_rule(
    runtime: Runtime, keys: Keyring, tokens_: dict[str, str]
) -> None:
    wang = live_codes(runtime, keys, "wang-fang")["wang-fang"]
    with runtime.database.unit_of_work() as db:
        person = db.execute(select(Person.id).where(Person.ref == "wang-fang")).scalar_one()
        code = db.get_one(HealthCode, person)
        code.color, code.valid_until = Color.yellow, NOW - dt.timedelta(minutes=1)  # a phase that has just ended
    with runtime.database.unit_of_work() as db:
        [answer] = verify_scans(db, [DoorScan(token_hash(tokens_["op1"]), wang, "V-LONGSHAN", NOW)], keys=keys)
    assert isinstance(answer, door.Verification)
    assert (answer.color, answer.entry) == (Color.green, door.Entry.allow)
    with runtime.database.unit_of_work() as db:
        code = db.get_one(HealthCode, person)
        assert (code.color, code.valid_until) == (Color.green, None)
        change = db.execute(select(CodeChange).where(CodeChange.person_id == person)).scalars().one()
        assert (change.from_color, change.to_color, change.actor) == (Color.yellow, Color.green, "rule")


def test_the_latest_negative_test_is_read_as_the_person_s_standing_results_say(
    runtime: Runtime, keys: Keyring, tokens_: dict[str, str]
) -> None:
    system = Actor.system()
    with runtime.database.unit_of_work() as db:
        person = db.execute(select(Person.id).where(Person.ref == "wang-fang")).scalar_one()
        for hours, result in ((50, TestOutcome.negative), (30, TestOutcome.negative), (20, TestOutcome.negative),
                              (5, TestOutcome.positive)):  # fmt: skip
            row = add_result(db, actor=system, person_ref="wang-fang", result=result,
                             sampled_at=NOW - dt.timedelta(hours=hours))  # fmt: skip
            if hours == 20:
                withdraw_result(db, actor=system, result_id=row.id, reason="tube mix-up")
        reference = max(r.sampled_at for r in results_for(db, person_id=person) if r.result is TestOutcome.negative)
        assert reference == NOW - dt.timedelta(hours=30)
        assert queries.latest_negatives(db, [person], until=NOW) == {person: reference}
        assert queries.latest_negatives(db, [person], until=NOW - dt.timedelta(hours=40)) == {
            person: NOW - dt.timedelta(hours=50)
        }
    wang = live_codes(runtime, keys, "wang-fang")["wang-fang"]
    with runtime.database.unit_of_work() as db:
        [answer] = verify_scans(db, [DoorScan(token_hash(tokens_["op1"]), wang, "V-HOSPITAL", NOW)], keys=keys)
    assert isinstance(answer, door.Verification)
    assert answer.negative_test_age == dt.timedelta(hours=30)
