"""The running installation: settings, database and keys, opened once per process.

Opening a runtime brings the schema to head (a command against a new database creates it) and checks that the
secret key is the one the database was created with: with the wrong key every ID number would be unreadable, and
new rows encrypted with it would be mixed with old ones, so we refuse to start instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core import migrate
from fangkong.core.config import Settings, get_settings
from fangkong.core.crypto import Keyring
from fangkong.core.db import Database, make_engine
from fangkong.core.errors import ConfigurationError
from fangkong.core.models import SystemSetting

FINGERPRINT_KEY = "secret_key_fingerprint"


@dataclass
class Runtime:
    settings: Settings
    database: Database
    keys: Keyring


_current: Runtime | None = None


def check_key_fingerprint(db: Session, keys: Keyring) -> None:
    setting = db.execute(select(SystemSetting).where(SystemSetting.key == FINGERPRINT_KEY)).scalar_one_or_none()
    if setting is None:
        db.add(SystemSetting(key=FINGERPRINT_KEY, value=keys.fingerprint))
        db.flush()
    elif setting.value != keys.fingerprint:
        raise ConfigurationError(
            "FANGKONG_SECRET_KEY is not the key this database was created with "
            f"(database expects key fingerprint {setting.value}, got {keys.fingerprint}); "
            "set FANGKONG_SECRET_KEY or FANGKONG_SECRET_FILE to the original key"
        )


def open_runtime(settings: Settings | None = None, *, migrate_schema: bool = True) -> Runtime:
    settings = settings or get_settings()
    engine = make_engine(settings.sqlalchemy_url())
    if migrate_schema:
        migrate.upgrade(engine)
    keys = Keyring.from_secret(settings.resolve_secret())
    database = Database(engine)
    with database.unit_of_work() as db:
        check_key_fingerprint(db, keys)
    return Runtime(settings=settings, database=database, keys=keys)


def get_runtime() -> Runtime:
    global _current
    if _current is None:
        _current = open_runtime()
    return _current


def set_runtime(runtime: Runtime | None) -> None:
    """Install a runtime (tests bind one to a rolled-back connection); None forgets it."""
    global _current
    _current = runtime
