"""Secrets at rest (signing keys, connector credentials, OAuth tokens, webhook secrets): a JSON
object encrypted with a key from the settings, never stored in clear.

``cryptography``'s MultiFernet, so the encryption key itself can rotate: the first key of the
setting encrypts, every key decrypts, and :meth:`Vault.reencrypt` moves an old ciphertext to the
first key (each service re-encrypts what it stores once a new key is configured). The setting is
a comma-separated list of Fernet keys, newest first.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, cast

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class VaultError(Exception):
    """A stored value cannot be decrypted with any configured key."""


class Vault:
    def __init__(self, encryption_keys: str) -> None:
        keys = [key.strip() for key in encryption_keys.split(",") if key.strip()]
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._primary = Fernet(keys[0])
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, secrets: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(secrets, sort_keys=True).encode()).decode()

    def decrypt(self, ciphertext: str) -> dict[str, Any]:
        try:
            return cast(dict[str, Any], json.loads(self._fernet.decrypt(ciphertext.encode())))
        except InvalidToken as error:
            raise VaultError("no configured encryption key opens it") from error

    def is_current(self, ciphertext: str) -> bool:
        """Is ``ciphertext`` encrypted with the first (newest) key."""
        try:
            self._primary.decrypt(ciphertext.encode())
        except InvalidToken:
            return False
        return True

    def reencrypt(self, ciphertext: str) -> str:
        """The same plaintext under the first (newest) key."""
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken as error:
            raise VaultError("no configured encryption key opens it") from error


@cache
def vault_for(encryption_keys: str) -> Vault:
    """One vault per key setting (settings are read once; the Fernets are built once)."""
    return Vault(encryption_keys)
