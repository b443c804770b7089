"""The settings every service shares; each service subclasses with its own env prefix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Base settings of a Vitrina service.

    A subclass sets ``model_config = SettingsConfigDict(env_prefix="CATALOG_")`` and adds its own
    fields. The Kafka bootstrap servers are the one setting without a prefix: every service talks
    to the same cluster, and ``KAFKA_BOOTSTRAP_SERVERS`` is the name every Kafka tool knows.
    """

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = Field(description="Name used for the consumer group, event source, logs.")
    database_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/vitrina",
        description="SQLAlchemy URL of the service's own database (asyncpg driver).",
    )
    database_pool_size: int = Field(default=10, ge=1, le=200)
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    kafka_replication_factor: int = Field(
        default=1,
        ge=1,
        le=7,
        validation_alias="KAFKA_REPLICATION_FACTOR",
        description="Replicas of the topics the services create (3 on a production cluster).",
    )
    auth_issuer: str = Field(
        default="http://127.0.0.1:8001",
        validation_alias="VITRINA_AUTH_ISSUER",
        description="The identity service's issuer URL, the `iss` every token must carry.",
    )
    auth_audience: str = Field(
        default="vitrina",
        validation_alias="VITRINA_AUTH_AUDIENCE",
        description="The `aud` every token for the marketplace's APIs must carry.",
    )
    auth_jwks_url: str = Field(
        default="http://127.0.0.1:8001/.well-known/jwks.json",
        validation_alias="VITRINA_AUTH_JWKS_URL",
        description="Where the identity service publishes its token signing keys.",
    )
    auth_leeway_seconds: int = Field(
        default=30, ge=0, le=300, description="Clock skew tolerated on exp/nbf/iat."
    )
    # The embedded test broker answers a waiting fetch only when the wait ends, so a short wait
    # keeps hops fast there; Apache Kafka answers early and is unaffected by a small value.
    kafka_fetch_max_wait_ms: int = Field(default=100, ge=10, le=5000)
    kafka_session_timeout_ms: int = Field(default=10_000, ge=1000, le=300_000)
    kafka_heartbeat_interval_ms: int = Field(default=3_000, ge=100, le=60_000)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    public_url: str | None = Field(
        default=None, description="Base URL the API is reachable at, for links and logs."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    tracing_enabled: bool = Field(
        default=True,
        description="Spans at all (OTEL_SDK_DISABLED=true also turns them off); off only to "
        "measure what tracing costs. On without an endpoint, spans carry ids (traceparent, "
        "log trace ids) but nothing is recorded or exported.",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT",
        description="Base URL of an OTLP/HTTP collector (spans go to <url>/v1/traces); unset: "
        "no export (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, a full URL, is honoured too).",
    )
    tracing_sample_ratio: float = Field(
        default=1.0, ge=0.0, le=1.0, description="Share of new traces recorded when exporting."
    )
    max_request_body_bytes: int = Field(default=1_048_576, ge=1024)
    consumer_max_attempts: int = Field(
        default=4, ge=1, le=20, description="In-process attempts before a dead letter."
    )
    consumer_retry_base_seconds: float = Field(default=0.2, ge=0.0, le=60.0)
    consumer_retry_stages: str = Field(
        default="10s,1m,10m",
        description="Delayed-retry stages after the in-process attempts, e.g. 500ms,10s,1m "
        "(empty: straight to the DLQ). Every service of a cluster must use the same stages.",
    )
    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)
    outbox_poll_interval_seconds: float = Field(default=0.05, ge=0.005, le=10.0)
    outbox_max_attempts: int = Field(
        default=10,
        ge=1,
        description="Publish attempts before a row is parked (failures of the row's own: a "
        "broker that is away or restarting counts against no row).",
    )
    outbox_publish_timeout_seconds: float = Field(
        default=30.0,
        ge=1.0,
        le=600.0,
        description="How long the relay waits for the broker to acknowledge a lane's sends; "
        "three passes in a row without an answer end the relay process, to be restarted with a "
        "new producer. Above the producer's own request timeout (15 s).",
    )
    outbox_retention_hours: float = Field(
        default=72, gt=0, description="How long published outbox rows are kept (for inspection)."
    )
    inbox_retention_days: float = Field(
        default=30,
        gt=0,
        description="How long processed event ids are kept; must outlast any redelivery.",
    )
    idempotency_key_retention_hours: float = Field(default=24, gt=0)
    housekeeping_interval_seconds: float = Field(default=600, ge=1)
    http_metrics_enabled: bool = Field(
        default=True,
        description="Count and time every HTTP request (vitrina_http_request*); off only to "
        "measure what that costs: no metrics middleware is installed, and /metrics is still "
        "served, with every other metric but no request series. Consumer, outbox and job "
        "metrics are not affected.",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Port of the Prometheus /metrics server of a worker-only process "
        "(`consumer`, `relay`); 0 or unset: none. An API serves /metrics on its own port.",
    )
    metrics_refresh_seconds: float = Field(
        default=5.0,
        ge=0.1,
        le=300.0,
        description="How often the relay measures the outbox backlog for its gauges (one "
        "small query); the parked rows, which need a scan, every 12th time.",
    )
    dead_letter_queue_refresh_seconds: float = Field(
        default=30.0,
        ge=1.0,
        le=3600.0,
        description="How often the consumer process measures the size of the DLQs of the "
        "topics it reads (vitrina_dead_letter_queue_messages): a fetch per DLQ partition by a "
        "consumer outside the group. 30-60 s suits production; less only in tests.",
    )

    @field_validator("consumer_retry_stages")
    @classmethod
    def _retry_stages_parse(cls, value: str) -> str:
        from vitrina_kit.consumer import parse_retry_stages  # the one parser of this format

        parse_retry_stages(value)
        return value
