from __future__ import annotations

import re
from uuid import UUID

import pytest

from vitrina_contracts.events import base
from vitrina_contracts.events.base import Event
from vitrina_contracts.registry import EVENT_TYPES, TOPICS, Topic, event_class, topic

SERVICES = {"identity", "catalog", "orders", "billing", "integrations"}

# DESIGN.md's table of v1 event types, topic by topic: the contract this package must keep.
DESIGN_TABLE = {
    "identity.organizations": ["organization.registered", "organization.updated"],
    "catalog.products": [
        "product.published",
        "product.revised",
        "product.retired",
        "plan.price_scheduled",
    ],
    "orders.orders": ["order.placed", "order.completed", "order.rejected"],
    "orders.subscriptions": [
        "subscription.created",
        "subscription.activated",
        "subscription.changed",
        "subscription.suspended",
        "subscription.resumed",
        "subscription.cancelled",
        "subscription.expired",  # added with the Orders issue: a trial or first invoice unpaid
    ],
    "billing.invoices": [
        "invoice.issued",
        "invoice.paid",
        "invoice.overdue",
        "invoice.voided",
        "closing_document.issued",
        "credit_note.issued",
    ],
    "billing.payments": ["payment.received", "payment.allocated", "payment.unmatched"],
    "billing.settlements": ["settlement.issued"],
    "integrations.edo": [
        "edo_document.sent",
        "edo_document.delivered",
        "edo_document.signed",
        "edo_document.rejected",
        "edo_document.failed",
    ],
    "integrations.bank": ["bank_payment.imported"],
    "integrations.provisioning": ["provisioning.succeeded", "provisioning.failed"],
}


def _all_event_classes() -> set[type[Event]]:
    found: set[type[Event]] = set()
    pending = list(Event.__subclasses__())
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_topics_and_event_types_are_those_of_the_design() -> None:
    registered = {
        t.name: [cls.event_type.removeprefix(f"ru.vitrina.{t.owner}.") for cls in t.events]
        for t in TOPICS
    }

    assert registered == DESIGN_TABLE


def test_every_event_class_is_registered_in_exactly_one_topic_that_matches_its_classvar() -> None:
    classes = _all_event_classes()

    assert len(classes) == 34
    for cls in classes:
        homes = [t for t in TOPICS if cls in t.events]
        assert len(homes) == 1, cls
        assert homes[0].name == cls.topic
        assert EVENT_TYPES[cls.event_type] is cls


@pytest.mark.parametrize("t", TOPICS, ids=lambda t: t.name)
def test_topic_is_well_formed(t: Topic) -> None:
    assert t.owner in SERVICES
    assert t.name.startswith(f"{t.owner}.")
    assert t.partitions in (3, 6)
    assert t.retention_ms is not None
    assert t.retention_ms == -1 or t.retention_ms >= 7 * 24 * 3600 * 1000
    assert set(t.consumers) <= SERVICES - {t.owner}
    assert t.dlq == f"{t.name}.dlq"
    assert topic(t.name) is t


def test_money_topics_keep_longer_than_the_default() -> None:
    default = topic("orders.orders").retention_ms
    assert default is not None
    for name in (
        "billing.invoices",
        "billing.payments",
        "billing.settlements",
        "integrations.bank",
    ):
        retention = topic(name).retention_ms
        assert retention is not None
        assert retention > default


def test_consumers_are_those_of_the_services_table() -> None:
    consumed_by: dict[str, set[str]] = {}
    for t in TOPICS:
        for service in t.consumers:
            consumed_by.setdefault(service, set()).add(t.name)

    assert consumed_by == {
        "catalog": {"identity.organizations"},
        "orders": {
            "identity.organizations",
            "catalog.products",
            "billing.invoices",
            "integrations.provisioning",
        },
        "billing": {
            "identity.organizations",
            "catalog.products",
            "orders.subscriptions",
            "integrations.bank",
        },
        "integrations": {
            "identity.organizations",
            "billing.invoices",
            "billing.payments",
            "orders.subscriptions",
        },
    }


@pytest.mark.parametrize("cls", sorted(EVENT_TYPES.values(), key=str), ids=lambda c: c.__name__)
def test_event_class_is_complete(cls: type[Event]) -> None:
    owner = topic(cls.topic).owner
    assert re.fullmatch(rf"ru\.vitrina\.{owner}\.[a-z_]+\.[a-z_]+", cls.event_type)
    assert "example" in cls.__dict__, "every event provides its own example"
    assert cls.model_config.get("frozen") is True
    assert cls.model_config.get("extra") == "ignore"
    example = cls.example()
    assert UUID(example.aggregate_id())  # the aggregate id, the Kafka key, is a UUID


def test_lookups() -> None:
    published = EVENT_TYPES["ru.vitrina.catalog.product.published"]

    assert event_class("ru.vitrina.catalog.product.published") is published
    assert event_class("ru.vitrina.catalog.product.teleported") is None
    with pytest.raises(KeyError, match=r"catalog\.nope"):
        topic("catalog.nope")
    with pytest.raises(TypeError):
        EVENT_TYPES["x"] = published  # type: ignore[index]


def test_example_is_abstract_and_every_event_provides_one() -> None:
    # Abstract: a concrete event that forgot its example could not even be instantiated.
    assert "example" in base.Event.__abstractmethods__
    for registered in EVENT_TYPES.values():
        assert not getattr(registered, "__abstractmethods__", frozenset()), registered
