"""Token signing keys: creation, rotation, the JWKS. Callers own the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncSession

from identity.keys import domain, repository
from identity.keys.models import SigningKey
from identity.settings import IdentitySettings
from vitrina_kit.vault import Vault, vault_for

ALGORITHM = "ES256"
CURVE = "P-256"


@dataclass(frozen=True)
class ActiveKey:
    """The key that signs now, ready to sign."""

    kid: str
    private_key: ECKey


def vault(settings: IdentitySettings) -> Vault:
    return vault_for(settings.key_encryption_keys.get_secret_value())


@lru_cache(maxsize=32)
def _private_key(ciphertext: str, encryption_keys: str) -> ECKey:
    # Decrypting and parsing once per key and process, not once per token.
    return ECKey.import_key(vault_for(encryption_keys).decrypt(ciphertext))


def public_jwk(key: SigningKey) -> dict[str, Any]:
    """The key as the JWKS publishes it."""
    return {**key.public_jwk, "kid": key.kid, "use": "sig", "alg": key.algorithm}


async def published_keys(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
    """The public keys in the JWKS at ``now``: signing, about to sign, or with live tokens."""
    return [public_jwk(key) for key in await repository.live_keys(session, now)]


async def rotate(session: AsyncSession, settings: IdentitySettings, now: datetime) -> SigningKey:
    """Make a new signing key; the current ones retire when it activates."""
    await repository.lock_rotation(session)
    return await _rotate_locked(session, settings, now)


async def _rotate_locked(
    session: AsyncSession, settings: IdentitySettings, now: datetime
) -> SigningKey:
    await repository.delete_expired(session, now)
    keys = await repository.live_keys(session, now)
    plan = domain.plan_rotation(
        keys,
        now,
        publish_ahead=timedelta(seconds=settings.signing_key_publish_ahead_seconds),
        token_lifetime=timedelta(seconds=settings.token_lifetime_seconds),
        grace=timedelta(seconds=settings.signing_key_grace_seconds),
    )
    by_kid = {key.kid: key for key in keys}
    for retirement in plan.retirements:
        by_kid[retirement.kid].retires_at = retirement.retires_at
        by_kid[retirement.kid].expires_at = retirement.expires_at
    private = ECKey.generate_key(CURVE, private=True)
    key = SigningKey(
        kid=private.thumbprint(),
        algorithm=ALGORITHM,
        private_jwk_encrypted=vault(settings).encrypt(private.as_dict(private=True)),
        public_jwk=private.as_dict(private=False),
        created_at=now,
        activates_at=plan.activates_at,
    )
    session.add(key)
    await session.flush()
    return key


async def ensure_signing_key(
    session: AsyncSession, settings: IdentitySettings, now: datetime
) -> None:
    """Rotate if it is time: no key yet (first start), or the signing one grew old."""
    max_age = timedelta(days=settings.signing_key_rotation_days)
    if not domain.needs_rotation(await repository.live_keys(session, now), now, max_age=max_age):
        return
    await repository.lock_rotation(session)
    # Another replica may have rotated while this one waited for the lock.
    if domain.needs_rotation(await repository.live_keys(session, now), now, max_age=max_age):
        await _rotate_locked(session, settings, now)


async def signing_key(
    session: AsyncSession, settings: IdentitySettings, now: datetime
) -> ActiveKey:
    """The key to sign a token with at ``now``, rotating first if it is time."""
    await ensure_signing_key(session, settings, now)
    key = domain.signing_key(await repository.live_keys(session, now), now)
    assert key is not None, "ensure_signing_key leaves a key that signs now"
    encryption_keys = settings.key_encryption_keys.get_secret_value()
    return ActiveKey(
        kid=key.kid, private_key=_private_key(key.private_jwk_encrypted, encryption_keys)
    )


async def reencrypt_all(session: AsyncSession, settings: IdentitySettings) -> int:
    """Move every stored private key under the newest key encryption key; how many moved."""
    moved = 0
    for key in await repository.all_keys(session):
        if not vault(settings).is_current(key.private_jwk_encrypted):
            key.private_jwk_encrypted = vault(settings).reencrypt(key.private_jwk_encrypted)
            moved += 1
    await session.flush()
    return moved
