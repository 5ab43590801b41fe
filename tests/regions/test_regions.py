from sqlalchemy import select, text
from sqlalchemy.orm import Session

from fangkong.regions import service
from fangkong.regions.models import Region, RegionLevel

from ..support.factories import REGIONS_CSV, load_regions


def codes(regions: object) -> list[str]:
    return [r.code for r in regions]  # type: ignore[attr-defined]


def test_importing_the_tree_builds_materialized_paths(db: Session) -> None:
    report = load_regions(db)
    assert (report.imported, report.updated, report.rejected) == (12, 0, 0)
    grid = service.get_region(db, code="210802001001002")
    assert grid.path == "/210800/210802/210802001/210802001001/210802001001002/"
    assert grid.level is RegionLevel.grid
    assert codes(service.ancestors(db, region=grid)) == ["210800", "210802", "210802001", "210802001001"]


def test_a_subtree_holds_the_region_and_its_descendants_but_not_its_siblings(db: Session) -> None:
    load_regions(db)
    district = service.get_region(db, code="210802")
    found = codes(service.subtree(db, region=district))
    assert found[0] == "210802"
    assert "210802001001002" in found
    assert "210802002001" in found
    assert not any(code.startswith("210882") for code in found)
    assert codes(service.subtree(db, region=district, level=RegionLevel.grid)) == [
        "210802001001001",
        "210802001001002",
    ]
    grid = service.get_region(db, code="210802001001001")
    assert codes(service.subtree(db, region=grid)) == ["210802001001001"]


def test_subtree_queries_use_the_path_index(db: Session, backend: str) -> None:
    load_regions(db)
    district = service.get_region(db, code="210802")
    stmt = select(Region.id).where(service.subtree_clause(Region.path, district.path))
    compiled = stmt.compile(db.get_bind(), compile_kwargs={"literal_binds": True})
    if backend == "sqlite":
        plan = " ".join(str(row) for row in db.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    else:
        # Tiny tables make a sequential scan cheaper; forbid it to prove the index can serve the range
        # (it could not under a locale collation, which is why the column uses collation "C").
        db.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(str(row) for row in db.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_region_path" in plan, plan


def test_reimporting_the_same_file_changes_nothing(db: Session) -> None:
    load_regions(db)
    before = {r.code: (r.path, r.updated_at) for r in db.execute(select(Region)).scalars()}
    report = load_regions(db)
    assert (report.imported, report.updated, report.rejected, report.unchanged) == (0, 0, 0, 12)
    db.expire_all()
    assert {r.code: (r.path, r.updated_at) for r in db.execute(select(Region)).scalars()} == before


def test_parents_may_come_after_their_children_in_the_file(db: Session) -> None:
    lines = REGIONS_CSV.strip().splitlines()
    report = load_regions(db, "\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    assert report.rejected == 0
    assert service.get_region(db, code="210882001001001").path.startswith("/210800/210882/")


def test_bad_rows_are_rejected_with_reasons_and_the_rest_imported(db: Session) -> None:
    text_ = (
        "code,name,level,parent_code\n"
        "210800,营口市,city,\n"  # line 2
        "210802,站前区,district,210800\n"
        "210802001,建设街道,street,210802\n"
        "210802001001,龙山社区,community,210802001\n"
        "210803,西市区,district,219999\n"  # 6: unknown parent
        "210804,鲅鱼圈区,county,210800\n"  # 7: bad level
        "210802002,跃进街道,community,210802\n"  # 8: community under a district
        "210811001,老边街道,street,210802\n"  # 9: does not extend parent's code
        "210802,站前区,district,210800\n"  # 10: repeated code
        "21080A,x,district,210800\n"  # 11: not digits
        "210802001001001,第1网格,grid,210802001009\n"  # 12: parent unknown
        "210802001002,福安社区,community,210802001\n"  # 13: fine
        "210802001002001,第1网格,grid,210802001002\n"  # 14: fine, its parent is line 13
        "210802003,,street,210802\n"  # 15: empty name
        "210802003001,新社区,community,210802003\n"  # 16: its parent was rejected
    )
    report = load_regions(db, text_)
    assert [str(e) for e in report.errors] == [
        "line 6: parent region 219999 does not exist; import it first or in the same file",
        "line 7: level 'county' is not one of city, district, street, community, grid",
        "line 8: parent 210802 is a district, whose children are streets, not communitys",
        "line 9: code 210811001 must extend its parent's code 210802",
        "line 10: code 210802 repeats line 3",
        "line 11: code '21080A' must be 6 to 20 digits (GB/T 2260 style)",
        "line 12: parent region 210802001009 does not exist; import it first or in the same file",
        "line 15: name is empty",
        "line 16: parent region 210802003 does not exist; import it first or in the same file",
    ]
    assert report.imported == 6
    assert report.summary() == "imported 6, updated 0, rejected 9"


def test_moving_a_region_moves_its_whole_subtree(db: Session) -> None:
    # Below the district level codes extend their parent's, so only a district can change hands, e.g. when a
    # county-level city is transferred to another prefecture.
    load_regions(db)
    moved = "code,name,level,parent_code\n211100,盘锦市,city,\n210882,大石桥市,district,211100\n"
    report = load_regions(db, moved)
    assert (report.imported, report.updated, report.rejected) == (1, 1, 0)
    db.expire_all()
    grid = service.get_region(db, code="210882001001001")
    assert grid.path == "/211100/210882/210882001/210882001001/210882001001001/"
    new_city = service.get_region(db, code="211100")
    assert "210882001001001" in codes(service.subtree(db, region=new_city))
    old_city = service.get_region(db, code="210800")
    assert not any(c.startswith("210882") for c in codes(service.subtree(db, region=old_city)))


def test_a_region_cannot_move_under_its_own_descendant(db: Session) -> None:
    load_regions(db)
    text_ = "code,name,level,parent_code\n210802001,建设街道,street,210802001001\n"
    report = load_regions(db, text_)
    assert report.rejected == 1
    assert "parent 210802001001 is a community" in report.errors[0].reason
