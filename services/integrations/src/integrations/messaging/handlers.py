"""The integrations service's event map: what it does with events of other services (none yet)."""

from collections.abc import Mapping

from vitrina_contracts.events.base import Event
from vitrina_kit.consumer import Handler

HANDLERS: Mapping[type[Event], Handler] = {}
