"""Token encryption at rest: Fernet/MultiFernet, rotation, and clear errors for wrong or malformed keys."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from stella.config import ConfigError
from stella.crypto import TokenCipher, TokenDecryptionError

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
TOKEN = "ya29.secret-access-token-value"


def test_ciphertext_never_contains_the_token_and_decrypts_back():
    cipher = TokenCipher((OLD,))
    sealed = cipher.encrypt(TOKEN)
    assert TOKEN not in sealed and sealed.startswith("gAAAA")
    assert cipher.decrypt(sealed) == TOKEN


def test_every_listed_key_decrypts_but_only_the_first_encrypts():
    sealed_old = TokenCipher((OLD,)).encrypt(TOKEN)
    both = TokenCipher((NEW, OLD))
    assert both.decrypt(sealed_old) == TOKEN
    assert TokenCipher((NEW,)).decrypt(both.encrypt(TOKEN)) == TOKEN
    with pytest.raises(TokenDecryptionError):
        TokenCipher((OLD,)).decrypt(both.encrypt(TOKEN))


def test_rotation_moves_a_value_to_the_first_key():
    sealed_old = TokenCipher((OLD,)).encrypt(TOKEN)
    rotated = TokenCipher((NEW, OLD)).rotate(sealed_old)
    assert TokenCipher((NEW,)).decrypt(rotated) == TOKEN
    with pytest.raises(TokenDecryptionError):
        TokenCipher((OLD,)).decrypt(rotated)


def test_a_wrong_key_is_a_clear_error_without_the_ciphertext_or_token():
    sealed = TokenCipher((OLD,)).encrypt(TOKEN)
    with pytest.raises(TokenDecryptionError) as caught:
        TokenCipher((NEW,)).decrypt(sealed)
    message = str(caught.value)
    assert "STELLA_ENCRYPTION_KEYS" in message and sealed not in message and TOKEN not in message
    assert isinstance(caught.value, ConfigError)


def test_rotating_a_value_no_key_can_read_fails():
    with pytest.raises(TokenDecryptionError):
        TokenCipher((NEW,)).rotate(TokenCipher((OLD,)).encrypt(TOKEN))


@pytest.mark.parametrize("keys", [(), ("not-a-fernet-key",)])
def test_missing_or_malformed_keys_are_a_config_error(keys):
    with pytest.raises(ConfigError):
        TokenCipher(keys)
