"""FastAPI dependencies shared by every domain's views: the unit of work and the keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_db(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the view returns, rolled back when it raises."""
    with get_runtime(request).database.unit_of_work() as session:
        yield session


def get_keys(request: Request) -> Keyring:
    return get_runtime(request).keys


DbSession = Annotated[Session, Depends(get_db)]
Keys = Annotated[Keyring, Depends(get_keys)]
