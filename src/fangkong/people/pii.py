"""How a person's ID number and phone are kept: AES-GCM ciphertext plus an HMAC lookup hash, never in clear.

The field names are bound into both, so a ciphertext or hash of one field is useless in another.
"""

from __future__ import annotations

from fangkong.core.crypto import Keyring
from fangkong.people.models import Person

ID_FIELD = "person.id_number"
PHONE_FIELD = "person.phone"


def id_lookup_hash(keys: Keyring, normalized_number: str) -> bytes:
    return keys.hasher.digest(normalized_number, field=ID_FIELD)


def phone_lookup_hash(keys: Keyring, normalized_phone: str) -> bytes:
    return keys.hasher.digest(normalized_phone, field=PHONE_FIELD)


def encrypt_id_number(keys: Keyring, normalized_number: str) -> bytes:
    return keys.cipher.encrypt(normalized_number, field=ID_FIELD)


def encrypt_phone(keys: Keyring, normalized_phone: str) -> bytes:
    return keys.cipher.encrypt(normalized_phone, field=PHONE_FIELD)


def reveal_id_number(person: Person, *, keys: Keyring) -> str:
    """The clear ID number. Whoever shows it to an official must audit that read."""
    return keys.cipher.decrypt(person.id_number_enc, field=ID_FIELD)


def reveal_phone(person: Person, *, keys: Keyring) -> str | None:
    return keys.cipher.decrypt(person.phone_enc, field=PHONE_FIELD) if person.phone_enc else None
