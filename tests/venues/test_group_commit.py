"""The check-in writer: many requests, one transaction; each request still gets its own answer."""

import asyncio
import datetime as dt
import uuid
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.auth.models import ApiToken
from fangkong.auth.service import Unauthenticated, token_hash
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.errors import NotFound
from fangkong.core.group_commit import GroupCommitter
from fangkong.core.runtime import Runtime
from fangkong.venues.checkin_writer import BatchUpload, DoorCheckin, DoorReceipt, checkin_writer, write_checkins
from fangkong.venues.checkins import Limits
from fangkong.venues.models import Checkin, CheckinSource
from fangkong.venues.schemas import BatchResult, BatchRow

from ..support.venues import venue_city

T = TypeVar("T")
LIMITS = Limits(retention=dt.timedelta(days=28), future_skew=dt.timedelta(minutes=5))


@pytest.fixture
def tokens(runtime: Runtime, keys: Keyring) -> dict[str, bytes]:
    plain, _ = venue_city(runtime, keys)
    return {name: token_hash(token) for name, token in plain.items()}


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: the browser tests leave an event loop running in the main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def door(token: bytes, person_ref: str = "wang-fang", venue_ref: str = "V-LONGSHAN") -> DoorCheckin:
    return DoorCheckin(venue_ref, person_ref, clock.now(), token_hash=token)


def stored(db: Session, source: CheckinSource) -> int:
    return int(db.execute(select(func.count()).select_from(Checkin).where(Checkin.source == source)).scalar_one())


def test_one_group_stores_the_good_requests_and_answers_each_bad_one_with_its_own_error(
    runtime: Runtime, tokens: dict[str, bytes]
) -> None:
    requests = [
        door(tokens["op1"]),
        door(tokens["op1"], person_ref="nobody"),
        door(tokens["op2"]),  # V-LONGSHAN belongs to op1
        door(tokens["op1"], venue_ref="V-NOWHERE"),
        door(b"\0" * 32),  # no such token
        door(tokens["gw"]),  # a grid worker holds a token but runs no venue
        door(tokens["op1"], person_ref="li-qiang"),
    ]
    with runtime.database.unit_of_work() as db:
        outcomes = write_checkins(db, requests)
    assert [type(o) for o in outcomes] == [
        DoorReceipt, NotFound, NotFound, NotFound, Unauthenticated, NotFound, DoorReceipt,
    ]  # fmt: skip
    assert isinstance(outcomes[0], DoorReceipt)
    assert isinstance(outcomes[6], DoorReceipt)
    assert outcomes[0].id != outcomes[6].id
    with runtime.database.unit_of_work() as db:
        ids = set(db.execute(select(Checkin.id).where(Checkin.source == CheckinSource.door)).scalars())
    assert ids == {outcomes[0].id, outcomes[6].id}


def test_a_revoked_token_is_refused_in_the_very_next_group(runtime: Runtime, tokens: dict[str, bytes]) -> None:
    with runtime.database.unit_of_work() as db:
        first = write_checkins(db, [door(tokens["op1"])])
        db.query(ApiToken).filter(ApiToken.token_hash == tokens["op1"]).update({"revoked_at": clock.now()})
    with runtime.database.unit_of_work() as db:
        second = write_checkins(db, [door(tokens["op1"])])
    assert isinstance(first[0], DoorReceipt)
    assert isinstance(second[0], Unauthenticated)


def test_a_batch_that_fails_takes_no_single_check_in_of_its_group_with_it(
    runtime: Runtime, tokens: dict[str, bytes]
) -> None:
    at = clock.now() - dt.timedelta(hours=1)
    good_rows = [
        BatchRow(client_id=str(uuid.uuid4()), person_ref="wang-fang", venue_ref="V-LONGSHAN", checked_in_at=at)
    ]
    requests: Sequence[DoorCheckin | BatchUpload] = [
        BatchUpload(good_rows, LIMITS, "127.0.0.1", token_hash=b"\1" * 32),  # an unknown token: the batch fails
        door(tokens["op1"]),
        BatchUpload(good_rows, LIMITS, "127.0.0.1", token_hash=tokens["op1"]),
    ]
    with runtime.database.unit_of_work() as db:
        outcomes = write_checkins(db, requests)
    assert isinstance(outcomes[0], Unauthenticated)
    assert isinstance(outcomes[1], DoorReceipt)
    assert outcomes[2] == BatchResult(accepted=1, duplicates=0, rejected=[])
    with runtime.database.unit_of_work() as db:
        assert (stored(db, CheckinSource.door), stored(db, CheckinSource.batch)) == (1, 1)


def test_concurrent_requests_share_commits_and_each_gets_its_own_answer(
    runtime: Runtime, tokens: dict[str, bytes]
) -> None:
    writer = checkin_writer(runtime.database)
    people = ["wang-fang", "li-qiang", "nobody"] * 20

    async def all_at_once() -> list[object]:
        checkins = [writer.run(door(tokens["op1"], person_ref=p)) for p in people]
        return await asyncio.gather(*checkins, return_exceptions=True)

    outcomes = run_async(all_at_once())
    assert [isinstance(o, DoorReceipt) for o in outcomes] == [p != "nobody" for p in people]
    assert all(isinstance(o, NotFound) for o, p in zip(outcomes, people, strict=True) if p == "nobody")
    assert len({o.id for o in outcomes if isinstance(o, DoorReceipt)}) == 40
    assert 1 <= writer.batches < len(people)  # the writer took more than one request per transaction


def test_when_the_transaction_fails_every_request_in_it_gets_the_error_and_nothing_is_stored(
    runtime: Runtime,
) -> None:
    def work(db: Session, items: Sequence[int]) -> list[int | Exception]:
        db.add(Checkin(person_id=1, venue_id=1, checked_in_at=clock.now(), source=CheckinSource.door))
        raise RuntimeError("the disk is full")

    writer: GroupCommitter[int, int] = GroupCommitter(runtime.database, work)

    async def two() -> list[object]:
        return await asyncio.gather(writer.run(1), writer.run(2), return_exceptions=True)

    outcomes = run_async(two())
    assert [str(o) for o in outcomes] == ["the disk is full", "the disk is full"]
    with runtime.database.unit_of_work() as db:
        assert stored(db, CheckinSource.door) == 0


def test_purging_in_chunks_deletes_the_oldest_first_and_everything_past_retention_in_the_end(
    runtime: Runtime, tokens: dict[str, bytes]
) -> None:
    from fangkong.auth.actor import Actor
    from fangkong.auth.audit_models import AuditAction, AuditEvent
    from fangkong.people.models import Person
    from fangkong.venues.checkins import purge, purge_in_chunks
    from fangkong.venues.models import Venue

    now = clock.now()
    with runtime.database.unit_of_work() as db:
        person = db.execute(select(Person.id).where(Person.ref == "wang-fang")).scalar_one()
        venue = db.execute(select(Venue.id).where(Venue.ref == "V-LONGSHAN")).scalar_one()
        for days in (35, 33, 31, 29, 27):
            at = now - dt.timedelta(days=days)
            db.add(Checkin(person_id=person, venue_id=venue, checked_in_at=at, source=CheckinSource.door))
    retention = dt.timedelta(days=28)
    with runtime.database.unit_of_work() as db:
        assert purge(db, actor=Actor.system(), retention=retention, limit=1) == 1
        ages = sorted((now - at).days for at in db.execute(select(Checkin.checked_in_at)).scalars())
    assert ages == [27, 29, 31, 33]  # the 35-day-old one went first
    assert purge_in_chunks(runtime.database, actor=Actor.system(), retention=retention, chunk=2) == 3
    with runtime.database.unit_of_work() as db:
        assert [(now - at).days for at in db.execute(select(Checkin.checked_in_at)).scalars()] == [27]
        purges = db.execute(select(AuditEvent).where(AuditEvent.action == AuditAction.checkin_purge)).scalars()
        assert [p.details.split()[0] for p in purges] == ["1", "2", "1"]  # one audit row per transaction
