"""Signing keys at rest: private JWKs encrypted with a key from the settings, never in clear.

``cryptography``'s MultiFernet, so the encryption key itself can rotate: the first key of the
setting encrypts, every key decrypts, and :meth:`KeyVault.reencrypt` moves old ciphertexts to
the first key (identity does it for every stored key at start-up).
"""

from __future__ import annotations

import json
from typing import Any, cast

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class KeyVaultError(Exception):
    """A stored key cannot be decrypted with any configured key encryption key."""


class KeyVault:
    def __init__(self, encryption_keys: str) -> None:
        keys = [key.strip() for key in encryption_keys.split(",") if key.strip()]
        if not keys:
            raise ValueError("at least one key encryption key is needed")
        self._primary = Fernet(keys[0])
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, jwk: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(jwk).encode()).decode()

    def decrypt(self, ciphertext: str) -> dict[str, Any]:
        try:
            return cast(dict[str, Any], json.loads(self._fernet.decrypt(ciphertext.encode())))
        except InvalidToken as error:
            raise KeyVaultError("no configured key encryption key opens this key") from error

    def is_current(self, ciphertext: str) -> bool:
        """Is ``ciphertext`` encrypted with the first (newest) key encryption key."""
        try:
            self._primary.decrypt(ciphertext.encode())
        except InvalidToken:
            return False
        return True

    def reencrypt(self, ciphertext: str) -> str:
        """The same plaintext under the first (newest) key encryption key."""
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken as error:
            raise KeyVaultError("no configured key encryption key opens this key") from error
