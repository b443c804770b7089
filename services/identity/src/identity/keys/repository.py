from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from identity.keys.models import SigningKey

# Key of the transaction-level advisory lock that serializes rotations across replicas.
_ROTATION_LOCK = 0x1D_4B_E7_50


async def lock_rotation(session: AsyncSession) -> None:
    """Hold the rotation lock until the transaction ends: two replicas deciding to rotate at
    once would otherwise make two keys and retire each other's."""
    await session.execute(select(func.pg_advisory_xact_lock(_ROTATION_LOCK)))


async def live_keys(session: AsyncSession, now: datetime) -> Sequence[SigningKey]:
    """Keys still in the JWKS at ``now`` (signing, waiting to sign, or retired but published),
    oldest first."""
    query = (
        select(SigningKey)
        .where(or_(SigningKey.expires_at.is_(None), SigningKey.expires_at > now))
        .order_by(SigningKey.activates_at, SigningKey.kid)
    )
    return (await session.scalars(query)).all()


async def all_keys(session: AsyncSession) -> Sequence[SigningKey]:
    return (await session.scalars(select(SigningKey).order_by(SigningKey.created_at))).all()


async def delete_expired(session: AsyncSession, now: datetime) -> None:
    """Destroy keys whose every token has expired: they can neither sign nor verify anything."""
    await session.execute(delete(SigningKey).where(SigningKey.expires_at <= now))
