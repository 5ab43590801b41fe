"""The transmission chain page: a case's cluster drawn with Cytoscape.js (static/js/chain.js) from chains.chain(),
and the same links as a table, which is the page without scripts and on a small screen."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fangkong.auth.page_deps import PageActor
from fangkong.cases import chains
from fangkong.cases.models import Classification, ContactStatus, ContactTier, EvidenceKind
from fangkong.cases.pages import Translate, labeler, page_context
from fangkong.core.config import city_zone
from fangkong.core.deps import DbSession
from fangkong.core.inputs import RowId
from fangkong.web.i18n import request_language, translator
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)
PANEL_EVIDENCE = 6  # pieces of evidence of a link shown in the side panel


def evidence_parts(items: Sequence[chains.EvidenceItem], _: Translate) -> list[str]:
    """A link's evidence, piece by piece, in the reader's language and the city's clock."""
    zone = city_zone()
    parts = []
    for item in items:
        if item.kind == EvidenceKind.household:
            parts.append(_("Same household"))
        elif item.kind == EvidenceKind.interview:
            parts.append(_("Interview") + ": " + item.note)
        elif item.start is not None and item.end is not None:
            start, end = item.start.astimezone(zone), item.end.astimezone(zone)
            parts.append(f"{item.venue_name} {start:%m-%d %H:%M}–{end:%H:%M}")
    return parts


def _status_label(node: chains.Node, label: Callable[[object], str]) -> str:
    if node.kind == "case":
        return label(Classification(node.status))
    value = node.status
    return label(ContactTier(value)) if value in ContactTier.__members__ else label(ContactStatus(value))


def chain_view(chain: chains.Chain, _: Translate) -> dict[str, Any]:
    """The graph for chain.js (texts translated here, so the script has none of its own) and the rows of the list
    view: the same links, for readers without a canvas or on a small screen."""
    label = labeler(_)
    nodes = {n.id: n for n in chain.nodes}

    def name(node_id: str) -> str:
        node = nodes[node_id]
        return f"{node.label} · {node.person_ref}"

    graph_nodes = [
        {"id": n.id, "label": n.label, "kind": n.kind, "status": n.status, "root": n.case_id == chain.root_case_id,
         "url": f"/cases/{n.case_id}" if n.case_id else "", "title": name(n.id),
         "details": [[_("Status"), _status_label(n, label)]]}
        for n in chain.nodes
    ]  # fmt: skip
    rows: list[dict[str, Any]] = []
    graph_edges: list[dict[str, Any]] = []
    for i, e in enumerate(chain.edges):
        tier = label(ContactTier(e.tier)) if e.tier else label(ContactStatus(e.status))
        status, minutes = label(ContactStatus(e.status)), _("%(n)s min", n=e.minutes)
        parts = evidence_parts(e.items, _)
        # A colleague's fortnight is dozens of intervals: the panel shows the first few, the table all of them.
        more = len(parts) - PANEL_EVIDENCE
        evidence = "; ".join(parts[:PANEL_EVIDENCE]) + (f" … (+{more})" if more > 0 else "")
        rows.append(
            {
                "source": e.source,
                "target": e.target,
                "from_name": name(e.source),
                "to_name": name(e.target),
                "tier_label": tier,
                "status_label": status,
                "minutes": e.minutes,
                "evidence": parts,
            }
        )
        graph_edges.append({
            "id": f"edge-{i}", "source": e.source, "target": e.target, "tier": e.tier or "", "status": e.status,
            "label": f"{tier} · {minutes}" if e.minutes else tier, "title": f"{name(e.source)} → {name(e.target)}",
            "details": [[_("Tier"), tier], [_("Status"), status], [_("Co-present"), minutes],
                        [_("Evidence"), evidence or "—"]],
        })  # fmt: skip
    graph = {"nodes": graph_nodes, "edges": graph_edges, "texts": {"open_case": _("Open the case")}}
    candidates = sum(1 for n in chain.nodes if n.kind == "contact" and n.status == ContactStatus.candidate.value)
    return {"graph": graph, "edges": rows, "candidates": candidates}


@router.get("/cases/{case_id}/chain")
def chain_page(request: Request, case_id: RowId, db: DbSession, actor: PageActor) -> Response:
    """The case's transmission cluster: a graph, and the same links as a table."""
    chain = chains.chain(db, actor=actor, case_id=case_id)
    root = next(n for n in chain.nodes if n.case_id == case_id)
    _ = translator(request_language(request))
    context = {**page_context(request, actor), **chain_view(chain, _), "chain": chain, "root": root}
    return render(request, "cases/chain.html", context)
