"""Write Vitrina's Grafana dashboards as JSON, from the panels listed here.

    .venv/bin/python deploy/observability/grafana/generate_dashboards.py          # rewrite
    .venv/bin/python deploy/observability/grafana/generate_dashboards.py --check  # exit 1 if stale

Three dashboards, provisioned into Grafana's "Vitrina" folder (provisioning/dashboards):
the marketplace overview, one service (templated by ``$service``) and the Kafka backlog
(consumer lag per topic and partition, outbox, retries, dead letters). Edit the panels below
and rerun; never the JSON (tests/deploy fails on any drift). The metrics and their labels are
deploy/observability/metrics.yaml; the tests check every query against it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parent / "dashboards"

PROMETHEUS = {"type": "prometheus", "uid": "prometheus"}
"""The provisioned data source (provisioning/datasources/datasources.yaml)."""

GRID_WIDTH = 24
TAGS = ["vitrina"]
RATE = "$__rate_interval"

Json = dict[str, Any]


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    description: str = ""
    kind: str = "timeseries"  # or "stat"
    unit: str = "short"
    width: int = 12
    height: int = 8
    stack: bool = False
    thresholds: tuple[tuple[float, str], ...] = ()
    """Steps above the base (green): (value, colour)."""


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    rows: tuple[Row, ...]
    variables: tuple[Json, ...] = ()
    links: tuple[Json, ...] = ()


def q(expr: str, legend: str = "") -> Query:
    return Query(expr=expr, legend=legend)


def service_variable(*, multi: bool) -> Json:
    """``$service``: the services Prometheus scrapes, from ``up`` (present without traffic)."""
    query = 'label_values(up{job=~"vitrina-api|vitrina-worker"}, service)'
    return {
        "name": "service",
        "label": "Service",
        "type": "query",
        "datasource": PROMETHEUS,
        "query": query,
        "definition": query,
        "refresh": 2,  # on time range change: a new service shows up without a reload
        "sort": 1,
        "multi": multi,
        "includeAll": multi,
        "current": {},
        "options": [],
    }


# --- the dashboards --------------------------------------------------------------------------


def overview() -> Dashboard:
    http_rate = f"sum by (service) (rate(vitrina_http_requests_total[{RATE}]))"
    error_ratio = (
        f'sum by (service) (rate(vitrina_http_requests_total{{status=~"5.."}}[{RATE}]))'
        f" / sum by (service) (rate(vitrina_http_requests_total[{RATE}]))"
    )
    return Dashboard(
        uid="vitrina-overview",
        title="Vitrina / Overview",
        description="The marketplace at a glance: traffic and errors of every API, events "
        "flowing between the services, billing runs, EDO documents and partner webhooks.",
        rows=(
            Row(
                "Health",
                (
                    Panel(
                        "Processes up",
                        (q('sum(up{job=~"vitrina-api|vitrina-worker"})'),),
                        description="APIs and workers answering their metrics scrape.",
                        kind="stat",
                        width=4,
                        height=4,
                    ),
                    Panel(
                        "Processes down",
                        (q('count(up{job=~"vitrina-api|vitrina-worker"} == 0) or vector(0)'),),
                        kind="stat",
                        width=4,
                        height=4,
                        thresholds=((1, "red"),),
                    ),
                    Panel(
                        "API 5xx ratio",
                        (
                            q(
                                f'sum(rate(vitrina_http_requests_total{{status=~"5.."}}[{RATE}]))'
                                f" / sum(rate(vitrina_http_requests_total[{RATE}]))"
                            ),
                        ),
                        kind="stat",
                        unit="percentunit",
                        width=4,
                        height=4,
                        thresholds=((0.01, "orange"), (0.05, "red")),
                    ),
                    Panel(
                        "Consumer lag",
                        (
                            q(
                                "sum(max by (service, topic, partition) "
                                "(vitrina_consumer_lag_messages))"
                            ),
                        ),
                        description="Messages not yet processed, all services and topics.",
                        kind="stat",
                        width=4,
                        height=4,
                        thresholds=((1000, "orange"),),
                    ),
                    Panel(
                        "Outbox: oldest unpublished",
                        (q("max(vitrina_outbox_oldest_unpublished_age_seconds)"),),
                        kind="stat",
                        unit="s",
                        width=4,
                        height=4,
                        thresholds=((60, "orange"), (300, "red")),
                    ),
                    Panel(
                        "Dead letters (24 h)",
                        (q("sum(increase(vitrina_dead_letters_total[24h]))"),),
                        kind="stat",
                        width=4,
                        height=4,
                        thresholds=((1, "red"),),
                    ),
                ),
            ),
            Row(
                "APIs",
                (
                    Panel(
                        "Requests per second",
                        (q(http_rate, "{{service}}"),),
                        unit="reqps",
                        width=8,
                        stack=True,
                    ),
                    Panel(
                        "5xx ratio",
                        (q(error_ratio, "{{service}}"),),
                        unit="percentunit",
                        width=8,
                        thresholds=((0.05, "red"),),
                    ),
                    Panel(
                        "Latency p95",
                        (
                            q(
                                "histogram_quantile(0.95, sum by (service, le) "
                                f"(rate(vitrina_http_request_duration_seconds_bucket[{RATE}])))",
                                "{{service}}",
                            ),
                        ),
                        unit="s",
                        width=8,
                    ),
                ),
            ),
            Row(
                "Events",
                (
                    Panel(
                        "Events consumed, by outcome",
                        (
                            q(
                                f"sum by (outcome) (rate(vitrina_consumer_events_total[{RATE}]))",
                                "{{outcome}}",
                            ),
                        ),
                        unit="ops",
                        width=8,
                        stack=True,
                    ),
                    Panel(
                        "Events published",
                        (
                            q(
                                f"sum by (service) (rate(vitrina_outbox_published_total[{RATE}]))",
                                "{{service}}",
                            ),
                        ),
                        unit="ops",
                        width=8,
                        stack=True,
                    ),
                    Panel(
                        "Consumer lag by service",
                        (
                            q(
                                "sum by (service) (max by (service, topic, partition) "
                                "(vitrina_consumer_lag_messages))",
                                "{{service}}",
                            ),
                        ),
                        width=8,
                    ),
                ),
            ),
            Row(
                "Billing",
                (
                    Panel(
                        "Billing runs (1 h), by kind and outcome",
                        (
                            q(
                                "sum by (kind, outcome) (increase(vitrina_billing_runs_total[1h]))",
                                "{{kind}} {{outcome}}",
                            ),
                        ),
                        width=12,
                    ),
                    Panel(
                        "Billing run duration p95",
                        (
                            q(
                                "histogram_quantile(0.95, sum by (kind, le) "
                                "(rate(vitrina_billing_run_duration_seconds_bucket[1h])))",
                                "{{kind}}",
                            ),
                        ),
                        unit="s",
                        width=12,
                    ),
                ),
            ),
            Row(
                "Integrations",
                (
                    Panel(
                        "EDO documents by status",
                        (q("sum by (status) (vitrina_edo_documents)", "{{status}}"),),
                        width=8,
                    ),
                    Panel(
                        "EDO rejections (1 h)",
                        (
                            q(
                                "sum(increase(vitrina_edo_document_transitions_total"
                                '{status="rejected"}[1h]))',
                                "rejected",
                            ),
                        ),
                        width=8,
                        thresholds=((1, "red"),),
                    ),
                    Panel(
                        "Partner webhooks, by outcome",
                        (
                            q(
                                "sum by (outcome) "
                                f"(rate(vitrina_webhook_deliveries_total[{RATE}]))",
                                "{{outcome}}",
                            ),
                            q(
                                "sum(increase(vitrina_webhook_endpoints_disabled_total[1h]))",
                                "endpoints disabled (1 h)",
                            ),
                        ),
                        unit="ops",
                        width=8,
                    ),
                ),
            ),
        ),
    )


def service() -> Dashboard:
    sel = 'service=~"$service"'
    return Dashboard(
        uid="vitrina-service",
        title="Vitrina / Service",
        description="One service: its API (traffic, errors, latency by route), its consumer, "
        "its outbox and its periodic jobs.",
        variables=(service_variable(multi=False),),
        rows=(
            Row(
                "API",
                (
                    Panel(
                        "Requests per second, by route",
                        (
                            q(
                                f"sum by (method, route) "
                                f"(rate(vitrina_http_requests_total{{{sel}}}[{RATE}]))",
                                "{{method}} {{route}}",
                            ),
                        ),
                        unit="reqps",
                        width=8,
                    ),
                    Panel(
                        "Errors per second, by route and status",
                        (
                            q(
                                f"sum by (method, route, status) (rate(vitrina_http_requests_total"
                                f'{{{sel}, status=~"4..|5.."}}[{RATE}]))',
                                "{{status}} {{method}} {{route}}",
                            ),
                        ),
                        unit="reqps",
                        width=8,
                    ),
                    Panel(
                        "Latency p50 / p95 / p99",
                        tuple(
                            q(
                                f"histogram_quantile({quantile}, sum by (le) (rate("
                                f"vitrina_http_request_duration_seconds_bucket{{{sel}}}[{RATE}])))",
                                f"p{round(quantile * 100)}",
                            )
                            for quantile in (0.5, 0.95, 0.99)
                        ),
                        unit="s",
                        width=8,
                    ),
                    Panel(
                        "Latency p95, by route",
                        (
                            q(
                                "histogram_quantile(0.95, sum by (method, route, le) (rate("
                                f"vitrina_http_request_duration_seconds_bucket{{{sel}}}[{RATE}])))",
                                "{{method}} {{route}}",
                            ),
                        ),
                        unit="s",
                        width=24,
                    ),
                ),
            ),
            Row(
                "Consumer",
                (
                    Panel(
                        "Events, by type and outcome",
                        (
                            q(
                                "sum by (event_type, outcome) (rate("
                                f"vitrina_consumer_events_total{{{sel}}}[{RATE}]))",
                                "{{event_type}} {{outcome}}",
                            ),
                        ),
                        unit="ops",
                        width=12,
                    ),
                    Panel(
                        "Handler time p95, by event type",
                        (
                            q(
                                "histogram_quantile(0.95, sum by (event_type, le) (rate("
                                f"vitrina_consumer_handler_duration_seconds_bucket{{{sel}}}"
                                f"[{RATE}])))",
                                "{{event_type}}",
                            ),
                        ),
                        unit="s",
                        width=12,
                    ),
                    Panel(
                        "Lag, by topic",
                        (
                            q(
                                "sum by (topic) (max by (topic, partition) "
                                f"(vitrina_consumer_lag_messages{{{sel}}}))",
                                "{{topic}}",
                            ),
                        ),
                        width=8,
                    ),
                    Panel(
                        "Retries, by topic",
                        (
                            q(
                                f"sum by (topic) (rate(vitrina_consumer_retries_total{{{sel}}}"
                                f"[{RATE}]))",
                                "{{topic}}",
                            ),
                        ),
                        unit="ops",
                        width=8,
                    ),
                    Panel(
                        "Dead letters (1 h), by topic",
                        (
                            q(
                                f"sum by (topic) (increase(vitrina_dead_letters_total{{{sel}}}"
                                "[1h]))",
                                "{{topic}}",
                            ),
                        ),
                        width=8,
                        thresholds=((1, "red"),),
                    ),
                ),
            ),
            Row(
                "Outbox",
                (
                    Panel(
                        "Backlog and parked",
                        (
                            q(f"max(vitrina_outbox_backlog_messages{{{sel}}})", "backlog"),
                            q(f"max(vitrina_outbox_parked_messages{{{sel}}})", "parked"),
                        ),
                        width=8,
                    ),
                    Panel(
                        "Oldest unpublished event",
                        (q(f"max(vitrina_outbox_oldest_unpublished_age_seconds{{{sel}}})", "age"),),
                        unit="s",
                        width=8,
                        thresholds=((300, "red"),),
                    ),
                    Panel(
                        "Published, by topic",
                        (
                            q(
                                f"sum by (topic) (rate(vitrina_outbox_published_total{{{sel}}}"
                                f"[{RATE}]))",
                                "{{topic}}",
                            ),
                        ),
                        unit="ops",
                        width=8,
                    ),
                ),
            ),
            Row(
                "Periodic jobs",
                (
                    Panel(
                        "Job runs (1 h), by job and outcome",
                        (
                            q(
                                "sum by (job_name, outcome) "
                                f"(increase(vitrina_job_runs_total{{{sel}}}[1h]))",
                                "{{job_name}} {{outcome}}",
                            ),
                        ),
                        width=12,
                    ),
                    Panel(
                        "Job run time (mean), by job",
                        (
                            q(
                                "sum by (job_name) "
                                f"(rate(vitrina_job_duration_seconds_sum{{{sel}}}[{RATE}])) "
                                "/ sum by (job_name) "
                                f"(rate(vitrina_job_duration_seconds_count{{{sel}}}[{RATE}]))",
                                "{{job_name}}",
                            ),
                        ),
                        unit="s",
                        width=12,
                    ),
                ),
            ),
            Row(
                "Processes",
                (
                    Panel(
                        "Up, by process",
                        (
                            q(
                                f'up{{job=~"vitrina-api|vitrina-worker", {sel}}}',
                                "{{component}} {{instance}}",
                            ),
                        ),
                        width=24,
                        height=6,
                    ),
                ),
            ),
        ),
    )


def kafka_backlog() -> Dashboard:
    sel = 'service=~"$service"'
    return Dashboard(
        uid="vitrina-kafka",
        title="Vitrina / Kafka backlog",
        description="What is waiting: consumer lag per topic and partition, the outboxes not "
        "yet published, retries and dead letters.",
        variables=(service_variable(multi=True),),
        rows=(
            Row(
                "Consumer lag",
                (
                    Panel(
                        "Lag per topic and partition",
                        (
                            q(
                                "max by (service, topic, partition) "
                                f"(vitrina_consumer_lag_messages{{{sel}}})",
                                "{{service}} {{topic}}[{{partition}}]",
                            ),
                        ),
                        description="The highest report per partition (two workers may report "
                        "one partition for a while after a rebalance).",
                        width=24,
                        height=10,
                    ),
                    Panel(
                        "Lag per topic",
                        (
                            q(
                                "sum by (service, topic) (max by (service, topic, partition) "
                                f"(vitrina_consumer_lag_messages{{{sel}}}))",
                                "{{service}} {{topic}}",
                            ),
                        ),
                        width=12,
                        thresholds=((1000, "orange"),),
                    ),
                    Panel(
                        "Lag change per minute, per topic",
                        (
                            q(
                                "sum by (service, topic) (max by (service, topic, partition) "
                                f"(deriv(vitrina_consumer_lag_messages{{{sel}}}[5m]))) * 60",
                                "{{service}} {{topic}}",
                            ),
                        ),
                        description="Below zero: draining; above: falling behind.",
                        width=12,
                    ),
                ),
            ),
            Row(
                "Outbox",
                (
                    Panel(
                        "Backlog",
                        (
                            q(
                                f"max by (service) (vitrina_outbox_backlog_messages{{{sel}}})",
                                "{{service}}",
                            ),
                        ),
                        width=8,
                    ),
                    Panel(
                        "Oldest unpublished event",
                        (
                            q(
                                "max by (service) "
                                f"(vitrina_outbox_oldest_unpublished_age_seconds{{{sel}}})",
                                "{{service}}",
                            ),
                        ),
                        unit="s",
                        width=8,
                        thresholds=((300, "red"),),
                    ),
                    Panel(
                        "Parked",
                        (
                            q(
                                f"max by (service) (vitrina_outbox_parked_messages{{{sel}}})",
                                "{{service}}",
                            ),
                        ),
                        width=8,
                        thresholds=((1, "red"),),
                    ),
                    Panel(
                        "Published per topic",
                        (
                            q(
                                "sum by (service, topic) "
                                f"(rate(vitrina_outbox_published_total{{{sel}}}[{RATE}]))",
                                "{{service}} → {{topic}}",
                            ),
                        ),
                        unit="ops",
                        width=24,
                    ),
                ),
            ),
            Row(
                "Retries and dead letters",
                (
                    Panel(
                        "Retries per topic",
                        (
                            q(
                                "sum by (service, topic) "
                                f"(rate(vitrina_consumer_retries_total{{{sel}}}[{RATE}]))",
                                "{{service}} {{topic}}",
                            ),
                        ),
                        unit="ops",
                        width=8,
                    ),
                    Panel(
                        "Dead-lettered (1 h) per topic",
                        (
                            q(
                                "sum by (service, topic) "
                                f"(increase(vitrina_dead_letters_total{{{sel}}}[1h]))",
                                "{{service}} {{topic}}",
                            ),
                        ),
                        width=8,
                        thresholds=((1, "red"),),
                    ),
                    Panel(
                        "Messages in dead-letter topics",
                        (q("max by (topic) (vitrina_dead_letter_queue_messages)", "{{topic}}"),),
                        description="Not filtered by service: the topic's name says whose it "
                        "is. Empty where no process reports the dead-letter topics' size.",
                        width=8,
                    ),
                ),
            ),
        ),
    )


DASHBOARDS = (overview, service, kafka_backlog)


# --- JSON ------------------------------------------------------------------------------------


def render(dashboard: Dashboard) -> Json:
    """The Grafana dashboard model (schemaVersion 39): rows laid out top to bottom, each
    row's panels left to right, wrapping at the grid's width."""
    panels: list[Json] = []
    y = 0
    next_id = 1
    for row in dashboard.rows:
        panels.append(
            {
                "id": next_id,
                "type": "row",
                "title": row.title,
                "collapsed": False,
                "gridPos": {"x": 0, "y": y, "w": GRID_WIDTH, "h": 1},
                "panels": [],
            }
        )
        next_id += 1
        y += 1
        x = 0
        line_height = 0
        for panel in row.panels:
            if x + panel.width > GRID_WIDTH:
                x, y, line_height = 0, y + line_height, 0
            panels.append(
                _panel(panel, next_id, {"x": x, "y": y, "w": panel.width, "h": panel.height})
            )
            next_id += 1
            x += panel.width
            line_height = max(line_height, panel.height)
        y += line_height
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": TAGS,
        "timezone": "browser",
        "editable": False,
        "graphTooltip": 1,  # shared crosshair
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": list(dashboard.variables)},
        "annotations": {"list": []},
        "links": [
            {
                "title": "Vitrina dashboards",
                "type": "dashboards",
                "tags": TAGS,
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
            },
            *dashboard.links,
        ],
        "panels": panels,
    }


def _panel(panel: Panel, panel_id: int, grid: Json) -> Json:
    steps: list[Json] = [{"color": "green", "value": None}]
    steps.extend({"color": colour, "value": value} for value, colour in panel.thresholds)
    defaults: Json = {"unit": panel.unit, "thresholds": {"mode": "absolute", "steps": steps}}
    options: Json
    if panel.kind == "stat":
        defaults["color"] = {"mode": "thresholds"}
        options = {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "textMode": "auto",
        }
    else:
        defaults["color"] = {"mode": "palette-classic"}
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 20 if panel.stack else 10,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"mode": "normal" if panel.stack else "none", "group": "A"},
            "thresholdsStyle": {"mode": "line" if panel.thresholds else "off"},
        }
        options = {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": PROMETHEUS,
        "gridPos": grid,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options,
        "targets": [
            {
                "refId": chr(ord("A") + index),
                "datasource": PROMETHEUS,
                "expr": query.expr,
                "legendFormat": query.legend or "__auto",
                "range": True,
            }
            for index, query in enumerate(panel.queries)
        ],
    }


def dump(model: Json) -> str:
    return json.dumps(model, indent=2, ensure_ascii=False) + "\n"


def files() -> dict[Path, str]:
    """Every dashboard file and its content: ``<uid>.json``."""
    rendered = (render(build()) for build in DASHBOARDS)
    return {OUTPUT / f"{model['uid']}.json": dump(model) for model in rendered}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="do not write; exit 1 if a file is out of date"
    )
    args = parser.parse_args(argv)
    expected = files()
    stale = sorted(
        path
        for path, text in expected.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    )
    extra = sorted(set(OUTPUT.glob("*.json")) - set(expected))
    if args.check:
        for path in [*stale, *extra]:
            print(f"{path} is out of date: run {Path(__file__).name}", file=sys.stderr)
        return 1 if stale or extra else 0
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for path in stale:
        path.write_text(expected[path], encoding="utf-8")
        print(f"Wrote {path}")
    for path in extra:
        path.unlink()
        print(f"Removed {path} (no dashboard writes it)")
    if not stale and not extra:
        print(f"Up to date: {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
