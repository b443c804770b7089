"""``vitrina status``: the running marketplace at a glance, from each service's ``/metrics``.

The figures are the dashboards' (deploy/observability/grafana), read straight from the
processes, so no Prometheus is needed: per service whether it answers, its outbox backlog, the
age of the oldest unpublished event and the parked rows; per topic the consumer lag (summed over
the partitions the process owns), handler retries and failures and dead letters; for
integrations the partner webhook deliveries by outcome and the EDO documents by status.

Counters (retries, failures, dead letters, deliveries) count since the process started. A
process that runs the consumer and the relay reports their figures: ``vitrina dev`` runs each
service as ``run``, so its API port has them all. On the Docker stack the published ports are
the APIs' (``api``) and the workers' figures are in Grafana.

The exit status is 1 when a service does not answer, so a script can wait for or check a stack.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
import typer
from rich.markup import escape
from rich.table import Table

from vitrina_cli.operator import (
    BILLING_URL,
    CATALOG_URL,
    IDENTITY_URL,
    INTEGRATIONS_URL,
    ORDERS_URL,
    BillingUrl,
    CatalogUrl,
    IdentityUrl,
    IntegrationsUrl,
    JsonOutput,
    OrdersUrl,
    ServiceFilter,
    ServiceSelection,
    out,
)
from vitrina_cli.ops import _age

METRICS_PATH = "/metrics"
_TIMEOUT = httpx.Timeout(5.0)

# What a handler's give-up looks like in vitrina_consumer_events_total: handed to a delayed
# retry topic after its in-process attempts, or sent to the DLQ.
_FAILED_OUTCOMES = ("retried", "dead_lettered")


@dataclass
class TopicStatus:
    """One consumed topic (as the process names it: the original or a retry topic)."""

    lag: int | None = None
    """Records not processed yet, over the partitions this process owns; None: no lag reported
    (the partitions are another replica's, or no fetch answered yet)."""
    retries: int = 0
    dead_letters: int = 0


@dataclass
class ServiceStatus:
    service: str
    url: str
    up: bool
    error: str | None = None
    outbox_backlog: int | None = None
    """Rows committed, not published; None: the process runs no relay."""
    oldest_unpublished_seconds: float | None = None
    parked: int | None = None
    topics: dict[str, TopicStatus] = field(default_factory=dict)
    handler_failures: int = 0
    """Events whose handler gave up in process: handed to a delayed-retry topic or the DLQ
    (counted by event type, so per service rather than per topic)."""
    webhook_deliveries: dict[str, int] = field(default_factory=dict)
    """Integrations: partner webhook deliveries by outcome (delivered, failed_attempt, ...)."""
    edo_documents: dict[str, int] = field(default_factory=dict)
    """Integrations: EDO documents by status (sent, delivered, signed, ...)."""

    @property
    def lag(self) -> int | None:
        known = [t.lag for t in self.topics.values() if t.lag is not None]
        return sum(known) if known else None


def parse_metrics(service: str, url: str, text: str) -> ServiceStatus:
    """``service``'s status from its ``/metrics`` text (the Prometheus exposition format).

    Series of another ``service`` label are left out (a test process registers several);
    series without one (webhooks, EDO) are the process's own.
    """
    from prometheus_client.parser import text_string_to_metric_families

    status = ServiceStatus(service=service, url=url, up=True)
    topics: defaultdict[str, TopicStatus] = defaultdict(TopicStatus)
    lags: defaultdict[str, int] = defaultdict(int)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if labels.get("service", service) != service:
                continue
            value = sample.value
            match sample.name:
                case "vitrina_outbox_backlog_messages":
                    status.outbox_backlog = int(value)
                case "vitrina_outbox_oldest_unpublished_age_seconds":
                    status.oldest_unpublished_seconds = value
                case "vitrina_outbox_parked_messages":
                    status.parked = int(value)
                case "vitrina_consumer_lag_messages":
                    lags[labels["topic"]] += int(value)
                case "vitrina_consumer_retries_total":
                    topics[labels["topic"]].retries += int(value)
                case "vitrina_dead_letters_total":
                    topics[labels["topic"]].dead_letters += int(value)
                case "vitrina_consumer_events_total" if labels["outcome"] in _FAILED_OUTCOMES:
                    status.handler_failures += int(value)
                case "vitrina_webhook_deliveries_total":
                    outcome = labels["outcome"]
                    status.webhook_deliveries[outcome] = status.webhook_deliveries.get(
                        outcome, 0
                    ) + int(value)
                case "vitrina_edo_documents":
                    status.edo_documents[labels["status"]] = int(value)
    for topic, lag in lags.items():
        topics[topic].lag = lag
    status.topics = dict(sorted(topics.items()))
    return status


def read_status(http: httpx.Client, service: str, url: str) -> ServiceStatus:
    """GET ``url``/metrics: the service's status, or down with the reason."""
    try:
        response = http.get(url.rstrip("/") + METRICS_PATH)
    except httpx.TransportError as error:
        return ServiceStatus(service, url, up=False, error=str(error) or type(error).__name__)
    if response.status_code != 200:
        return ServiceStatus(service, url, up=False, error=f"HTTP {response.status_code}")
    try:
        return parse_metrics(service, url, response.text)
    except ValueError as error:  # not the exposition format: something else on that port
        return ServiceStatus(service, url, up=False, error=f"unreadable /metrics: {error}")


# -- the command ----------------------------------------------------------------------------


def status(
    service: ServiceFilter = None,
    identity_url: IdentityUrl = IDENTITY_URL,
    catalog_url: CatalogUrl = CATALOG_URL,
    orders_url: OrdersUrl = ORDERS_URL,
    billing_url: BillingUrl = BILLING_URL,
    integrations_url: IntegrationsUrl = INTEGRATIONS_URL,
    as_json: JsonOutput = False,
) -> None:
    """Every service up or down, with the backlog the dashboards show: outbox (pending, oldest,
    parked), consumer lag, retries, failures and dead letters per topic, and integrations'
    webhook deliveries and EDO documents. Exit status 1 when a service is down."""
    urls = {
        "identity": identity_url,
        "catalog": catalog_url,
        "orders": orders_url,
        "billing": billing_url,
        "integrations": integrations_url,
    }
    services = ServiceSelection.of(urls, service)
    with httpx.Client(timeout=_TIMEOUT) as http:
        statuses = [read_status(http, name, url) for name, url in services]
    if as_json:
        typer.echo(json.dumps([_as_json(s) for s in statuses]))
    else:
        _show(statuses)
    if not all(s.up for s in statuses):
        raise typer.Exit(1)


def _as_json(status: ServiceStatus) -> dict[str, Any]:
    return asdict(status) | {"lag": status.lag}


def _show(statuses: list[ServiceStatus]) -> None:
    table = Table(header_style="bold", box=None, pad_edge=False)
    table.add_column("service")
    table.add_column("state")
    for column in ("outbox", "oldest", "parked", "lag", "retries", "failed", "dead letters"):
        table.add_column(column, justify="right")
    for s in statuses:
        if not s.up:
            table.add_row(s.service, "[red]down[/]", *[""] * 7)
            continue
        topics = s.topics.values()
        table.add_row(
            s.service,
            "[green]up[/]",
            _count(s.outbox_backlog, warn=False),
            _age(s.oldest_unpublished_seconds) if s.outbox_backlog is not None else "—",
            _count(s.parked),
            _count(s.lag, warn=False),
            _count(sum(t.retries for t in topics), warn=False),
            _count(s.handler_failures),
            _count(sum(t.dead_letters for t in topics)),
        )
    out.print(table)

    busy = [
        (s.service, topic, t)
        for s in statuses
        for topic, t in s.topics.items()
        if t.lag or t.retries or t.dead_letters
    ]
    if busy:
        out.print()
        per_topic = Table(header_style="bold", box=None, pad_edge=False)
        per_topic.add_column("service")
        per_topic.add_column("topic")
        for column in ("lag", "retries", "dead letters"):
            per_topic.add_column(column, justify="right")
        for name, topic, t in busy:
            per_topic.add_row(
                name,
                escape(topic),
                _count(t.lag, warn=False),
                _count(t.retries, warn=False),
                _count(t.dead_letters),
            )
        out.print(per_topic)

    for s in statuses:
        if s.webhook_deliveries or s.edo_documents:
            out.print()
            out.print(f"{s.service}: webhook deliveries {_breakdown(s.webhook_deliveries)}")
            out.print(f"{s.service}: EDO documents {_breakdown(s.edo_documents)}")

    for s in statuses:
        if not s.up:
            out.print(f"[red]✗ {s.service} at {s.url} does not answer: {escape(s.error or '')}[/]")


def _count(value: int | None, *, warn: bool = True) -> str:
    if value is None:
        return "—"
    return f"[red]{value}[/]" if warn and value else str(value)


def _breakdown(counts: dict[str, int]) -> str:
    if not counts:
        return "—"
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
