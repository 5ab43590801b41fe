"""`fangkong import regions`: the region tree from a CSV file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fangkong.core.cli import run_csv_import


def import_regions_cmd(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GBK) or .xlsx with code,name,level,parent_code")],
) -> None:
    """Import the region tree (city → district → street → community → grid), upserting by code."""
    from fangkong.regions.service import REGION_COLUMNS, import_regions

    run_csv_import(
        file, label="regions", required=REGION_COLUMNS,
        importer=lambda db, rows, report: import_regions(db, rows=rows, report=report),
    )  # fmt: skip


def register(app: typer.Typer, imports: typer.Typer) -> None:
    imports.command("regions")(import_regions_cmd)
