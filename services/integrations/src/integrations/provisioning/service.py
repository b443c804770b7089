"""Provisioning: a subscription change the partner must act on becomes one signed call to the
partner's provisioning endpoint, and the partner's answer becomes ``provisioning.succeeded`` or,
once the retry schedule is spent, ``provisioning.failed``.

The call travels as a webhook delivery (same signature, retries, attempt log and redelivery);
this module decides what is called and turns the outcome into events.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from integrations.provisioning.models import Provisioning
from integrations.webhooks.domain import DeliveryPurpose, SubscriptionEvent
from integrations.webhooks.models import WebhookDelivery
from integrations.webhooks.service import active_provisioning_endpoint, enqueue, message_body
from vitrina_contracts.envelope import CloudEvent
from vitrina_contracts.events.integrations import (
    PartnerResponse,
    ProvisioningAction,
    ProvisioningFailed,
    ProvisioningSucceeded,
)
from vitrina_contracts.events.orders import (
    SubscriptionActivated,
    SubscriptionCancelled,
    SubscriptionChanged,
    SubscriptionExpired,
    SubscriptionResumed,
    SubscriptionSuspended,
)
from vitrina_kit.outbox import add_event

logger = logging.getLogger(__name__)

ProvisionedEvent = (
    SubscriptionActivated
    | SubscriptionChanged
    | SubscriptionSuspended
    | SubscriptionResumed
    | SubscriptionCancelled
    | SubscriptionExpired
)


class ProvisioningStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    """The partner has no provisioning endpoint: nothing to call, nothing to report."""


def action_of(event: SubscriptionEvent) -> ProvisioningAction | None:
    """What the partner must do; None for changes it need not act on (a pending order)."""
    if isinstance(event, SubscriptionActivated):
        return "activate"
    if isinstance(event, SubscriptionChanged):
        return "change"
    if isinstance(event, SubscriptionSuspended):
        return "suspend"
    if isinstance(event, SubscriptionResumed):
        return "resume"
    # An expired trial is switched off like a cancellation (the contract has no other word).
    if isinstance(event, SubscriptionCancelled | SubscriptionExpired):
        return "cancel"
    return None


async def request(
    session: AsyncSession, event: ProvisionedEvent, envelope: CloudEvent
) -> Provisioning | None:
    """Queue the partner's call for this change; None if this change was already handled.

    Unique per subscription, version and action: the same event redelivered, or published
    twice under new ids by a relay that crashed, provisions once.
    """
    action = action_of(event)
    if action is None:
        return None
    snapshot = event.subscription
    provisioning_id = uuid.uuid4()
    inserted = await session.scalar(
        insert(Provisioning)
        .values(
            provisioning_id=provisioning_id,
            subscription_id=snapshot.subscription_id,
            subscription_version=envelope.aggregateversion,
            action=action,
            partner_id=snapshot.partner_id,
            customer_id=snapshot.customer_id,
            status=ProvisioningStatus.PENDING,
            created_at=envelope.time,
        )
        .on_conflict_do_nothing(
            index_elements=["subscription_id", "subscription_version", "action"]
        )
        .returning(Provisioning.provisioning_id)
    )
    if inserted is None:
        return None
    provisioning = await session.get_one(Provisioning, provisioning_id)
    endpoint = await active_provisioning_endpoint(session, snapshot.partner_id)
    if endpoint is None:
        provisioning.status = ProvisioningStatus.SKIPPED
        provisioning.reason = "The partner has no active provisioning endpoint."
        provisioning.completed_at = envelope.time
        await session.flush()
        return provisioning
    message_type = f"provisioning.{action}"
    data = {"action": action, **event.model_dump(mode="json")}
    provisioning.delivery_id = await enqueue(
        session,
        endpoint,
        purpose=DeliveryPurpose.PROVISIONING,
        message_id=str(provisioning_id),
        message_type=message_type,
        body=message_body(str(provisioning_id), message_type, envelope.time, data),
        now=envelope.time,
    )
    await session.flush()
    return provisioning


async def _of_delivery(session: AsyncSession, delivery: WebhookDelivery) -> Provisioning | None:
    found: Provisioning | None = await session.scalar(
        select(Provisioning)
        .where(Provisioning.delivery_id == delivery.delivery_id)
        .with_for_update()
    )
    return found


def partner_response(status_code: int, body: str) -> PartnerResponse:
    """The partner's answer as the contract carries it; ``account_id`` (or
    ``external_account_id``) of a JSON body is the partner's own id for the customer."""
    external_id: str | None = None
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # the partner's body is whatever it sent
        parsed = None
    if isinstance(parsed, dict):
        candidate = parsed.get("external_account_id", parsed.get("account_id"))
        if isinstance(candidate, str | int) and not isinstance(candidate, bool):
            external_id = str(candidate)[:200]
    return PartnerResponse(
        status_code=status_code, body=body[:4096], external_account_id=external_id
    )


async def settle_success(
    session: AsyncSession, delivery: WebhookDelivery, response: PartnerResponse, *, now: datetime
) -> None:
    """The partner acknowledged: ``provisioning.succeeded``, once (a redelivery the partner
    acknowledges again publishes nothing new; one acknowledged after a failure does)."""
    provisioning = await _of_delivery(session, delivery)
    if provisioning is None or provisioning.status == ProvisioningStatus.SUCCEEDED:
        return
    provisioning.status = ProvisioningStatus.SUCCEEDED
    provisioning.reason = None
    provisioning.completed_at = now
    await add_event(
        session,
        ProvisioningSucceeded(
            provisioning_id=provisioning.provisioning_id,
            subscription_id=provisioning.subscription_id,
            partner_id=provisioning.partner_id,
            action=provisioning.action,
            attempts=max(delivery.attempts, 1),
            response=response,
        ),
        subject=str(provisioning.subscription_id),
        aggregate_version=provisioning.subscription_version,
    )
    await session.flush()


async def settle_failure(
    session: AsyncSession,
    delivery: WebhookDelivery,
    *,
    reason: str,
    now: datetime,
    response: PartnerResponse | None = None,
) -> None:
    """Retries are spent (or the endpoint was disabled): ``provisioning.failed``, once."""
    provisioning = await _of_delivery(session, delivery)
    if provisioning is None or provisioning.status != ProvisioningStatus.PENDING:
        return
    provisioning.status = ProvisioningStatus.FAILED
    provisioning.reason = reason
    provisioning.completed_at = now
    await add_event(
        session,
        ProvisioningFailed(
            provisioning_id=provisioning.provisioning_id,
            subscription_id=provisioning.subscription_id,
            partner_id=provisioning.partner_id,
            action=provisioning.action,
            attempts=max(delivery.attempts, 1),
            reason=reason,
            response=response,
        ),
        subject=str(provisioning.subscription_id),
        aggregate_version=provisioning.subscription_version,
    )
    logger.warning(
        "provisioning failed",
        extra={"provisioning_id": str(provisioning.provisioning_id), "reason": reason},
    )
    await session.flush()
