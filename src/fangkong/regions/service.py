"""The region tree: lookups, indexed subtree queries, and the CSV import.

Subtrees are ranges on the materialized path, so "everything in 大石桥市" is one index range scan on both
databases; every scoped read in later issues goes through `subtree_clause`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from fangkong.core import clock
from fangkong.core.errors import NotFound
from fangkong.core.importing import CsvRow, ImportReport, RowError, chunks
from fangkong.regions.models import Region, RegionLevel

MAX_CODE_LENGTH = 20
REGION_COLUMNS = ("code", "name", "level", "parent_code")


def path_for(parent_path: str | None, code: str) -> str:
    return f"{parent_path or '/'}{code}/"


def subtree_range(path: str) -> tuple[str, str]:
    """[low, high) bounds of every path in the subtree rooted at `path` (itself included).

    Paths end with '/', and '0' is the character right after '/', so the upper bound is the path with its
    last '/' replaced by '0'. Byte order (collation "C" on PostgreSQL) makes this exact.
    """
    return path, path[:-1] + "0"


def subtree_clause(path_column: Any, path: str) -> ColumnElement[bool]:
    """`path_column` lies in the subtree at `path` (any column holding region paths)."""
    low, high = subtree_range(path)
    return and_(path_column >= low, path_column < high)


def get_region(db: Session, *, code: str) -> Region:
    region = db.execute(select(Region).where(Region.code == code)).scalar_one_or_none()
    if region is None:
        raise NotFound("region %(code)s does not exist", code=code)
    return region


def children(db: Session, *, region: Region | None) -> Sequence[Region]:
    """The direct children of `region`, or the roots when None."""
    parent = Region.parent_id.is_(None) if region is None else Region.parent_id == region.id
    return db.execute(select(Region).where(parent).order_by(Region.code)).scalars().all()


def subtree(db: Session, *, region: Region, level: RegionLevel | None = None) -> Sequence[Region]:
    """`region` and all its descendants (optionally only those of one level), in path order."""
    stmt = select(Region).where(subtree_clause(Region.path, region.path))
    if level is not None:
        stmt = stmt.where(Region.level == level)
    return db.execute(stmt.order_by(Region.path)).scalars().all()


def subtree_ids(region: Region) -> Any:
    """A clause for `X.region_id.in_(...)`: the ids of the subtree, as a subquery the planner can index."""
    return select(Region.id).where(subtree_clause(Region.path, region.path)).scalar_subquery()


def ancestors(db: Session, *, region: Region) -> Sequence[Region]:
    """From the root down to the parent of `region`."""
    codes = [c for c in region.path.strip("/").split("/")[:-1] if c]
    if not codes:
        return []
    found = {r.code: r for r in db.execute(select(Region).where(Region.code.in_(codes))).scalars()}
    return [found[c] for c in codes if c in found]


# --- import -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _RegionRow:
    line: int
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None


@dataclass(slots=True)
class _Known:
    id: int | None  # None until inserted
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    path: str


def _parse_region_row(row: CsvRow) -> _RegionRow | str:
    v = row.values
    code, name, level_text, parent = v["code"], v["name"], v["level"].lower(), v["parent_code"] or None
    if not code:
        return "code is empty"
    if not code.isdigit() or not 6 <= len(code) <= MAX_CODE_LENGTH:
        return f"code {code!r} must be 6 to {MAX_CODE_LENGTH} digits (GB/T 2260 style)"
    if not name:
        return "name is empty"
    if len(name) > 100:
        return "name is longer than 100 characters"
    try:
        level = RegionLevel(level_text)
    except ValueError:
        return f"level {v['level']!r} is not one of {', '.join(level.value for level in RegionLevel)}"
    if level in (RegionLevel.city, RegionLevel.district) and len(code) != 6:
        return f"a {level.value} code has 6 digits (GB/T 2260), {code!r} has {len(code)}"
    if level is RegionLevel.city and parent:
        return "a city is the top of the tree; leave parent_code empty"
    if level is not RegionLevel.city and not parent:
        return f"a {level.value} needs a parent_code"
    if parent == code:
        return "a region cannot be its own parent"
    return _RegionRow(row.line, code, name, level, parent)


def _check_parent(row: _RegionRow, parent: _Known) -> str | None:
    if parent.level.child is not row.level:
        expected = parent.level.child.value if parent.level.child else "nothing"
        return f"parent {parent.code} is a {parent.level.value}, whose children are {expected}s, not {row.level.value}s"
    if row.level not in (RegionLevel.city, RegionLevel.district) and not row.code.startswith(parent.code):
        return f"code {row.code} must extend its parent's code {parent.code}"
    if len(path_for(parent.path, row.code)) > 255:
        return "the path of this region is too long"
    return None


def import_regions(
    db: Session, *, rows: Iterable[CsvRow | RowError], report: ImportReport | None = None
) -> ImportReport:
    """Upsert regions by code. Parents may come later in the file than their children, so the file is held whole:
    a region tree is thousands of rows (a city's grids), not millions."""
    report = report if report is not None else ImportReport()
    parsed: dict[str, _RegionRow] = {}
    for item in rows:
        if isinstance(item, RowError):
            report.errors.append(item)
            continue
        result = _parse_region_row(item)
        if isinstance(result, str):
            report.reject(item.line, result)
        elif result.code in parsed:
            report.reject(item.line, f"code {result.code} repeats line {parsed[result.code].line}")
        else:
            parsed[result.code] = result

    known = _load_known(db, set(parsed) | {r.parent_code for r in parsed.values() if r.parent_code})

    # Resolve top-down so that every parent's path is known before its children's: a row is queued only once
    # its parent is settled (in the database already, or resolved earlier from this file).
    children_of: dict[str | None, list[_RegionRow]] = {}
    for r in parsed.values():
        children_of.setdefault(r.parent_code, []).append(r)
    queue = [r for parent, rows_ in children_of.items() if parent is None or parent not in parsed for r in rows_]
    resolved: list[tuple[_RegionRow, _Known | None]] = []  # (row, what the database held before, if anything)
    done: set[str] = set()
    while queue:
        row = queue.pop()
        done.add(row.code)
        previous = known.get(row.code)
        problem = _resolve_problem(db, row, known, previous)
        if problem:
            report.reject(row.line, problem)
            _reject_descendants(row, children_of, report, done)
            continue
        parent_path = known[row.parent_code].path if row.parent_code else None
        known[row.code] = _Known(
            previous.id if previous else None,
            row.code,
            row.name,
            row.level,
            row.parent_code,
            path_for(parent_path, row.code),
        )
        resolved.append((row, previous))
        queue.extend(children_of.get(row.code, []))
    for r in parsed.values():
        if r.code not in done:
            report.reject(r.line, "its chain of parents loops back to itself")

    _write_regions(db, resolved, known, report)
    report.flush()
    return report


def _load_known(db: Session, codes: set[str]) -> dict[str, _Known]:
    parent = aliased(Region)
    known: dict[str, _Known] = {}
    for batch in chunks(sorted(codes), 2000):
        stmt = (
            select(Region, parent.code).outerjoin(parent, Region.parent_id == parent.id).where(Region.code.in_(batch))
        )
        for region, parent_code in db.execute(stmt):
            known[region.code] = _Known(region.id, region.code, region.name, region.level, parent_code, region.path)
    return known


def _resolve_problem(db: Session, row: _RegionRow, known: dict[str, _Known], previous: _Known | None) -> str | None:
    if row.parent_code is not None:
        parent = known.get(row.parent_code)
        if parent is None:
            return f"parent region {row.parent_code} does not exist; import it first or in the same file"
        problem = _check_parent(row, parent)
        if problem:
            return problem
        if previous is not None and parent.path.startswith(previous.path):
            return f"parent {row.parent_code} lies inside this region's own subtree"
    if previous is not None and previous.level is not row.level and _has_children(db, previous):
        return f"level cannot change from {previous.level.value} while it has sub-regions"
    return None


def _reject_descendants(
    row: _RegionRow, children_of: dict[str | None, list[_RegionRow]], report: ImportReport, done: set[str]
) -> None:
    for child in children_of.get(row.code, []):
        done.add(child.code)
        report.reject(child.line, f"parent region {row.code} was rejected (line {row.line})")
        _reject_descendants(child, children_of, report, done)


def _has_children(db: Session, known: _Known) -> bool:
    return db.execute(select(Region.id).where(Region.parent_id == known.id).limit(1)).first() is not None


def _write_regions(
    db: Session,
    resolved: list[tuple[_RegionRow, _Known | None]],
    known: dict[str, _Known],
    report: ImportReport,
) -> None:
    now = clock.now()
    # Insert level by level so that parent ids exist before children reference them.
    for level in RegionLevel:
        new_rows = [row for row, prev in resolved if prev is None and row.level is level]
        for batch in chunks(new_rows, 2000):
            db.execute(
                insert(Region),
                [
                    {
                        "code": r.code,
                        "name": r.name,
                        "level": r.level,
                        "parent_id": known[r.parent_code].id if r.parent_code else None,
                        "path": known[r.code].path,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for r in batch
                ],
            )
            ids = db.execute(select(Region.code, Region.id).where(Region.code.in_([r.code for r in batch])))
            for code, region_id in ids:
                known[code].id = region_id
            report.imported += len(batch)

    for row, prev in resolved:
        if prev is None:
            continue
        new = known[row.code]
        if (prev.name, prev.level, prev.parent_code, prev.path) == (
            new.name,
            new.level,
            new.parent_code,
            new.path,
        ):
            report.unchanged += 1
            continue
        parent_id = known[row.parent_code].id if row.parent_code else None
        # Read the path as it is now: an ancestor updated earlier in this loop may have moved it already.
        current = db.execute(select(Region.path).where(Region.id == prev.id)).scalar_one()
        db.execute(
            update(Region)
            .where(Region.id == prev.id)
            .values(name=new.name, level=new.level, parent_id=parent_id, path=new.path, updated_at=now)
        )
        if current != new.path:
            # Re-parented: every descendant's path moves with it.
            low, high = subtree_range(current)
            db.execute(
                update(Region)
                .where(Region.path > low, Region.path < high)
                .values(path=new.path + func.substr(Region.path, len(current) + 1), updated_at=now)
            )
        report.updated += 1
    db.flush()
