"""The assistance inbox (协查) in a real browser: the demo investigator names, for a case of their district, a
person of another district; that district's investigator finds the request from the home page, sees how long it
has waited, and confirms it. On a phone and at a desk."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import Channel
from fangkong.auth.models import Role
from fangkong.auth.service import actor_for, create_user, get_user
from fangkong.cases.assist import Named, name_contact
from fangkong.cases.contacts import Interview
from fangkong.cases.models import AssistRequest, AssistStatus, Case, Classification, ContactTier
from fangkong.cases.service import CaseChangeRequest, report_case
from fangkong.core import clock
from fangkong.core.runtime import Runtime
from fangkong.people.models import Person
from fangkong.regions.models import Region, RegionLevel
from fangkong.regions.service import ancestors, get_region, subtree_clause

from ..support.browser import DemoCity

NO_SIDEWAYS_SCROLL = "document.scrollingElement.scrollWidth <= window.innerWidth"


def _request_from_another_district(runtime: Runtime, demo_city: DemoCity) -> tuple[str, int, str]:
    """A request from the demo investigator's district about a person of another district, filed three hours ago;
    a new investigator of that district (username), the request's id and the person's name."""
    with runtime.database.unit_of_work() as db:
        home = get_region(db, code=demo_city.accounts["investigator"].region_code)
        in_home = select(Region.id).where(subtree_clause(Region.path, home.path))
        index = db.execute(
            select(Person).where(Person.region_id.in_(in_home), Person.id.not_in(select(Case.person_id)))
            .order_by(Person.ref.desc())
        ).scalars().first()  # fmt: skip
        elsewhere = db.execute(
            select(Person).where(Person.region_id.not_in(in_home)).order_by(Person.ref.desc())
        ).scalars().first()  # fmt: skip
        assert index is not None
        assert elsewhere is not None, "the demo city has one district only"
        grid = db.get_one(Region, elsewhere.region_id)
        district = next(r for r in ancestors(db, region=grid) if r.level is RegionLevel.district)
        username = f"inv-{secrets.token_hex(3)}"
        create_user(db, actor=Actor.system(), username=username, password=demo_city.password,
                    grants=[(Role.investigator, district.code)], display_name="外区流调员")  # fmt: skip
        requester = actor_for(db, user=get_user(db, username="investigator"), channel=Channel.page)
        case = report_case(db, actor=requester, person_ref=index.ref,
                           change=CaseChangeRequest(classification=Classification.suspected)).case  # fmt: skip
        evening = clock.now() - dt.timedelta(days=1, hours=3)
        with clock.frozen_at(clock.now() - dt.timedelta(hours=3)):
            made = name_contact(db, actor=requester, keys=runtime.keys, case_id=case.id, named=Named(elsewhere.ref),
                                tier=ContactTier.close, interview=Interview("同桌吃饭两小时", evening,
                                evening + dt.timedelta(hours=2), "老边饺子馆"))  # fmt: skip
        assert isinstance(made, AssistRequest)
        return username, made.id, elsewhere.name


def test_the_receiving_investigator_answers_a_request_from_the_inbox(
    live_server: str, live_runtime: Runtime, demo_city: DemoCity, new_page: Callable[..., Any],
    sign_in: Callable[..., Any], screenshot: Callable[..., Path],
) -> None:  # fmt: skip
    username, request_id, person_name = _request_from_another_district(live_runtime, demo_city)
    phone = sign_in(new_page("phone"), username)
    phone.locator("a[href='/assist']").click()
    phone.wait_for_url(f"{live_server}/assist")
    item = phone.locator(f"#assist-{request_id}")
    assert person_name in item.inner_text()
    assert "3 小时" in item.locator("[data-testid=waited]").inner_text()
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(phone, "phone")

    desk = sign_in(new_page("desktop"), username)
    desk.goto(f"{live_server}/assist")
    screenshot(desk, "desktop-1-inbox")
    desk.locator(f"#assist-{request_id} form.decide__confirm button[value=close]").click()
    desk.wait_for_url(f"{live_server}/assist?decided={request_id}")
    assert f"协查 #{request_id} 已答复" in desk.locator(".flash--success").inner_text()
    screenshot(desk, "desktop-2-answered")
    with live_runtime.database.unit_of_work() as db:
        assert db.get_one(AssistRequest, request_id).status is AssistStatus.confirmed
