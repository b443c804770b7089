"""The delivery worker: sends what is due, signed, and records every attempt.

A round claims due deliveries in a short transaction (``FOR UPDATE SKIP LOCKED``, so replicas
share the work) by pushing their ``next_attempt_at`` a lease ahead; it sends them outside any
transaction (no row lock is held across a partner's slow answer), then records each outcome in
a transaction of its own. A worker that dies mid-send leaves its claims to expire: the message
goes again, and the receiver deduplicates by its ``id``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations import SERVICE_NAME
from integrations.provisioning import service as provisioning
from integrations.settings import IntegrationsSettings
from integrations.webhooks import metrics
from integrations.webhooks.domain import (
    DeliveryPurpose,
    DeliveryStatus,
    DisablePolicy,
    EndpointStatus,
    RetrySchedule,
    succeeded,
)
from integrations.webhooks.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from integrations.webhooks.service import disable, signing_secrets_of
from integrations.webhooks.signing import SIGNATURE_HEADER, signature_header
from integrations.webhooks.targets import (
    Resolver,
    TargetPolicy,
    TargetRefused,
    resolve,
    system_resolver,
)
from vitrina_kit import tracing
from vitrina_kit.db import transaction
from vitrina_kit.settings import ServiceSettings
from vitrina_kit.vault import Vault, vault_for

logger = logging.getLogger(__name__)

RESPONSE_BODY_LIMIT = 4096
USER_AGENT = "Vitrina-Webhooks/1.0"


@dataclass(frozen=True)
class DispatchRules:
    """Everything a round needs to know from settings."""

    schedule: RetrySchedule
    disable: DisablePolicy
    targets: TargetPolicy
    timeout: timedelta
    batch_size: int
    vault: Vault

    @classmethod
    def of(cls, settings: IntegrationsSettings) -> DispatchRules:
        return cls(
            schedule=RetrySchedule.parse(settings.webhook_retry_schedule),
            disable=DisablePolicy(
                max_consecutive_failures=settings.webhook_disable_after_failures,
                max_failing_for=timedelta(hours=settings.webhook_disable_after_hours),
            ),
            targets=TargetPolicy.of(
                allow_http=settings.webhook_allow_http,
                allowed_networks=settings.webhook_allowed_networks,
            ),
            timeout=timedelta(seconds=settings.webhook_timeout_seconds),
            batch_size=settings.webhook_dispatch_batch_size,
            vault=vault_for(settings.connector_encryption_keys.get_secret_value()),
        )

    @property
    def lease(self) -> timedelta:
        """How long a claim holds: the longest a send can take, and a margin."""
        return self.timeout * 2 + timedelta(seconds=30)


@dataclass(frozen=True)
class Claimed:
    """A delivery taken for sending, with what sending needs (read in the claim)."""

    delivery_id: uuid.UUID
    url: str
    secrets: tuple[str, ...]
    """The current signing secret, and the one a rotation replaced while it is honoured."""
    message_id: str
    event_type: str
    body: bytes
    traceparent: str | None = None
    """The trace the delivery was queued in: its sending and recording continue it."""


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    response_body: str
    error: str | None


async def claim_due(session: AsyncSession, rules: DispatchRules, *, now: datetime) -> list[Claimed]:
    """Up to a batch of due deliveries to active endpoints, leased to this round."""
    rows = (
        await session.execute(
            select(WebhookDelivery, WebhookEndpoint)
            .join(WebhookEndpoint, WebhookEndpoint.endpoint_id == WebhookDelivery.endpoint_id)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= now,
                WebhookEndpoint.status == EndpointStatus.ACTIVE,
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(rules.batch_size)
            .with_for_update(of=WebhookDelivery, skip_locked=True)
        )
    ).all()
    claimed = []
    for delivery, endpoint in rows:
        delivery.next_attempt_at = now + rules.lease
        claimed.append(
            Claimed(
                delivery_id=delivery.delivery_id,
                url=endpoint.url,
                # The wall clock, as for the signature's timestamp: the grace period is the
                # receiver's, whatever schedule the delivery ran on.
                secrets=signing_secrets_of(endpoint, rules.vault, now=datetime.now(UTC)),
                message_id=delivery.message_id,
                event_type=delivery.event_type,
                body=delivery.body,
                traceparent=delivery.traceparent,
            )
        )
    await session.flush()
    return claimed


async def send(
    client: httpx.AsyncClient,
    claimed: Claimed,
    rules: DispatchRules,
    *,
    resolver: Resolver = system_resolver,
) -> Outcome:
    """One signed POST to the endpoint, its target checked again first (DNS rebinding)."""
    started = time.perf_counter()

    def elapsed_ms() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        target = await resolve(claimed.url, rules.targets, resolver=resolver)
    except TargetRefused as refused:
        return Outcome(None, elapsed_ms(), "", f"target refused: {refused.detail}")
    url, host, extensions = target.pinned()
    headers = {
        **host,
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "Vitrina-Event-Id": claimed.message_id,
        "Vitrina-Event-Type": claimed.event_type,
        "Vitrina-Delivery-Id": str(claimed.delivery_id),
        # Signed at the moment of sending, with the wall clock: the receiver's replay window
        # is measured against its own clock, whatever schedule the delivery ran on.
        SIGNATURE_HEADER: signature_header(claimed.secrets, claimed.body),
    }
    try:
        async with asyncio.timeout(rules.timeout.total_seconds()):
            request = client.build_request(
                "POST", url, content=claimed.body, headers=headers, extensions=extensions
            )
            response = await client.send(request, stream=True)
            try:
                body = await _read_limited(response)
            finally:
                await response.aclose()
    except TimeoutError:
        return Outcome(None, elapsed_ms(), "", f"no answer within {rules.timeout.total_seconds()}s")
    except httpx.HTTPError as error:
        return Outcome(None, elapsed_ms(), "", f"{type(error).__name__}: {error}"[:1000])
    failure = None if succeeded(response.status_code) else f"HTTP {response.status_code}"
    return Outcome(response.status_code, elapsed_ms(), body, failure)


async def _read_limited(response: httpx.Response) -> str:
    """At most RESPONSE_BODY_LIMIT bytes of the answer: a partner's page of HTML or an endless
    stream must not fill the attempt log (or memory)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= RESPONSE_BODY_LIMIT:
            break
    return b"".join(chunks)[:RESPONSE_BODY_LIMIT].decode("utf-8", errors="replace")


async def record(
    session: AsyncSession,
    claimed: Claimed,
    outcome: Outcome,
    rules: DispatchRules,
    *,
    attempted_at: datetime,
) -> None:
    """Log the attempt; then the delivery is done, scheduled again or failed, the endpoint's
    health follows, and a provisioning call's outcome is told."""
    delivery = await session.get_one(WebhookDelivery, claimed.delivery_id, with_for_update=True)
    endpoint = await session.get_one(WebhookEndpoint, delivery.endpoint_id, with_for_update=True)
    delivery.attempts += 1
    delivery.round_attempts += 1
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    session.add(
        DeliveryAttempt(
            delivery_id=delivery.delivery_id,
            attempt_no=delivery.attempts,
            attempted_at=attempted_at,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
            response_body=outcome.response_body,
        )
    )
    is_provisioning = delivery.purpose == DeliveryPurpose.PROVISIONING
    if succeeded(outcome.status_code):
        assert outcome.status_code is not None
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = attempted_at
        delivery.next_attempt_at = None
        endpoint.consecutive_failures = 0
        endpoint.failing_since = None
        if is_provisioning:
            response = provisioning.partner_response(outcome.status_code, outcome.response_body)
            await provisioning.settle_success(session, delivery, response, now=attempted_at)
        await session.flush()
        metrics.attempted("delivered", outcome.latency_ms)
        return

    endpoint.consecutive_failures += 1
    endpoint.failing_since = endpoint.failing_since or attempted_at
    retry_at = rules.schedule.next_attempt_at(delivery.round_attempts, now=attempted_at)
    if retry_at is not None:
        delivery.next_attempt_at = retry_at
        metrics.attempted("failed_attempt", outcome.latency_ms)
    else:
        metrics.attempted("gave_up", outcome.latency_ms)
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        if is_provisioning:
            await provisioning.settle_failure(
                session,
                delivery,
                reason=f"No acknowledgement after {delivery.round_attempts} attempts; "
                f"the last: {outcome.error}.",
                response=None
                if outcome.status_code is None
                else provisioning.partner_response(outcome.status_code, outcome.response_body),
                now=attempted_at,
            )
    reason = rules.disable.reason_to_disable(
        endpoint.consecutive_failures, endpoint.failing_since, now=attempted_at
    )
    if reason is not None and endpoint.status == EndpointStatus.ACTIVE:
        await session.flush()  # the sessions do not autoflush: disable() queries what is stored
        await disable(session, endpoint, reason=reason, now=attempted_at)
        metrics.ENDPOINTS_DISABLED.inc()
    await session.flush()


async def dispatch_due(
    sessions: async_sessionmaker[AsyncSession],
    rules: DispatchRules,
    *,
    now: datetime | None = None,
    resolver: Resolver = system_resolver,
) -> int:
    """One round: claim what is due by ``now``, send it all at once, record each outcome.
    Returns how many deliveries were attempted. ``now`` moves the schedule's clock (tests and
    the operator's "deliver now"); the signature always carries the real time."""
    now = now or datetime.now(UTC)
    async with transaction(sessions) as session:
        claimed = await claim_due(session, rules, now=now)
    if not claimed:
        return 0
    # One span per delivery, over its sending and the recording of its outcome (a provisioning
    # call's provisioning.* event among it), in the trace the delivery was queued in.
    spans = [
        tracing.start_span(
            SERVICE_NAME,
            "webhook deliver",
            traceparent=each.traceparent,
            attributes={
                "vitrina.delivery_id": str(each.delivery_id),
                "cloudevents.event_type": each.event_type,
            },
        )
        for each in claimed
    ]

    async def traced_send(client: httpx.AsyncClient, index: int) -> Outcome:
        with tracing.resumed(spans[index]):
            return await send(client, claimed[index], rules, resolver=resolver)

    try:
        # trust_env=False: an HTTP proxy from the environment would connect on its own terms,
        # past the address check; redirects are not followed for the same reason.
        async with httpx.AsyncClient(
            timeout=rules.timeout.total_seconds(), follow_redirects=False, trust_env=False
        ) as client:
            outcomes = await asyncio.gather(
                *(traced_send(client, index) for index in range(len(claimed)))
            )
        for each, outcome, span in zip(claimed, outcomes, spans, strict=True):
            with tracing.resumed(span):
                async with transaction(sessions) as session:
                    await record(session, each, outcome, rules, attempted_at=now)
    finally:
        for span in spans:
            span.end()
    return len(claimed)


async def dispatch_round(
    sessions: async_sessionmaker[AsyncSession], settings: ServiceSettings
) -> int:
    """The worker's periodic job: deliver whatever is due, batch after batch."""
    if not isinstance(settings, IntegrationsSettings):
        raise TypeError("the webhook dispatcher runs with the integrations service's settings")
    rules = DispatchRules.of(settings)
    total = 0
    while True:
        attempted = await dispatch_due(sessions, rules)
        total += attempted
        if attempted < rules.batch_size:
            return total


def dispatch_interval(settings: ServiceSettings) -> float:
    if not isinstance(settings, IntegrationsSettings):
        raise TypeError("the webhook dispatcher runs with the integrations service's settings")
    return settings.webhook_dispatch_interval_seconds
