from sqlalchemy.orm import DeclarativeBase

from vitrina_kit.db import new_metadata


class Base(DeclarativeBase):
    """Base of the identity's own tables."""

    metadata = new_metadata()
