"""Configuration from environment variables (prefix FANGKONG_)."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from fangkong.core.crypto import generate_secret


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FANGKONG_", extra="ignore")

    database_url: str = "sqlite:///fangkong.db"
    # When unset, a key is generated on first use and kept in a file beside the database (see secret_file).
    secret_key: SecretStr | None = None
    secret_file: Path | None = None
    import_batch_size: int = 5000
    # Check-ins older than this are deleted (CrowdNotifier kept 10 days, Corona-Warn-App 14, NHS 21, TraceTogether
    # 25; 28 covers two incubation periods of tracing look-back).
    checkin_retention_days: int = 28
    # How often the server deletes check-ins past retention (0 turns the job off, e.g. when cron runs
    # `fangkong checkins purge` instead).
    checkin_purge_interval_seconds: int = 3600
    # An offline scanner's clock may run a little fast; later than this ahead of the server is refused.
    checkin_future_skew_seconds: int = 300
    # How often the server recomputes health codes whose phase has ended (0 turns it off; codes are still
    # recomputed whenever they are read).
    code_refresh_interval_seconds: int = 60
    # The city's time zone: pages show times in it (everything is stored in UTC).
    timezone: str = "Asia/Shanghai"
    # Request bodies larger than these are refused with 413 before they are read (web/edge.py): the door's
    # verification and single check-ins are a few hundred bytes, an offline scanner's batch a few thousand rows.
    body_limit_small: int = 16 * 1024
    body_limit_batch: int = 4 * 1024 * 1024
    body_limit_default: int = 1024 * 1024
    # The public "how full is it" page (/occupancy) is computed at most once in this many seconds and shared by
    # every reader (venues/pages.py); 0 computes it for each reader, one computation at a time.
    occupancy_fresh_seconds: float = 10.0
    # ...answered at most this many times a second per process, the others waiting their moment (0: no limit): a
    # flood of even its cached answers would otherwise take the event loop from the code display and the door...
    occupancy_answers_per_second: float = 100.0
    # ...and its pages not yet rendered (a new search, a signed-in reader's layout) rendered at most this often.
    occupancy_renders_per_second: float = 20.0
    # Behind a reverse proxy that sets X-Forwarded-For/-Proto: the proxies' addresses (comma-separated, "*" for
    # any). Empty (the default): those headers are ignored, so no client can choose the address audit rows record.
    forwarded_allow_ips: str = ""

    def sqlalchemy_url(self) -> str:
        """The URL as SQLAlchemy wants it: a plain postgresql:// URL means psycopg 3."""
        url = make_url(self.database_url)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)

    def model_post_init(self, context: object, /) -> None:
        # Paths are fixed once, when the settings are read: a relative SQLite path (and the key file beside it)
        # would otherwise name other files whenever the working directory differs or changes.
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            database = Path(url.database).absolute()
            if str(database) != url.database:
                self.database_url = url.set(database=str(database)).render_as_string(hide_password=False)
        if self.secret_file is not None:
            self.secret_file = self.secret_file.absolute()

    def default_secret_file(self) -> Path:
        """The key file: FANGKONG_SECRET_FILE; else beside a SQLite database; else, for a database server, one per
        server and database in the user's configuration directory (never the working directory)."""
        if self.secret_file is not None:
            return self.secret_file
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(f"{url.database}.secret").absolute()
        config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        name = re.sub(r"[^A-Za-z0-9._-]", "_", f"{url.host or 'localhost'}_{url.port or ''}_{url.database or ''}")
        return Path(config_home).absolute() / "fangkong" / f"{name}.secret"

    def resolve_secret(self) -> str:
        """The master secret: from the environment, else from the key file, else a new key saved there."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.default_secret_file()
        if path.exists():
            return path.read_text(encoding="ascii").strip()
        secret = generate_secret()
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created readable by the owner only, atomically, so a half-written key never exists.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secret + "\n")
        return secret


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def city_zone() -> ZoneInfo:
    """The city's time zone: onset dates start at its midnight, pages show its clock."""
    return ZoneInfo(get_settings().timezone)
