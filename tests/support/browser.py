"""What the browser tests' fixtures (tests/browser/conftest.py) hand over, and a layout helper."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fangkong.demo import city as demo


def box_of(element: Any) -> dict[str, float]:
    """The bounding box of a visible element (Playwright's is None for a hidden one)."""
    box = element.bounding_box()
    assert box is not None
    return dict(box)


@dataclass(frozen=True)
class DemoCity:
    """What the live server's database holds: the demo city and one account per role (see fangkong.demo)."""

    accounts: dict[str, demo.DemoAccount]  # by username, which is the role value
    resident_ref: str
    resident_name: str
    password: str = demo.DEMO_PASSWORD


@dataclass(frozen=True)
class LiveVenue:
    """A venue of the demo venue operator in the live server's database."""

    ref: str
    name: str
    token: str
    capacity: int | None

    @property
    def scan_path(self) -> str:
        """The path the poster's QR code carries."""
        return f"/v/{self.token}"
