"""The catalog's event map: what it does with events of other services.

Empty for now: the catalog consumes ``identity.organizations`` once the Identity issue gives it
partner organizations to keep.
"""

from collections.abc import Mapping

from vitrina_contracts.events.base import Event
from vitrina_kit.consumer import Handler

HANDLERS: Mapping[type[Event], Handler] = {}
