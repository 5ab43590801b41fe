import json
from pathlib import Path

from typer.testing import CliRunner

from fangkong.core.runtime import Runtime

from .support.factories import REGIONS_CSV, people_csv
from .support.personas import LI_QIANG, WANG_FANG
from .support.web import run

PEOPLE = people_csv(
    f"wang-fang,王芳,{WANG_FANG.id_number},13812345678,210802001001001,H1,渤海大街12号",
    "zhao-min,赵敏,210802199003071224,,210802001001001,,",
    f"li-qiang,李强,{LI_QIANG.id_number},,999999,,",
    f"wang-fang,王芳,{LI_QIANG.id_number},,210802001001001,,",
)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_reports_each_bad_row_and_exits_1(cli: CliRunner, tmp_path: Path) -> None:
    assert run(cli, "import", "regions", write(tmp_path, "r.csv", REGIONS_CSV)).exit_code == 0
    result = run(cli, "import", "people", write(tmp_path, "p.csv", PEOPLE))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "line 3: invalid ID number: check character is 4 but should be 3; the number was probably mistyped",
        "line 4: region 999999 does not exist",
        "line 5: ref wang-fang repeats line 2",
        "imported 1, updated 0, rejected 3",
    ]


def test_reimporting_a_clean_file_exits_0_and_changes_nothing(cli: CliRunner, tmp_path: Path) -> None:
    regions = write(tmp_path, "r.csv", REGIONS_CSV)
    first = run(cli, "import", "regions", regions)
    assert first.exit_code == 0
    assert first.stdout.strip() == "imported 12, updated 0, rejected 0"
    again = run(cli, "import", "regions", regions)
    assert again.exit_code == 0
    assert again.stdout.splitlines() == ["unchanged 12", "imported 0, updated 0, rejected 0"]


def test_a_file_with_a_wrong_header_is_refused_whole(cli: CliRunner, tmp_path: Path) -> None:
    bad = write(tmp_path, "p.csv", "ref,name,id_number,phonne,region_code,household_ref,address\n")
    result = run(cli, "import", "people", bad)
    assert result.exit_code == 2
    assert "missing column(s) phone; unknown column(s) phonne" in result.stderr


def test_a_missing_file_is_a_clear_error(cli: CliRunner, tmp_path: Path) -> None:
    result = run(cli, "import", "people", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2
    assert "nope.csv: no such file" in result.stderr


def test_person_show_prints_masked_json(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "import", "regions", write(tmp_path, "r.csv", REGIONS_CSV))
    run(cli, "import", "people", write(tmp_path, "p.csv", PEOPLE))
    result = run(cli, "person", "show", "wang-fang", "--json")
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    assert shown["id_number"] == "210802********1223"
    assert shown["phone"] == "138****5678"
    assert shown["region"] == {"code": "210802001001001", "name": "第1网格", "level": "grid"}
    assert WANG_FANG.id_number not in result.stdout


def test_person_show_of_an_unknown_ref_exits_1(cli: CliRunner) -> None:
    result = run(cli, "person", "show", "nobody", "--json")
    assert result.exit_code == 1
    assert "no person with ref nobody" in result.stderr


def test_demo_fills_a_city_once_per_seed(cli: CliRunner) -> None:
    first = run(cli, "demo", "--people", "40", "--seed", "3")
    assert first.exit_code == 0
    assert "people imported 40, updated 0, unchanged 0" in first.stdout
    assert "outbreak: " in first.stdout
    assert "a confirmed case" in first.stdout
    again = run(cli, "demo", "--people", "40", "--seed", "3")
    assert "people imported 0, updated 0, unchanged 40" in again.stdout
    assert "outbreak: the database holds cases already" in again.stdout
    skipped = run(cli, "demo", "--if-empty")
    assert "already holds people" in skipped.stdout
    other = run(cli, "demo", "--people", "40", "--seed", "4")
    assert other.exit_code == 2
    assert "holds the demo city of seed 3" in other.stderr


def test_the_demo_without_its_outbreak_has_no_cases_and_no_tests(cli: CliRunner, runtime: Runtime) -> None:
    # The benchmarks use this: they give people the facts they measure with, and nothing else.
    from sqlalchemy import func, select

    from fangkong.cases.models import Case
    from fangkong.testing.models import TestResult

    plain = run(cli, "demo", "--people", "40", "--seed", "3", "--no-outbreak")
    assert plain.exit_code == 0
    assert "outbreak" not in plain.stdout
    with runtime.database.unit_of_work() as db:
        assert db.execute(select(func.count()).select_from(Case)).scalar_one() == 0
        assert db.execute(select(func.count()).select_from(TestResult)).scalar_one() == 0


def test_an_import_leaves_one_audit_row_with_its_counts_and_reason(
    cli: CliRunner, tmp_path: Path, runtime: Runtime
) -> None:
    from sqlalchemy import select

    from fangkong.auth.audit_models import AuditAction, AuditEvent

    run(cli, "import", "regions", write(tmp_path, "r.csv", REGIONS_CSV))
    run(cli, "import", "people", write(tmp_path, "p.csv", PEOPLE), "--reason", "2022 census update")
    with runtime.database.unit_of_work() as db:
        (event,) = db.execute(select(AuditEvent).where(AuditEvent.action == AuditAction.person_import)).scalars()
    assert (event.actor_username, event.purpose) == ("system", "2022 census update")
    assert event.details == "imported 1, updated 0, rejected 3, unchanged 0"
    assert event.entity_ref.endswith("p.csv")
