"""The bounds on what anyone may cause (web/limits.py): turns with a bounded queue that refuse at once beyond it,
shared answers computed once per key while fresh, and the guests' turns at the application. No timing: a turn
held is an event not yet set, and "at once" is "before the holder lets go"."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from fangkong.web.limits import Busy, Gate, GuestLimit, Pace, SharedAnswers, Turns

T = TypeVar("T")


def run(main: Callable[[], Awaitable[T]]) -> T:
    # In a thread of its own: other tests (Playwright's sync API) may leave an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(main())).result()  # type: ignore[arg-type]


async def settle() -> None:
    """Let every ready task run until it waits (a few passes of the event loop; no clock)."""
    for _ in range(20):
        await asyncio.sleep(0)


def test_a_turn_beyond_the_slots_and_the_queue_is_refused_at_once() -> None:
    async def main() -> list[str]:
        turns = Turns(slots=2, queue=1)
        release = asyncio.Event()
        seen: list[str] = []

        async def hold(name: str) -> None:
            async with turns.turn():
                seen.append(name)
                await release.wait()

        holders = [asyncio.ensure_future(hold(n)) for n in ("first", "second", "queued")]
        await settle()
        assert seen == ["first", "second"]
        assert turns.held() == 2
        assert turns.waiting() == 1
        with pytest.raises(Busy) as refused:
            async with turns.turn():
                seen.append("fourth")  # pragma: no cover - refused before its turn
        assert refused.value.status_code == 503
        assert refused.value.headers == {"Retry-After": "1"}
        release.set()
        await asyncio.gather(*holders)
        assert turns.held() == 0
        return seen

    assert run(main) == ["first", "second", "queued"]  # the queued one had its turn; the fourth never did


def test_a_gate_runs_its_work_on_its_own_threads_not_the_pools() -> None:
    async def main() -> str:
        gate = Gate("test", slots=1, queue=0)
        return await gate.run(lambda: threading.current_thread().name)

    assert run(main).startswith("gate-test")


def test_a_flood_of_one_key_computes_it_once_and_shares_the_answer() -> None:
    async def main() -> tuple[list[int], int]:
        answers: SharedAnswers[int] = SharedAnswers(fresh_seconds=10)
        computed = 0
        release = asyncio.Event()

        async def compute() -> int:
            nonlocal computed
            computed += 1
            await release.wait()
            return 42

        readers = [asyncio.ensure_future(answers.get("board", compute)) for _ in range(500)]
        await settle()
        release.set()
        return list(await asyncio.gather(*readers)), computed

    results, computed = run(main)
    assert results == [42] * 500
    assert computed == 1


def test_an_answer_is_kept_while_fresh_and_computed_again_after() -> None:
    now = [100.0]

    async def main() -> list[int]:
        answers: SharedAnswers[int] = SharedAnswers(fresh_seconds=10, clock=lambda: now[0])
        computed = 0

        async def compute() -> int:
            nonlocal computed
            computed += 1
            return computed

        seen = [await answers.get("k", compute)]
        now[0] += 9.9
        seen.append(await answers.get("k", compute))
        now[0] += 0.2
        seen.append(await answers.get("k", compute))
        seen.append(await answers.get("other", compute))  # each key its own
        return seen

    assert run(main) == [1, 1, 2, 3]


def test_a_failed_computation_is_not_kept_and_the_least_recently_used_key_goes_first() -> None:
    async def main() -> tuple[int, list[str]]:
        answers: SharedAnswers[str] = SharedAnswers(fresh_seconds=10, max_entries=2)
        attempts = 0

        async def failing() -> str:
            nonlocal attempts
            attempts += 1
            raise Busy()

        for _ in range(2):
            with pytest.raises(Busy):
                await answers.get("k", failing)

        async def value(v: str) -> str:
            return v

        for key in ("a", "b", "a", "c"):  # "b" is the least recently used when "c" comes
            await answers.get(key, lambda k=key: value(k))
        return attempts, list(answers._entries)

    assert run(main) == (2, ["a", "c"])


# --- the guests' turns ----------------------------------------------------------------------------------------


class Blocking:
    """An application whose answers wait for `release`; `entered` counts who got in."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.entered += 1
        if scope["path"] == "/page":
            await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def guest_limit(inner: Blocking) -> GuestLimit:
    return GuestLimit(inner, slots=2, queue=2, session_cookie="fk_session", signed_in=lambda v: v == "genuine",
                      exempt=("/api/ping", "/static/"))  # fmt: skip


async def _flood(
    app: Any, inner: Blocking, n: int, **kwargs: Any
) -> tuple[httpx.AsyncClient, list[asyncio.Future[httpx.Response]]]:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    requests = [asyncio.ensure_future(client.get("/page", **kwargs)) for _ in range(n)]
    await settle()
    return client, requests


def test_guests_beyond_their_turns_and_queue_get_503_with_retry_after_at_once() -> None:
    async def main() -> tuple[list[int], int, dict[str, str], int]:
        inner = Blocking()
        app = guest_limit(inner)
        client, requests = await _flood(app, inner, 4)  # two hold a turn, two wait
        refused = await client.get("/page")  # answered while all four still wait for `release`
        entered = inner.entered
        inner.release.set()
        statuses = [r.status_code for r in await asyncio.gather(*requests)]
        await client.aclose()
        return statuses, refused.status_code, dict(refused.headers), entered

    statuses, refused, headers, entered = run(main)
    assert refused == 503
    assert headers["retry-after"] == "1"
    assert entered == 2  # the 503 came before the holders let go: nothing waited for it
    assert statuses == [200] * 4  # the queued ones had their turn


def test_signed_in_readers_tokens_and_exempt_paths_pass_a_full_guest_limit_but_a_made_up_cookie_does_not() -> None:
    async def main() -> dict[str, int]:
        inner = Blocking()
        app = guest_limit(inner)
        client, requests = await _flood(app, inner, 4)
        seen = {
            "token": (await client.get("/quick", headers={"Authorization": "Bearer x"})).status_code,
            "session": (await client.get("/quick", headers={"Cookie": "fk_session=genuine; lang=en"})).status_code,
            "made-up": (await client.get("/quick", headers={"Cookie": "fk_session=forged"})).status_code,
            "other cookie": (await client.get("/quick", headers={"Cookie": "lang=en"})).status_code,
            "exempt": (await client.get("/api/ping")).status_code,
            "exempt prefix": (await client.get("/static/app.css")).status_code,
            "not exempt": (await client.get("/api/pingpong")).status_code,
        }
        inner.release.set()
        await asyncio.gather(*requests)
        await client.aclose()
        return seen

    assert run(main) == {
        "token": 200,
        "session": 200,
        "made-up": 503,
        "other cookie": 503,
        "exempt": 200,
        "exempt prefix": 200,
        "not exempt": 503,
    }


def test_a_pace_lets_callers_go_one_after_another_and_refuses_one_whose_moment_is_too_far() -> None:
    now = [100.0]
    pace = Pace(per_second=10, max_wait=0.25, clock=lambda: now[0])
    assert [pace.admit() for _ in range(3)] == pytest.approx([0.0, 0.1, 0.2])
    assert pace.admit() is None  # 0.3 s away: refused, and it takes no moment from those after it
    now[0] += 0.1
    assert pace.admit() == pytest.approx(0.2)
    now[0] += 10
    assert pace.admit() == 0.0
    assert Pace(per_second=0, max_wait=0).admit() == 0.0  # no pace
