"""Every topic, who owns it, who reads it, and which event types it carries.

Read it top to bottom: it is the map of Vitrina's events (DESIGN.md, "Services" and "Events").

Partitions: 6 where traffic grows with customers and subscriptions, 3 for low-volume topics.
Retention (``retention_ms``, Kafka's ``retention.ms``):
- ``FOREVER`` (-1) for identity.organizations and catalog.products: every event there is a full
  snapshot and the topics are small, so a new service (or a rebuilt projection) can replay them
  from the beginning instead of asking the owner over HTTP;
- ``MONEY`` (30 days) for billing topics and bank statements: a consumer broken over a month-end
  close can still catch up, or replay, after the fix;
- ``DEFAULT`` (7 days) for the rest.
``None`` would leave the broker's default; no topic uses it.

``consumers`` lists the services that read a topic, as DESIGN.md's Services table says; the
AsyncAPI document gets a ``receive`` operation for each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from vitrina_contracts.events import billing, catalog, identity, integrations, orders
from vitrina_contracts.events.base import Event

DAY_MS = 24 * 60 * 60 * 1000
DEFAULT = 7 * DAY_MS
MONEY = 30 * DAY_MS
FOREVER = -1

RETRY_STAGES: tuple[str, ...] = ("10s", "1m", "10m")
"""The default delayed-retry stages, by delay: an event that keeps failing waits 10 seconds, then
a minute, then ten minutes (in ``<topic>.retry.10s`` and so on) before it is dead-lettered.
A stage's topic is named after its delay; consumers may be configured with other stages."""


@dataclass(frozen=True)
class Topic:
    """A Kafka topic: its key, its owner (the only producer), its readers and its event types."""

    name: str
    key: str
    """What the message key is (always the aggregate id, i.e. the envelope's ``subject``)."""
    owner: str
    partitions: int
    retention_ms: int | None
    events: tuple[type[Event], ...]
    consumers: tuple[str, ...] = ()

    @property
    def dlq(self) -> str:
        """The dead-letter topic for events of this topic that cannot be processed."""
        return f"{self.name}.dlq"

    def retry_topic(self, stage: str) -> str:
        """The delayed-retry topic of ``stage`` (a delay such as ``1m``): ``<topic>.retry.1m``."""
        return f"{self.name}.retry.{stage}"

    @property
    def retry_topics(self) -> tuple[str, ...]:
        """The delayed-retry topics of the default :data:`RETRY_STAGES`, shortest wait first."""
        return tuple(self.retry_topic(stage) for stage in RETRY_STAGES)


TOPICS: tuple[Topic, ...] = (
    Topic(
        name=identity.ORGANIZATIONS,
        key="organization id",
        owner="identity",
        partitions=3,
        retention_ms=FOREVER,
        events=(identity.OrganizationRegistered, identity.OrganizationUpdated),
        consumers=("catalog", "orders", "billing", "integrations"),
    ),
    Topic(
        name=catalog.PRODUCTS,
        key="product id",
        owner="catalog",
        partitions=3,
        retention_ms=FOREVER,
        events=(
            catalog.ProductPublished,
            catalog.ProductRevised,
            catalog.ProductRetired,
            catalog.PlanPriceScheduled,
        ),
        consumers=("orders", "billing"),
    ),
    Topic(
        name=orders.ORDERS,
        key="order id",
        owner="orders",
        partitions=6,
        retention_ms=DEFAULT,
        events=(orders.OrderPlaced, orders.OrderCompleted, orders.OrderRejected),
    ),
    Topic(
        name=orders.SUBSCRIPTIONS,
        key="subscription id",
        owner="orders",
        partitions=6,
        retention_ms=DEFAULT,
        events=(
            orders.SubscriptionCreated,
            orders.SubscriptionActivated,
            orders.SubscriptionChanged,
            orders.SubscriptionSuspended,
            orders.SubscriptionResumed,
            orders.SubscriptionCancelled,
            orders.SubscriptionExpired,
        ),
        consumers=("billing", "integrations"),
    ),
    Topic(
        name=billing.INVOICES,
        key="document id (invoice, closing document or credit note)",
        owner="billing",
        partitions=6,
        retention_ms=MONEY,
        events=(
            billing.InvoiceIssued,
            billing.InvoicePaid,
            billing.InvoiceOverdue,
            billing.InvoiceVoided,
            billing.ClosingDocumentIssued,
            billing.CreditNoteIssued,
        ),
        consumers=("orders", "integrations"),
    ),
    Topic(
        name=billing.PAYMENTS,
        key="payment id",
        owner="billing",
        partitions=6,
        retention_ms=MONEY,
        events=(billing.PaymentReceived, billing.PaymentAllocated, billing.PaymentUnmatched),
        consumers=("integrations",),
    ),
    Topic(
        name=billing.SETTLEMENTS,
        key="settlement id",
        owner="billing",
        partitions=3,
        retention_ms=MONEY,
        events=(billing.SettlementIssued,),
    ),
    Topic(
        name=integrations.EDO,
        key="billing document id",
        owner="integrations",
        partitions=6,
        retention_ms=DEFAULT,
        events=(
            integrations.EdoDocumentSent,
            integrations.EdoDocumentDelivered,
            integrations.EdoDocumentSigned,
            integrations.EdoDocumentRejected,
            integrations.EdoDocumentFailed,
        ),
    ),
    Topic(
        name=integrations.BANK,
        key="bank payment id",
        owner="integrations",
        partitions=3,
        retention_ms=MONEY,
        events=(integrations.BankPaymentImported,),
        consumers=("billing",),
    ),
    Topic(
        name=integrations.PROVISIONING,
        key="subscription id",
        owner="integrations",
        partitions=6,
        retention_ms=DEFAULT,
        events=(integrations.ProvisioningSucceeded, integrations.ProvisioningFailed),
        consumers=("orders",),
    ),
)


def _index(topics: tuple[Topic, ...]) -> tuple[dict[str, Topic], dict[str, type[Event]]]:
    # Checked at import, so a misregistered event fails every service's start, not one consumer.
    by_name: dict[str, Topic] = {}
    by_type: dict[str, type[Event]] = {}
    for t in topics:
        if t.name in by_name:
            raise RuntimeError(f"topic {t.name} is registered twice")
        by_name[t.name] = t
        for cls in t.events:
            if cls.topic != t.name:
                raise RuntimeError(f"{cls.__name__}.topic is {cls.topic!r}, registered in {t.name}")
            if cls.event_type in by_type:
                raise RuntimeError(f"event type {cls.event_type} is registered twice")
            by_type[cls.event_type] = cls
    return by_name, by_type


_BY_NAME, _BY_TYPE = _index(TOPICS)

EVENT_TYPES: Mapping[str, type[Event]] = MappingProxyType(_BY_TYPE)
"""Every event type string and the model of its ``data``."""


def topic(name: str) -> Topic:
    """The topic called ``name``.

    Raises:
        KeyError: no such topic.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no topic named {name!r}") from None


def event_class(event_type: str) -> type[Event] | None:
    """The model of ``event_type``'s data, or None for a type this version does not know."""
    return EVENT_TYPES.get(event_type)
