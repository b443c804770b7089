"""Webhook endpoints and their deliveries: registering, editing, rotating the signing secret,
deleting, listing, redelivering, and turning the events of other services into deliveries for
the organizations they concern.

Tenancy is in the queries (``visible_to``): another organization's endpoint or delivery is not
found, so its id tells the caller nothing.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

from sqlalchemy import ColumnElement, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from integrations.webhooks.domain import (
    DeliveryPurpose,
    DeliveryStatus,
    EndpointStatus,
    audience,
    public_type,
    secrets_in_force,
)
from integrations.webhooks.models import (
    DeliveryAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookNotification,
)
from integrations.webhooks.targets import Resolver, TargetPolicy, resolve, system_resolver
from vitrina_contracts.envelope import CloudEvent
from vitrina_contracts.events.base import Event
from vitrina_kit import tracing
from vitrina_kit.auth import Caller, OrganizationKind
from vitrina_kit.pagination import decode_cursor, encode_cursor
from vitrina_kit.problems import Conflict, DomainError, NotFound, UnprocessableEntity
from vitrina_kit.tenancy import visible_to
from vitrina_kit.vault import Vault

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix that makes a leaked secret recognisable
SECRET_KEY = "signing_secret"  # noqa: S105 - the name of the one value in the vault's box


class EndpointNotFound(NotFound):
    def __init__(self, endpoint_id: uuid.UUID) -> None:
        super().__init__(f"No webhook endpoint {endpoint_id}.")


class DeliveryNotFound(NotFound):
    def __init__(self, delivery_id: uuid.UUID) -> None:
        super().__init__(f"No webhook delivery {delivery_id}.")


class ProvisioningEndpointTaken(Conflict):
    code = "provisioning_endpoint_taken"
    title = "The partner already has a provisioning endpoint"


class ProvisioningIsForPartners(UnprocessableEntity):
    code = "provisioning_is_for_partners"
    title = "Only a partner's endpoint receives provisioning calls"


class DeliveryInProgress(Conflict):
    code = "delivery_in_progress"
    title = "The delivery is still being tried"


class EndpointDisabled(Conflict):
    code = "endpoint_disabled"
    title = "The endpoint is disabled"


class EndpointDeleted(Conflict):
    code = "endpoint_deleted"
    title = "The endpoint was deleted"


class SecretIsTheOwners(DomainError):
    status = HTTPStatus.FORBIDDEN
    code = "secret_is_the_owners"
    title = "Only the endpoint's owner rotates its signing secret"


def new_signing_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signing_secret_of(endpoint: WebhookEndpoint, vault: Vault) -> str:
    return str(vault.decrypt(endpoint.signing_secret_encrypted)[SECRET_KEY])


def signing_secrets_of(
    endpoint: WebhookEndpoint, vault: Vault, *, now: datetime
) -> tuple[str, ...]:
    """What a delivery sent at ``now`` is signed with: the current secret, and the previous one
    while its grace period lasts."""
    previous = endpoint.previous_signing_secret_encrypted
    return secrets_in_force(
        signing_secret_of(endpoint, vault),
        None if previous is None else str(vault.decrypt(previous)[SECRET_KEY]),
        endpoint.previous_secret_expires_at,
        now=now,
    )


async def register_endpoint(
    session: AsyncSession,
    caller: Caller,
    *,
    url: str,
    description: str,
    event_types: Sequence[str],
    provisioning: bool,
    policy: TargetPolicy,
    vault: Vault,
    now: datetime,
    resolver: Resolver = system_resolver,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of the caller's organization, and its signing secret in the clear (the
    API shows it this once; it is stored encrypted)."""
    target = await resolve(url, policy, resolver=resolver)
    if provisioning:
        if caller.organization_kind is not OrganizationKind.PARTNER:
            raise ProvisioningIsForPartners(
                "Provisioning calls go to the partner supplying a product; subscribe to "
                "subscription events instead."
            )
        taken = await session.scalar(
            select(WebhookEndpoint.endpoint_id).where(
                WebhookEndpoint.owner_id == caller.organization_id,
                WebhookEndpoint.provisioning,
                WebhookEndpoint.status != EndpointStatus.DELETED,
            )
        )
        if taken is not None:
            # Disabling it would not do: a disabled endpoint keeps its place, to be enabled.
            raise ProvisioningEndpointTaken(
                f"Endpoint {taken} receives the provisioning calls; change its URL, delete it, "
                "or register without provisioning."
            )
    secret = new_signing_secret()
    endpoint = WebhookEndpoint(
        endpoint_id=uuid.uuid4(),
        owner_id=caller.organization_id,
        url=str(target.url),
        description=description,
        event_types=sorted(set(event_types)),
        provisioning=provisioning,
        signing_secret_encrypted=vault.encrypt({SECRET_KEY: secret}),
        status=EndpointStatus.ACTIVE,
        consecutive_failures=0,
        failing_since=None,
        disabled_at=None,
        disabled_reason=None,
        created_at=now,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


def _page_after(created_at: Any, row_id: Any, cursor: str | None) -> ColumnElement[bool] | None:
    after = decode_cursor(cursor)
    return None if after is None else tuple_(created_at, row_id) > tuple_(*after)


async def list_endpoints(
    session: AsyncSession, caller: Caller, *, cursor: str | None, limit: int
) -> tuple[Sequence[WebhookEndpoint], str | None]:
    """The caller's endpoints (the operator's: every one), oldest first."""
    query = (
        select(WebhookEndpoint)
        .where(
            visible_to(caller, WebhookEndpoint.owner_id),
            WebhookEndpoint.status != EndpointStatus.DELETED,
        )
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.endpoint_id)
        .limit(limit + 1)
    )
    after = _page_after(WebhookEndpoint.created_at, WebhookEndpoint.endpoint_id, cursor)
    if after is not None:
        query = query.where(after)
    rows = (await session.scalars(query)).all()
    page = rows[:limit]
    last = page[-1] if len(rows) > limit else None
    return page, encode_cursor((last.created_at, last.endpoint_id)) if last else None


async def get_endpoint(
    session: AsyncSession, caller: Caller, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> WebhookEndpoint:
    """The caller's endpoint (the operator's: anyone's); a deleted one is not found."""
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.endpoint_id == endpoint_id,
        visible_to(caller, WebhookEndpoint.owner_id),
        WebhookEndpoint.status != EndpointStatus.DELETED,
    )
    endpoint = await session.scalar(query.with_for_update() if for_update else query)
    if endpoint is None:
        raise EndpointNotFound(endpoint_id)
    return endpoint


async def update_endpoint(
    session: AsyncSession,
    caller: Caller,
    endpoint_id: uuid.UUID,
    *,
    url: str | None = None,
    description: str | None = None,
    event_types: Sequence[str] | None = None,
    policy: TargetPolicy,
    resolver: Resolver = system_resolver,
) -> WebhookEndpoint:
    """Change what is given (None: unchanged). A new URL passes the registration's checks, and
    a refused one changes nothing. Pending deliveries go to the endpoint as it is when they
    are sent: to the new URL, and still sent if their type was unsubscribed meanwhile (they
    were due before the change)."""
    endpoint = await get_endpoint(session, caller, endpoint_id, for_update=True)
    target = None if url is None else await resolve(url, policy, resolver=resolver)
    if target is not None:
        endpoint.url = str(target.url)
    if description is not None:
        endpoint.description = description
    if event_types is not None:
        endpoint.event_types = sorted(set(event_types))
    await session.flush()
    return endpoint


async def rotate_secret(
    session: AsyncSession,
    caller: Caller,
    endpoint_id: uuid.UUID,
    *,
    grace: timedelta,
    vault: Vault,
    now: datetime,
) -> tuple[WebhookEndpoint, str]:
    """A new signing secret for the endpoint, in the clear (shown this once); the one it
    replaces still signs deliveries, next to the new one, for ``grace``. A second rotation
    within the grace period retires the oldest secret at once: two are in force at most."""
    endpoint = await get_endpoint(session, caller, endpoint_id, for_update=True)
    if endpoint.owner_id != caller.organization_id:
        # The operator may switch a partner's endpoint off, but a secret it chose would be one
        # the owner never learns: the owner rotates.
        raise SecretIsTheOwners(f"Endpoint {endpoint_id} belongs to {endpoint.owner_id}.")
    secret = new_signing_secret()
    endpoint.previous_signing_secret_encrypted = endpoint.signing_secret_encrypted
    endpoint.previous_secret_expires_at = now + grace
    endpoint.signing_secret_encrypted = vault.encrypt({SECRET_KEY: secret})
    endpoint.secret_rotated_at = now
    await session.flush()
    return endpoint, secret


async def delete_endpoint(
    session: AsyncSession, caller: Caller, endpoint_id: uuid.UUID, *, now: datetime
) -> None:
    """Retire the endpoint for good: nothing more is sent to it, what was pending fails (a
    provisioning call too, so orders and the operator hear of it), and it is gone from the
    API. Its deliveries stay readable by id, as history."""
    endpoint = await get_endpoint(session, caller, endpoint_id, for_update=True)
    await _fail_pending(
        session,
        endpoint,
        error="endpoint deleted",
        reason="The partner deleted its provisioning endpoint.",
        now=now,
    )
    endpoint.status = EndpointStatus.DELETED
    endpoint.deleted_at = now
    # Nothing signs with it any more; a secret kept for no purpose is only a risk.
    endpoint.previous_signing_secret_encrypted = None
    endpoint.previous_secret_expires_at = None
    await session.flush()


async def enable_endpoint(
    session: AsyncSession,
    caller: Caller,
    endpoint_id: uuid.UUID,
    *,
    policy: TargetPolicy,
    resolver: Resolver = system_resolver,
) -> WebhookEndpoint:
    """Switch a disabled endpoint back on with a clean record (its target checked again).
    Deliveries failed meanwhile stay failed: the owner redelivers those it wants."""
    endpoint = await get_endpoint(session, caller, endpoint_id, for_update=True)
    await resolve(endpoint.url, policy, resolver=resolver)
    endpoint.status = EndpointStatus.ACTIVE
    endpoint.consecutive_failures = 0
    endpoint.failing_since = None
    endpoint.disabled_at = None
    endpoint.disabled_reason = None
    await session.flush()
    return endpoint


async def disable_endpoint(
    session: AsyncSession, caller: Caller, endpoint_id: uuid.UUID, *, now: datetime
) -> WebhookEndpoint:
    """The owner stops deliveries; what was still pending fails (provisioning calls too, so
    the operator hears of them)."""
    endpoint = await get_endpoint(session, caller, endpoint_id, for_update=True)
    if endpoint.status == EndpointStatus.ACTIVE:
        await disable(session, endpoint, reason="disabled by its owner", now=now, notify=False)
    return endpoint


async def disable(
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    *,
    reason: str,
    now: datetime,
    notify: bool = True,
) -> None:
    """Disable ``endpoint`` (locked by the caller), fail what it still had pending, and tell
    its owner unless the owner did it."""
    endpoint.status = EndpointStatus.DISABLED
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason
    await _fail_pending(
        session,
        endpoint,
        error=f"endpoint disabled: {reason}",
        reason=f"The partner's endpoint was disabled: {reason}.",
        now=now,
    )
    if notify:
        session.add(
            WebhookNotification(
                notification_id=uuid.uuid4(),
                owner_id=endpoint.owner_id,
                endpoint_id=endpoint.endpoint_id,
                kind="endpoint_disabled",
                message=f"Webhook endpoint {endpoint.url} was disabled: {reason}. Fix it, then "
                "enable it again and redeliver what it missed.",
                created_at=now,
            )
        )
        logger.warning(
            "webhook endpoint disabled",
            extra={"endpoint_id": str(endpoint.endpoint_id), "reason": reason},
        )
    await session.flush()


async def _fail_pending(
    session: AsyncSession, endpoint: WebhookEndpoint, *, error: str, reason: str, now: datetime
) -> None:
    """Fail what ``endpoint`` still had pending (``error`` in the delivery log); a provisioning
    call's failure is told, for ``reason``."""
    from integrations.provisioning import service as provisioning  # it builds on this module

    pending = (
        await session.scalars(
            select(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint_id == endpoint.endpoint_id,
                WebhookDelivery.status == DeliveryStatus.PENDING,
            )
            .with_for_update()
        )
    ).all()
    for delivery in pending:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        delivery.last_error = error
        if delivery.purpose == DeliveryPurpose.PROVISIONING:
            await provisioning.settle_failure(session, delivery, reason=reason, now=now)
    await session.flush()


def message_body(message_id: str, message_type: str, occurred_at: datetime, data: Any) -> bytes:
    """The JSON every delivery carries: ``id`` to deduplicate by, ``type``, ``occurred_at``
    and the ``data``. Encoded once and stored, so every attempt sends (and signs) the same
    bytes."""
    message = {
        "id": message_id,
        "type": message_type,
        "occurred_at": occurred_at.isoformat(),
        "data": data,
    }
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


async def enqueue(
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    *,
    purpose: DeliveryPurpose,
    message_id: str,
    message_type: str,
    body: bytes,
    now: datetime,
) -> uuid.UUID | None:
    """A delivery due now; None if this endpoint already has this message."""
    delivery_id: uuid.UUID | None = await session.scalar(
        insert(WebhookDelivery)
        .values(
            delivery_id=uuid.uuid4(),
            endpoint_id=endpoint.endpoint_id,
            owner_id=endpoint.owner_id,
            purpose=purpose,
            message_id=message_id,
            event_type=message_type,
            body=body,
            status=DeliveryStatus.PENDING,
            attempts=0,
            round_attempts=0,
            next_attempt_at=now,
            created_at=now,
            # Its delivery continues the trace of the event (or the change) that queued it.
            traceparent=tracing.current_traceparent(),
        )
        .on_conflict_do_nothing(index_elements=["endpoint_id", "message_id"])
        .returning(WebhookDelivery.delivery_id)
    )
    return delivery_id


async def fan_out(session: AsyncSession, event: Event, envelope: CloudEvent) -> int:
    """Deliveries of ``event`` to every active endpoint of the organizations it concerns that
    subscribed to its type; how many."""
    organizations = audience(event)
    message_type = public_type(envelope.type)
    if not organizations:
        return 0
    endpoints = (
        await session.scalars(
            select(WebhookEndpoint).where(
                WebhookEndpoint.owner_id.in_(organizations),
                WebhookEndpoint.status == EndpointStatus.ACTIVE,
                WebhookEndpoint.event_types.contains([message_type]),
            )
        )
    ).all()
    body = message_body(
        str(envelope.id), message_type, envelope.time, event.model_dump(mode="json")
    )
    created = 0
    for endpoint in endpoints:
        if await enqueue(
            session,
            endpoint,
            purpose=DeliveryPurpose.EVENT,
            message_id=str(envelope.id),
            message_type=message_type,
            body=body,
            now=envelope.time,
        ):
            created += 1
    return created


def _deliveries_visible_to(caller: Caller) -> ColumnElement[bool]:
    return visible_to(caller, WebhookDelivery.owner_id)


async def list_deliveries(
    session: AsyncSession,
    caller: Caller,
    endpoint_id: uuid.UUID,
    *,
    status: DeliveryStatus | None,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[WebhookDelivery], str | None]:
    """An endpoint's deliveries, oldest first."""
    await get_endpoint(session, caller, endpoint_id)
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, _deliveries_visible_to(caller))
        .order_by(WebhookDelivery.created_at, WebhookDelivery.delivery_id)
        .limit(limit + 1)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    after = _page_after(WebhookDelivery.created_at, WebhookDelivery.delivery_id, cursor)
    if after is not None:
        query = query.where(after)
    rows = (await session.scalars(query)).all()
    page = rows[:limit]
    last = page[-1] if len(rows) > limit else None
    return page, encode_cursor((last.created_at, last.delivery_id)) if last else None


async def get_delivery(
    session: AsyncSession, caller: Caller, delivery_id: uuid.UUID, *, for_update: bool = False
) -> WebhookDelivery:
    query = select(WebhookDelivery).where(
        WebhookDelivery.delivery_id == delivery_id, _deliveries_visible_to(caller)
    )
    delivery = await session.scalar(query.with_for_update() if for_update else query)
    if delivery is None:
        raise DeliveryNotFound(delivery_id)
    return delivery


async def attempts_of(session: AsyncSession, delivery_id: uuid.UUID) -> Sequence[DeliveryAttempt]:
    rows = await session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id == delivery_id)
        .order_by(DeliveryAttempt.attempt_no)
    )
    return rows.all()


async def redeliver(
    session: AsyncSession, caller: Caller, delivery_id: uuid.UUID, *, now: datetime
) -> WebhookDelivery:
    """Send a delivered or failed message again, now, with a fresh retry schedule."""
    delivery = await get_delivery(session, caller, delivery_id, for_update=True)
    endpoint = await session.get_one(WebhookEndpoint, delivery.endpoint_id)
    if endpoint.status == EndpointStatus.DELETED:
        raise EndpointDeleted(f"Endpoint {endpoint.endpoint_id} was deleted.")
    if endpoint.status != EndpointStatus.ACTIVE:
        raise EndpointDisabled(f"Enable endpoint {endpoint.endpoint_id} first.")
    if delivery.status == DeliveryStatus.PENDING:
        raise DeliveryInProgress(
            f"Delivery {delivery_id} is pending; its next attempt is at {delivery.next_attempt_at}."
        )
    delivery.status = DeliveryStatus.PENDING
    delivery.round_attempts = 0
    delivery.next_attempt_at = now
    await session.flush()
    return delivery


async def list_notifications(
    session: AsyncSession, caller: Caller, *, limit: int
) -> Sequence[WebhookNotification]:
    """What the caller's organization was told about its endpoints, newest first."""
    rows = await session.scalars(
        select(WebhookNotification)
        .where(visible_to(caller, WebhookNotification.owner_id))
        .order_by(WebhookNotification.created_at.desc())
        .limit(limit)
    )
    return rows.all()


async def active_provisioning_endpoint(
    session: AsyncSession, partner_id: uuid.UUID
) -> WebhookEndpoint | None:
    """Where the partner takes provisioning calls, if it registered such an endpoint."""
    endpoint: WebhookEndpoint | None = await session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.owner_id == partner_id,
            WebhookEndpoint.provisioning,
            WebhookEndpoint.status == EndpointStatus.ACTIVE,
        )
    )
    return endpoint
