"""Connector secrets and OAuth tokens at rest: encrypted with a key from the settings.

``cryptography``'s MultiFernet, as identity does for its signing keys, so the encryption key itself
can rotate: the first key of the setting encrypts, every key decrypts, and
:meth:`SecretVault.reencrypt` moves an old ciphertext to the first key (the re-encryption job does
it for every stored value).
"""

from __future__ import annotations

import json
from functools import cache
from typing import cast

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretVaultError(Exception):
    """A stored value cannot be decrypted with any configured key."""


class SecretVault:
    def __init__(self, encryption_keys: str) -> None:
        keys = [key.strip() for key in encryption_keys.split(",") if key.strip()]
        if not keys:
            raise ValueError("at least one connector encryption key is needed")
        self._primary = Fernet(keys[0])
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, secrets: dict[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(secrets, sort_keys=True).encode()).decode()

    def decrypt(self, ciphertext: str) -> dict[str, str]:
        try:
            return cast(dict[str, str], json.loads(self._fernet.decrypt(ciphertext.encode())))
        except InvalidToken as error:
            raise SecretVaultError("no configured connector encryption key opens it") from error

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
            raise SecretVaultError("no configured connector encryption key opens it") from error


@cache
def vault_for(encryption_keys: str) -> SecretVault:
    """One vault per key setting (building Fernets is cheap, but settings are read once)."""
    return SecretVault(encryption_keys)
