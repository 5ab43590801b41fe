"""Pages for venue operators (register, my venues, a venue with its live occupancy, poster, new place code). Scoped
by ownership through venues.service like the API. The public page of how full venues are is in pages.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from fangkong.auth.actor import Actor
from fangkong.auth.models import Role
from fangkong.auth.page_deps import FormActor, PageActor, shell
from fangkong.core.deps import DbSession, get_runtime
from fangkong.core.errors import DomainError, Forbidden
from fangkong.regions.models import Region, RegionLevel
from fangkong.regions.service import subtree_clause
from fangkong.venues import poster, service
from fangkong.venues.models import Venue, VenueKind
from fangkong.venues.schemas import VenueCreate
from fangkong.web.forms import form_errors
from fangkong.web.i18n import request_language, translator
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)

KIND_LABELS = {
    VenueKind.supermarket: "Supermarket",
    VenueKind.market: "Market",
    VenueKind.restaurant: "Restaurant",
    VenueKind.hospital: "Hospital",
    VenueKind.clinic: "Clinic",
    VenueKind.pharmacy: "Pharmacy",
    VenueKind.school: "School",
    VenueKind.office: "Office",
    VenueKind.factory: "Factory",
    VenueKind.residential_gate: "Residential compound gate",
    VenueKind.station: "Station",
    VenueKind.bus_line: "Bus line",
    VenueKind.taxi: "Taxi",
    VenueKind.other: "Other",
}


def _operator(actor: Actor) -> Actor:
    if not actor.has(Role.venue_operator):
        raise Forbidden("only venue operators manage venues")
    return actor


def _regions_for(db: DbSession, actor: Actor) -> list[Region]:
    """Where the operator may register venues: streets and communities of their regions."""
    found: dict[str, Region] = {}
    for grant in actor.grants_for(Role.venue_operator):
        stmt = select(Region).where(
            subtree_clause(Region.path, grant.region_path),
            Region.level.in_([RegionLevel.street, RegionLevel.community]),
        )
        found |= {r.code: r for r in db.execute(stmt).scalars()}
    return sorted(found.values(), key=lambda r: r.path)


def _list_page(
    request: Request,
    db: DbSession,
    actor: Actor,
    error: str | None = None,
    status: int = 200,
    form: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
) -> Response:
    venues = service.my_venues(db, actor=actor)
    counts = service.occupancy_all(db, venue_ids=[v.id for v in venues])
    context = {
        **shell(request, actor),
        "venues": [(v, counts.get(v.id, 0)) for v in venues],
        "kinds": list(KIND_LABELS.items()),
        "kind_labels": KIND_LABELS,
        "regions": _regions_for(db, actor),
        "error": error,
        "form": form or {},  # what was typed, kept when registration fails
        "field_errors": field_errors or {},
    }
    return render(request, "venues/mine.html", context, status_code=status)


@router.get("/venues")
def my_venues(request: Request, db: DbSession, actor: PageActor) -> Response:
    return _list_page(request, db, _operator(actor))


@router.post("/venues")
def register_venue(
    request: Request,
    db: DbSession,
    actor: FormActor,
    name: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    region_code: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    capacity: Annotated[str, Form()] = "",
) -> Response:
    operator = _operator(actor)
    _ = translator(request_language(request))
    typed = {"name": name, "kind": kind, "region_code": region_code, "address": address, "capacity": capacity}
    problems: dict[str, str] = {}
    if not name.strip():
        problems["name"] = _("Give the venue's name.")
    if capacity.strip() and (not capacity.strip().isdigit() or int(capacity) <= 0):
        problems["capacity"] = _("A capacity is a whole number above zero.")
    if kind not in {k.value for k in VenueKind}:
        problems["kind"] = _("Choose a kind.")
    if problems:
        message = _("Check the fields marked below.")
        return _list_page(request, db, operator, message, 422, form=typed, field_errors=problems)
    try:  # lengths: name up to 200, address up to 255
        venue_in = VenueCreate(
            name=name.strip(), kind=VenueKind(kind), region_code=region_code,
            address=address.strip(), capacity=int(capacity) if capacity.strip() else None,
        )  # fmt: skip
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0])
        return _list_page(request, db, operator, _("Check the fields marked below."), 422, form=typed,
                          field_errors={field: _("This is too long.")})  # fmt: skip
    with form_errors(request, db, catch=(DomainError,)) as failed:  # the region: unknown, not theirs, wrong level
        venue = service.create_venue(db, actor=operator, venue_in=venue_in)
    if failed:
        return _list_page(request, db, operator, failed.message, failed.status, form=typed)
    return RedirectResponse(f"/venues/{venue.ref}", status_code=303)


def _venue_context(request: Request, db: DbSession, venue: Venue) -> dict[str, object]:
    region = db.get(Region, venue.region_id)
    return {
        "venue": venue,
        "kind_label": KIND_LABELS[venue.kind],
        "region": region,
        "present": service.occupancy(db, venue=venue),
        "checkin_url": str(request.url_for("scan_page", token=venue.token)),
    }


@router.get("/venues/{ref}")
def venue_page(request: Request, ref: str, db: DbSession, actor: PageActor) -> Response:
    venue = service.managed_venue(db, actor=_operator(actor), ref=ref)
    context = _venue_context(request, db, venue)
    if request.headers.get("hx-request"):  # the live occupancy figure, polled by the page
        return render(request, "venues/_present.html", context)
    return render(request, "venues/detail.html", {**shell(request, actor), **context})


@router.post("/venues/{ref}/rotate")
def rotate(request: Request, ref: str, db: DbSession, actor: FormActor) -> Response:
    service.rotate_token(db, actor=_operator(actor), ref=ref)
    return RedirectResponse(f"/venues/{ref}?rotated=1", status_code=303)


def _poster_data(request: Request, db: DbSession, actor: Actor, ref: str) -> poster.PosterData:
    venue = service.managed_venue(db, actor=_operator(actor), ref=ref)
    _ = translator(request_language(request))
    return poster.PosterData(
        venue_name=venue.name,
        venue_ref=venue.ref,
        kind_label=_(KIND_LABELS[venue.kind]),
        address=venue.address,
        url=str(request.url_for("scan_page", token=venue.token)),
        retention_days=get_runtime(request).settings.checkin_retention_days,
    )


@router.get("/venues/{ref}/poster")
def poster_page(request: Request, ref: str, db: DbSession, actor: PageActor) -> Response:
    """The printable A4 place code (print it from the browser, or download the SVG)."""
    data = _poster_data(request, db, actor, ref)
    return render(request, "venues/poster.html", poster.poster_context(data, svg_url=f"/venues/{ref}/poster.svg"))


@router.get("/venues/{ref}/poster.svg")
def poster_file(request: Request, ref: str, db: DbSession, actor: PageActor) -> Response:
    data = _poster_data(request, db, actor, ref)
    return Response(
        poster.poster_svg(data, lang=request_language(request)),
        media_type="image/svg+xml",
        headers={"Content-Disposition": f'attachment; filename="place-code-{ref}.svg"'},
    )
