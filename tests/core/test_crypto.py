import pytest

from fangkong.core.crypto import DecryptionError, Keyring
from fangkong.core.errors import ConfigurationError

SECRET = "a-secret-key-of-enough-length"


def test_encryption_round_trips_and_never_repeats_a_ciphertext() -> None:
    keys = Keyring.from_secret(SECRET)
    first = keys.cipher.encrypt("210802199003071223", field="person.id_number")
    second = keys.cipher.encrypt("210802199003071223", field="person.id_number")
    assert first != second  # random nonce: equal values are not visible as equal ciphertexts
    assert b"210802199003071223" not in first
    assert keys.cipher.decrypt(first, field="person.id_number") == "210802199003071223"


def test_a_ciphertext_does_not_decrypt_with_another_key_or_in_another_field() -> None:
    keys = Keyring.from_secret(SECRET)
    blob = keys.cipher.encrypt("13812345678", field="person.phone")
    with pytest.raises(DecryptionError):
        Keyring.from_secret(SECRET + "x").cipher.decrypt(blob, field="person.phone")
    with pytest.raises(DecryptionError):
        keys.cipher.decrypt(blob, field="person.id_number")


def test_an_altered_ciphertext_is_detected() -> None:
    keys = Keyring.from_secret(SECRET)
    blob = bytearray(keys.cipher.encrypt("13812345678", field="person.phone"))
    blob[-1] ^= 1
    with pytest.raises(DecryptionError):
        keys.cipher.decrypt(bytes(blob), field="person.phone")


def test_lookup_hashes_are_stable_for_a_key_and_differ_between_keys_and_fields() -> None:
    keys = Keyring.from_secret(SECRET)
    digest = keys.hasher.digest("13812345678", field="person.phone")
    assert digest == Keyring.from_secret(SECRET).hasher.digest("13812345678", field="person.phone")
    assert digest != Keyring.from_secret(SECRET + "x").hasher.digest("13812345678", field="person.phone")
    assert digest != keys.hasher.digest("13812345678", field="person.id_number")


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="at least 16 characters"):
        Keyring.from_secret("short")
