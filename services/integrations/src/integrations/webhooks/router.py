from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from integrations.settings import IntegrationsSettings
from integrations.webhooks import service
from integrations.webhooks.domain import DeliveryStatus
from integrations.webhooks.schemas import (
    AttemptRead,
    DeliveryDetail,
    DeliveryPage,
    DeliveryRead,
    EndpointCreate,
    EndpointCreated,
    EndpointPage,
    EndpointRead,
    EndpointUpdate,
    NotificationRead,
    SecretRotated,
)
from integrations.webhooks.targets import TargetPolicy
from vitrina_kit.api import SessionDep
from vitrina_kit.auth import Caller, requires
from vitrina_kit.idempotency import IdempotencyDep
from vitrina_kit.problems import PROBLEM_RESPONSES
from vitrina_kit.vault import Vault, vault_for

router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Caller, requires("integrations:read")]
Writer = Annotated[Caller, requires("integrations:write")]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=200)]


def _settings(request: Request) -> IntegrationsSettings:
    settings = request.app.state.settings
    assert isinstance(settings, IntegrationsSettings)
    return settings


def _target_policy(request: Request) -> TargetPolicy:
    settings = _settings(request)
    return TargetPolicy.of(
        allow_http=settings.webhook_allow_http, allowed_networks=settings.webhook_allowed_networks
    )


def _vault(request: Request) -> Vault:
    return vault_for(_settings(request).connector_encryption_keys.get_secret_value())


PolicyDep = Annotated[TargetPolicy, Depends(_target_policy)]
VaultDep = Annotated[Vault, Depends(_vault)]


@router.post("/endpoints", status_code=201, response_model=EndpointCreated)
async def register_endpoint(
    body: EndpointCreate,
    caller: Writer,
    session: SessionDep,
    policy: PolicyDep,
    vault: VaultDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Register an endpoint of the caller's organization for the event types it wants. The
    answer carries the signing secret, shown this once (and to a retry with the same
    Idempotency-Key, which gets the first answer back)."""

    async def register() -> EndpointCreated:
        endpoint, secret = await service.register_endpoint(
            session,
            caller,
            url=body.url,
            description=body.description,
            event_types=body.event_types,
            provisioning=body.provisioning,
            policy=policy,
            vault=vault,
            now=datetime.now(UTC),
        )
        read = EndpointRead.model_validate(endpoint)
        return EndpointCreated(**read.model_dump(), signing_secret=secret)

    return await idempotency.respond(
        register,
        response_model=EndpointCreated,
        location=lambda created: f"/webhooks/endpoints/{created.endpoint_id}",
    )


@router.get("/endpoints", response_model=EndpointPage)
async def list_endpoints(
    caller: Reader, session: SessionDep, cursor: Cursor = None, limit: Limit = 50
) -> EndpointPage:
    """The caller's endpoints (the operator: everyone's), oldest first."""
    items, next_cursor = await service.list_endpoints(session, caller, cursor=cursor, limit=limit)
    return EndpointPage(
        items=[EndpointRead.model_validate(item) for item in items], next_cursor=next_cursor
    )


@router.get("/endpoints/{endpoint_id}", response_model=EndpointRead)
async def get_endpoint(endpoint_id: uuid.UUID, caller: Reader, session: SessionDep) -> EndpointRead:
    return EndpointRead.model_validate(await service.get_endpoint(session, caller, endpoint_id))


@router.patch("/endpoints/{endpoint_id}", response_model=EndpointRead)
async def update_endpoint(
    endpoint_id: uuid.UUID,
    body: EndpointUpdate,
    caller: Writer,
    session: SessionDep,
    policy: PolicyDep,
) -> EndpointRead:
    """Change the URL (checked as at registration), the description or the event types."""
    endpoint = await service.update_endpoint(
        session, caller, endpoint_id, **body.model_dump(exclude_unset=True), policy=policy
    )
    return EndpointRead.model_validate(endpoint)


@router.delete("/endpoints/{endpoint_id}", status_code=204)
async def delete_endpoint(endpoint_id: uuid.UUID, caller: Writer, session: SessionDep) -> Response:
    """Retire the endpoint: nothing more is sent to it, what was pending fails."""
    await service.delete_endpoint(session, caller, endpoint_id, now=datetime.now(UTC))
    return Response(status_code=204)


@router.post("/endpoints/{endpoint_id}/rotate-secret", response_model=SecretRotated)
async def rotate_secret(
    endpoint_id: uuid.UUID,
    request: Request,
    caller: Writer,
    session: SessionDep,
    vault: VaultDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """A new signing secret, shown this once (and to a retry with the same Idempotency-Key:
    a lost answer must not leave the owner without it). The previous secret keeps signing
    deliveries too until ``previous_secret_expires_at``. The owner only."""
    grace = timedelta(hours=_settings(request).webhook_secret_grace_hours)

    async def rotate() -> SecretRotated:
        endpoint, secret = await service.rotate_secret(
            session, caller, endpoint_id, grace=grace, vault=vault, now=datetime.now(UTC)
        )
        read = EndpointRead.model_validate(endpoint)
        return SecretRotated(**read.model_dump(), signing_secret=secret)

    return await idempotency.respond(rotate, response_model=SecretRotated, status_code=200)


@router.post("/endpoints/{endpoint_id}/disable", response_model=EndpointRead)
async def disable_endpoint(
    endpoint_id: uuid.UUID, caller: Writer, session: SessionDep
) -> EndpointRead:
    """Stop deliveries; what was pending fails (and can be redelivered once enabled)."""
    endpoint = await service.disable_endpoint(session, caller, endpoint_id, now=datetime.now(UTC))
    return EndpointRead.model_validate(endpoint)


@router.post("/endpoints/{endpoint_id}/enable", response_model=EndpointRead)
async def enable_endpoint(
    endpoint_id: uuid.UUID, caller: Writer, session: SessionDep, policy: PolicyDep
) -> EndpointRead:
    """Switch a disabled endpoint back on (its URL is checked again)."""
    endpoint = await service.enable_endpoint(session, caller, endpoint_id, policy=policy)
    return EndpointRead.model_validate(endpoint)


@router.get("/endpoints/{endpoint_id}/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    endpoint_id: uuid.UUID,
    caller: Reader,
    session: SessionDep,
    status: DeliveryStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> DeliveryPage:
    """An endpoint's deliveries, oldest first."""
    items, next_cursor = await service.list_deliveries(
        session, caller, endpoint_id, status=status, cursor=cursor, limit=limit
    )
    return DeliveryPage(
        items=[DeliveryRead.model_validate(item) for item in items], next_cursor=next_cursor
    )


async def _detail(session: SessionDep, caller: Caller, delivery_id: uuid.UUID) -> DeliveryDetail:
    delivery = await service.get_delivery(session, caller, delivery_id)
    attempts = await service.attempts_of(session, delivery_id)
    return DeliveryDetail.model_validate(
        {
            **DeliveryRead.model_validate(delivery).model_dump(),
            "body": delivery.body.decode(),
            "attempt_log": [AttemptRead.model_validate(attempt) for attempt in attempts],
        }
    )


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail)
async def get_delivery(
    delivery_id: uuid.UUID, caller: Reader, session: SessionDep
) -> DeliveryDetail:
    """A delivery with the message sent and every attempt: status code, latency, error."""
    return await _detail(session, caller, delivery_id)


@router.post("/deliveries/{delivery_id}/redeliver", response_model=DeliveryRead)
async def redeliver(delivery_id: uuid.UUID, caller: Writer, session: SessionDep) -> DeliveryRead:
    """Send a delivered or failed message again now, with a fresh retry schedule."""
    delivery = await service.redeliver(session, caller, delivery_id, now=datetime.now(UTC))
    return DeliveryRead.model_validate(delivery)


@router.get("/notifications", response_model=list[NotificationRead])
async def list_notifications(
    caller: Reader, session: SessionDep, limit: Limit = 50
) -> list[NotificationRead]:
    """What the caller's organization was told about its endpoints (one disabled for
    failing, say), newest first."""
    items = await service.list_notifications(session, caller, limit=limit)
    return [NotificationRead.model_validate(item) for item in items]
