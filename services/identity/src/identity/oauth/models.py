from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from identity.database import Base


class RateLimitWindow(Base):
    """How many token requests one bucket (a client id, a source address) made in one fixed
    window. In PostgreSQL, not in memory, so that every replica counts against one limit."""

    __tablename__ = "token_rate_limits"

    bucket: Mapped[str] = mapped_column(String(300), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), primary_key=True, index=True
    )
    hits: Mapped[int] = mapped_column(Integer)
