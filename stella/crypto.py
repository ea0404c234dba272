"""Encryption of platform tokens at rest (Fernet / MultiFernet; the first key encrypts, all keys decrypt)."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

from stella.config import ConfigError

EXTENSION_KEY = "stella.token_cipher"


class TokenDecryptionError(ConfigError):
    """Stored tokens cannot be decrypted with the configured keys (a key was lost or changed)."""


class TokenCipher:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ConfigError("No encryption key configured (STELLA_ENCRYPTION_KEYS).")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                "STELLA_ENCRYPTION_KEYS holds a value that is not a Fernet key "
                "(32 url-safe base64-encoded bytes; make one with `flask tokens generate-key`)."
            ) from exc

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise TokenDecryptionError(
                "A stored token cannot be decrypted with the configured STELLA_ENCRYPTION_KEYS. "
                "Restore the key it was encrypted with (list it after the new one to rotate)."
            ) from exc

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt under the first key."""
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise TokenDecryptionError("A stored token cannot be decrypted with any configured key.") from exc


def current_cipher() -> TokenCipher:
    cipher: TokenCipher = current_app.extensions[EXTENSION_KEY]
    return cipher
