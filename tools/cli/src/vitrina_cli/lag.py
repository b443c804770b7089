"""``vitrina lag``: how far each service's consumer group is behind, per topic and partition.

Lag is the partition's high watermark minus the group's committed offset. Both are read
without joining or touching the group:

- committed offsets: an admin OffsetFetch for one group at a time, naming its partitions
  (the embedded broker cannot answer "all of the group's offsets", nor describe several groups
  in one request — BROKER.md);
- high watermarks: from a fetch response of a throwaway consumer without a group, positioned at
  the committed offset (never past the end: the embedded broker stalls there silently). Not
  ``end_offsets``, which the embedded broker gets wrong.

A group reads a service's topics (the contracts' registry) and their delayed-retry topics; a
partition it has never committed starts from the beginning, so all of it counts as lag.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from vitrina_cli.operator import JsonOutput, ServiceFilter, ServiceSelection, fail, out
from vitrina_cli.workspace import BOOTSTRAP_SERVERS_FILE, SERVICES, repo_root

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer, TopicPartition

# aiokafka and the contracts' registry are imported where used: every `vitrina` command
# (`vitrina dev` too) imports this module, and they would add a third of a second to each.

_HIGHWATER_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None
    """None: the group has committed nothing there yet (it would start from the beginning)."""
    log_start: int
    highwater: int | None
    """None: no fetch answered for the partition in time."""

    @property
    def lag(self) -> int | None:
        if self.highwater is None:
            return None
        start = self.committed if self.committed is not None else self.log_start
        return max(self.highwater - start, 0)


def group_topics(service: str, retry_stages: Iterable[str] | None = None) -> list[str]:
    """The topics ``service``'s consumer group reads: the registry's, and their retry topics
    (of the registry's default stages unless ``retry_stages`` names the service's own)."""
    from vitrina_contracts.registry import RETRY_STAGES, TOPICS

    stages = tuple(RETRY_STAGES if retry_stages is None else retry_stages)
    return [
        name
        for topic in TOPICS
        if service in topic.consumers
        for name in (topic.name, *(topic.retry_topic(stage) for stage in stages))
    ]


async def measure(
    bootstrap_servers: str, groups: Iterable[str], *, timeout: float = _HIGHWATER_TIMEOUT_SECONDS
) -> list[PartitionLag]:
    """The lag of every partition each of ``groups`` (service names) reads."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    groups = list(groups)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        client_id="vitrina-lag",
        group_id=None,  # no group: nothing is joined, nothing is committed
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        max_partition_fetch_bytes=1,  # only the watermark is wanted; a record batch still comes
        request_timeout_ms=5_000,
    )
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="vitrina-lag", request_timeout_ms=5_000
    )
    await consumer.start()
    try:
        await admin.start()
        # Every topic the cluster has, in one metadata request: asking for named topics would
        # make the embedded broker create the missing ones.
        existing = await consumer.topics()
        wanted = {
            group: [
                TopicPartition(topic, partition)
                for topic in group_topics(group)
                if topic in existing
                for partition in sorted(consumer.partitions_for_topic(topic) or ())
            ]
            for group in groups
        }
        committed: dict[str, dict[TopicPartition, int]] = {}
        for group, partitions in wanted.items():
            answer = (
                await admin.list_consumer_group_offsets(group, partitions=partitions)
                if partitions
                else {}
            )
            committed[group] = {tp: meta.offset for tp, meta in answer.items() if meta.offset >= 0}
        every = sorted({tp for partitions in wanted.values() for tp in partitions})
        log_start = await consumer.beginning_offsets(every) if every else {}
        highwater = await _highwaters(consumer, every, committed, log_start, timeout)
    finally:
        await admin.close()
        await consumer.stop()
    return [
        PartitionLag(
            group=group,
            topic=tp.topic,
            partition=tp.partition,
            committed=committed[group].get(tp),
            log_start=log_start.get(tp, 0),
            highwater=highwater.get(tp),
        )
        for group, partitions in wanted.items()
        for tp in partitions
    ]


async def _highwaters(
    consumer: AIOKafkaConsumer,
    partitions: list[TopicPartition],
    committed: dict[str, dict[TopicPartition, int]],
    log_start: dict[TopicPartition, int],
    timeout: float,
) -> dict[TopicPartition, int]:
    if not partitions:
        return {}
    consumer.assign(partitions)
    for tp in partitions:
        # The lowest committed offset of any group: at or below the end, so the fetch answers.
        offsets = [by_group[tp] for by_group in committed.values() if tp in by_group]
        consumer.seek(tp, min(offsets, default=log_start.get(tp, 0)))
    found: dict[TopicPartition, int] = {}
    deadline = time.monotonic() + timeout
    while len(found) < len(partitions) and time.monotonic() < deadline:
        await consumer.getmany(timeout_ms=200)
        for tp in partitions:
            mark = consumer.highwater(tp)
            if mark is not None:
                found[tp] = mark
    return found


# -- the command ----------------------------------------------------------------------------


def lag(
    service: ServiceFilter = None,
    bootstrap_servers: Annotated[
        str | None,
        typer.Option(
            envvar="KAFKA_BOOTSTRAP_SERVERS",
            help="The broker [default: the one the running `vitrina dev` started].",
            show_default=False,
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="The `vitrina dev` data directory [default: .vitrina]"),
    ] = None,
    all_partitions: Annotated[
        bool, typer.Option("--all", help="Also the partitions nothing was ever written to.")
    ] = False,
    as_json: JsonOutput = False,
) -> None:
    """Consumer lag of every service's group, per topic and partition: events written that the
    service has not processed yet."""
    from aiokafka.errors import KafkaError

    groups = [name for name, _url in ServiceSelection.of(dict.fromkeys(SERVICES, ""), service)]
    servers = bootstrap_servers or _local_broker(data_dir)
    try:
        with nullcontext() if as_json else out.status(f"Reading offsets from {servers}…"):
            rows = asyncio.run(measure(servers, groups))
    except (KafkaError, OSError) as error:
        fail(f"the broker at {servers} cannot be reached: {str(error) or type(error).__name__}")
    if as_json:
        typer.echo(json.dumps([asdict(row) | {"lag": row.lag} for row in rows]))
        return
    table = Table(header_style="bold", box=None, pad_edge=False)
    table.add_column("service")
    table.add_column("topic")
    table.add_column("partition", justify="right")
    table.add_column("committed", justify="right")
    table.add_column("end", justify="right")
    table.add_column("lag", justify="right")
    for row in rows:
        if not all_partitions and not row.highwater and row.committed is None:
            continue  # never written to: noise in the default view
        table.add_row(
            row.group,
            row.topic,
            str(row.partition),
            "—" if row.committed is None else str(row.committed),
            "?" if row.highwater is None else str(row.highwater),
            _lag_cell(row.lag),
        )
    out.print(table)
    for group in groups:
        mine = [row for row in rows if row.group == group]
        unknown = sum(row.lag is None for row in mine)
        total = sum(row.lag or 0 for row in mine)
        note = f", {unknown} partition(s) did not answer" if unknown else ""
        out.print(f"{group}: {_lag_cell(total)} behind over {len(mine)} partitions{note}")


def _lag_cell(value: int | None) -> str:
    if value is None:
        return "[yellow]?[/]"
    return f"[red]{value}[/]" if value else "0"


def _local_broker(data_dir: Path | None) -> str:
    """Where the running ``vitrina dev`` put its broker (the embedded one's port is random)."""
    folder = data_dir or repo_root() / ".vitrina"
    try:
        return (folder / BOOTSTRAP_SERVERS_FILE).read_text("utf-8").strip()
    except FileNotFoundError:
        fail(
            f"no broker: `vitrina dev` is not running from {folder} "
            "(or give --bootstrap-servers / KAFKA_BOOTSTRAP_SERVERS)"
        )
