from sqlalchemy.orm import DeclarativeBase

from vitrina_kit.db import new_metadata


class Base(DeclarativeBase):
    """Base of the billing's own tables."""

    metadata = new_metadata()
