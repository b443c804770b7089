from __future__ import annotations

from datetime import datetime
from typing import Literal

from identity.keys import domain
from identity.keys.models import SigningKey
from vitrina_kit.api import ResponseModel

KeyState = Literal["pending", "signing", "retired"]


class KeyRead(ResponseModel):
    kid: str
    algorithm: str
    state: KeyState
    created_at: datetime
    activates_at: datetime
    retires_at: datetime | None
    expires_at: datetime | None

    @classmethod
    def of(cls, key: SigningKey, now: datetime) -> KeyRead:
        state: KeyState = (
            "pending"
            if key.activates_at > now
            else "signing"
            if domain.signs_at(key, now)
            else "retired"
        )
        return cls(
            kid=key.kid,
            algorithm=key.algorithm,
            state=state,
            created_at=key.created_at,
            activates_at=key.activates_at,
            retires_at=key.retires_at,
            expires_at=key.expires_at,
        )


class KeyList(ResponseModel):
    items: list[KeyRead]
