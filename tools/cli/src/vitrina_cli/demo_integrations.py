"""The demo's external systems wired into integrations, through its API as an operator and a
partner would do it:

1. the operator's EDO connector (to the EDO operator simulator, logging in as the operator's box)
   and its 1C connector (to the 1C simulator's OData root);
2. a demo partner's provisioning endpoint (``POST /webhooks/endpoints``), pointing at the partner
   simulator, which is then handed the signing secret integrations answered.

Repeatable, like the catalog seed: a connector found under its demo name is kept (its address
corrected if the simulators moved to other ports), and a connector the operator registered
itself for that kind — a real EDO operator or 1C base — is left alone and no simulator is started
for it. The endpoint's signing secret is shown once, when it is registered, so it is kept in
``seed.json`` and handed to the partner simulator again on every start (the simulator keeps
nothing across restarts). The seed's endpoint (found by the id in ``seed.json`` or by its demo
description) is repaired as the partner would repair it: moved to where the simulator listens
now (``PATCH``), switched back on if integrations disabled it while nothing answered, and given
a new secret (``rotate-secret``) when ``seed.json``, and with it the secret, was lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from uuid import uuid4

import httpx

from vitrina_cli.seed import (
    ClientCredentials,
    SeededPartner,
    SeedError,
    access_token,
    client_credentials,
    operator_authorization,
)
from vitrina_cli.simulators import (
    EDO_OPERATOR_CLIENT,
    ONEC_BASE,
    ONEC_USER,
    OPERATOR_EDO_BOX,
    SimulatorUrls,
)

EDO_CONNECTOR_NAME = "edo-simulator"
ONEC_CONNECTOR_NAME = "onec-simulator"
"""The demo connectors' names (docker-compose.yml registers the same): how a re-run finds them."""

PROVISIONING_PARTNER = "nordcloud"
"""The demo partner (``demo_catalog``'s key) whose provisioning endpoint is the partner simulator:
ООО «Норд Облако», so ordering one of its products (the README's demo) calls it."""
PROVISIONING_CLIENT_NAME = "Демо: вызовы подключения"
"""The demo partner's second API client, for integrations: the catalog client keeps its scopes."""
PROVISIONING_SCOPES = ("integrations:read", "integrations:write")
PROVISIONING_ENDPOINT_DESCRIPTION = "Демо: симулятор партнёра (vitrina dev)"
"""How a re-run recognises the endpoint an earlier seed registered when ``seed.json`` is gone."""

_PAGE_SIZE = 200

StartSimulators = Callable[[set[str]], None]
"""Start the simulators named (``simulators.SIMULATOR_NAMES``) and wait until they answer."""


def demo_connectors(simulators: SimulatorUrls) -> list[dict[str, Any]]:
    """Bodies of integrations' ``POST /connectors`` for the simulators given."""
    connectors: list[dict[str, Any]] = []
    if simulators.edo_operator:
        connectors.append(
            {
                "kind": "edo_operator",
                "name": EDO_CONNECTOR_NAME,
                "endpoint_url": simulators.edo_operator,
                "auth_method": "oauth2_client_credentials",
                "token_url": f"{simulators.edo_operator}/oauth/token",
                "login": EDO_OPERATOR_CLIENT[0],
                "secrets": {"client_secret": EDO_OPERATOR_CLIENT[1]},
                "options": {"box_id": OPERATOR_EDO_BOX},
            }
        )
    if simulators.onec:
        connectors.append(
            {
                "kind": "onec_odata",
                "name": ONEC_CONNECTOR_NAME,
                "endpoint_url": f"{simulators.onec}/{ONEC_BASE}/odata/standard.odata",
                "auth_method": "basic",
                "login": ONEC_USER[0],
                "secrets": {"password": ONEC_USER[1]},
            }
        )
    return connectors


@dataclass(frozen=True)
class ConnectorSeeded:
    kind: str
    name: str
    connector_id: str | None
    outcome: str
    """``registered``, ``kept``, ``moved`` (its address corrected) or ``operator's own`` (a
    connector the operator registered itself serves the kind; nothing was registered)."""


@dataclass(frozen=True)
class ProvisioningSeeded:
    partner_id: str
    partner_name: str
    client_id: str
    client_secret: str
    """The partner's integrations client, kept so a person can list its deliveries."""
    endpoint_id: str | None
    url: str | None
    signing_secret: str | None
    outcome: str
    """``registered``, ``kept``, ``partner's own`` (it has an endpoint elsewhere), ``stuck``
    (see ``note``), or what was repaired, comma-separated: ``enabled``, ``moved`` (its URL
    corrected), ``secret rotated`` (the one in seed.json was missing)."""
    note: str | None = None


@dataclass(frozen=True)
class IntegrationsSeeded:
    connectors: list[ConnectorSeeded] = field(default_factory=list)
    provisioning: ProvisioningSeeded | None = None
    started: list[str] = field(default_factory=list)
    """The simulators started for them."""


def saved_provisioning(saved: dict[str, Any] | None) -> dict[str, Any]:
    """The provisioning part of an earlier run's ``seed.json`` ``integrations`` (or empty)."""
    try:
        provisioning = (saved or {})["provisioning"]
        return dict(provisioning) if isinstance(provisioning, dict) else {}
    except (KeyError, TypeError):
        return {}


def seed_integrations(
    client: httpx.Client,
    *,
    identity_url: str,
    integrations_url: str,
    simulators: SimulatorUrls,
    partner: SeededPartner | None,
    operator: ClientCredentials,
    saved: dict[str, Any] | None = None,
    start_simulators: StartSimulators | None = None,
) -> IntegrationsSeeded:
    """Look first, then start the simulators something will talk to, then register.

    ``partner`` is the seeded demo partner (``PROVISIONING_PARTNER``); ``saved`` the
    ``integrations`` of an earlier ``seed.json``. Without ``start_simulators`` the simulators are
    taken to be running already (docker-compose's).
    """
    authorization = operator_authorization(
        client, identity_url, client_id=operator.client_id, client_secret=operator.client_secret
    )
    operator_id = _organization_of(client, identity_url, authorization)
    wanted = demo_connectors(simulators)
    existing = [
        connector
        for connector in _pages(client, f"{integrations_url}/connectors", authorization)
        if connector["organization_id"] == operator_id
    ]
    plans = [_connector_plan(body, existing) for body in wanted]

    endpoint_plan: _EndpointPlan | None = None
    if simulators.partner and partner is not None:
        endpoint_plan = _endpoint_plan(
            client,
            identity_url=identity_url,
            integrations_url=integrations_url,
            operator=authorization,
            partner=partner,
            url=f"{simulators.partner}/provisioning",
            saved=saved_provisioning(saved),
        )

    needed = {_SIMULATOR_OF_KIND[plan.body["kind"]] for plan in plans if plan.needs_simulator}
    if endpoint_plan is not None and endpoint_plan.needs_simulator:
        needed.add("partner")
    if start_simulators is not None and needed:
        start_simulators(needed)

    connectors = [_apply_connector(client, integrations_url, authorization, plan) for plan in plans]
    provisioning = (
        _apply_endpoint(client, integrations_url, endpoint_plan, simulators.partner or "")
        if endpoint_plan is not None
        else None
    )
    return IntegrationsSeeded(
        connectors=connectors, provisioning=provisioning, started=sorted(needed)
    )


_SIMULATOR_OF_KIND = {"edo_operator": "edo-operator", "onec_odata": "onec"}


# -- the operator's connectors --------------------------------------------------------------


@dataclass(frozen=True)
class _ConnectorPlan:
    body: dict[str, Any]
    ours: dict[str, Any] | None
    """The connector an earlier seed registered under the demo name."""
    operators_own: dict[str, Any] | None
    """An enabled connector of the kind the operator registered itself."""

    @property
    def needs_simulator(self) -> bool:
        return self.operators_own is None


def _connector_plan(body: dict[str, Any], existing: list[dict[str, Any]]) -> _ConnectorPlan:
    ours = next((c for c in existing if c["name"] == body["name"]), None)
    # Integrations sends through the oldest enabled connector of a kind: if the operator has
    # its own, a demo one would never be used (and must not take over if it is disabled later).
    own = next(
        (
            c
            for c in existing
            if c["kind"] == body["kind"] and c["enabled"] and c["name"] != body["name"]
        ),
        None,
    )
    return _ConnectorPlan(body=body, ours=ours, operators_own=own if ours is None else None)


def _apply_connector(
    client: httpx.Client,
    integrations_url: str,
    authorization: dict[str, str],
    plan: _ConnectorPlan,
) -> ConnectorSeeded:
    body = plan.body
    if plan.operators_own is not None:
        own = plan.operators_own
        return ConnectorSeeded(body["kind"], own["name"], own["connector_id"], "operator's own")
    if plan.ours is not None:
        ours = plan.ours
        moved = {
            name: body[name]
            for name in ("endpoint_url", "token_url")
            if name in body and httpx.URL(str(ours.get(name) or "")) != httpx.URL(body[name])
        }
        if not moved:
            return ConnectorSeeded(body["kind"], body["name"], ours["connector_id"], "kept")
        # Another --base-port than last time: the simulators listen elsewhere now.
        response = client.patch(
            f"{integrations_url}/connectors/{ours['connector_id']}",
            json=moved,
            headers=authorization,
        )
        if response.status_code != HTTPStatus.OK:
            raise SeedError(f"moving the connector {body['name']}: {_describe(response)}")
        return ConnectorSeeded(body["kind"], body["name"], ours["connector_id"], "moved")
    response = client.post(
        f"{integrations_url}/connectors",
        json=body,
        headers={**authorization, "Idempotency-Key": f"vitrina-demo-seed-connector-{body['name']}"},
    )
    if response.status_code != HTTPStatus.CREATED:
        raise SeedError(f"registering the connector {body['name']}: {_describe(response)}")
    return ConnectorSeeded(
        body["kind"], body["name"], str(response.json()["connector_id"]), "registered"
    )


# -- the demo partner's provisioning endpoint -----------------------------------------------


@dataclass(frozen=True)
class _EndpointPlan:
    partner: SeededPartner
    credentials: ClientCredentials
    authorization: dict[str, str]
    url: str
    current: dict[str, Any] | None
    """The partner's provisioning endpoint: its active one, else the seed's disabled one."""
    ours: bool
    """``current`` is the one an earlier seed registered (by seed.json's id or the demo
    description): the seed may move it, switch it on and rotate its secret."""
    signing_secret: str | None
    """``current``'s secret, from ``seed.json``."""
    blocked: str | None
    """Why no endpoint can be registered although the partner has no active one."""

    @property
    def partners_own(self) -> bool:
        """The partner takes its calls elsewhere (an endpoint no seed registered)."""
        return (
            self.current is not None
            and not self.ours
            and not _same_url(self.current["url"], self.url)
        )

    @property
    def needs_simulator(self) -> bool:
        return not self.partners_own


def _endpoint_plan(
    client: httpx.Client,
    *,
    identity_url: str,
    integrations_url: str,
    operator: dict[str, str],
    partner: SeededPartner,
    url: str,
    saved: dict[str, Any],
) -> _EndpointPlan:
    credentials: ClientCredentials | None = None
    if saved.get("partner_id") == partner.id and saved.get("client_id"):
        credentials = ClientCredentials(str(saved["client_id"]), str(saved["client_secret"]))
    token = access_token(client, identity_url, credentials) if credentials else None
    if credentials is None or token is None:
        credentials = client_credentials(
            client,
            identity_url,
            operator,
            partner.id,
            name=PROVISIONING_CLIENT_NAME,
            scopes=PROVISIONING_SCOPES,
            idempotency_key=f"vitrina-demo-seed-provisioning-client-{partner.key}",
            owner=partner.name,
        )
        token = access_token(client, identity_url, credentials)
        if token is None:
            raise SeedError(
                f"identity refuses the credentials it just gave {credentials.client_id}"
            )
    authorization = {"Authorization": f"Bearer {token}"}
    endpoints = [
        endpoint
        for endpoint in _pages(client, f"{integrations_url}/webhooks/endpoints", authorization)
        if endpoint["provisioning"]
    ]

    def seeded(endpoint: dict[str, Any]) -> bool:
        return bool(
            saved.get("endpoint_id") == endpoint["endpoint_id"]
            or endpoint["description"] == PROVISIONING_ENDPOINT_DESCRIPTION
        )

    current = next((e for e in endpoints if e["status"] == "active"), None)
    blocked = None
    if current is None:
        # Disabled by integrations after failing while the simulator was down, say: the seed
        # switches its own back on; one of the partner's it leaves alone.
        current = next((e for e in endpoints if seeded(e)), None)
        if current is None and endpoints:
            blocked = (
                f"{partner.name} has a provisioning endpoint that is not active "
                f"({endpoints[0]['endpoint_id']}, {endpoints[0]['status']}); integrations "
                "takes no second one"
            )
    secret = (
        str(saved["signing_secret"])
        if current is not None
        and saved.get("endpoint_id") == current["endpoint_id"]
        and saved.get("signing_secret")
        else None
    )
    return _EndpointPlan(
        partner=partner,
        credentials=credentials,
        authorization=authorization,
        url=url,
        current=current,
        ours=current is not None and seeded(current),
        signing_secret=secret,
        blocked=blocked,
    )


def _apply_endpoint(
    client: httpx.Client, integrations_url: str, plan: _EndpointPlan, simulator_url: str
) -> ProvisioningSeeded:
    def seeded(
        outcome: str,
        endpoint: dict[str, Any] | None,
        secret: str | None = None,
        note: str | None = None,
    ) -> ProvisioningSeeded:
        return ProvisioningSeeded(
            partner_id=plan.partner.id,
            partner_name=plan.partner.name,
            client_id=plan.credentials.client_id,
            client_secret=plan.credentials.client_secret,
            endpoint_id=str(endpoint["endpoint_id"]) if endpoint else None,
            url=str(endpoint["url"]) if endpoint else None,
            signing_secret=secret,
            outcome=outcome,
            note=note,
        )

    current = plan.current
    if current is None and plan.blocked is not None:
        fresh_start = "`vitrina dev --fresh` starts over with empty databases"
        return seeded("stuck", None, note=f"{plan.blocked}; {fresh_start}")
    if plan.partners_own:
        return seeded("partner's own", current)  # by hand, or a real server: left alone
    if current is not None:
        endpoint, secret, repairs = _repair_endpoint(client, integrations_url, plan, current)
        outcome = ", ".join(repairs) or "kept"
    else:
        response = client.post(
            f"{integrations_url}/webhooks/endpoints",
            json={
                "url": plan.url,
                "provisioning": True,
                "description": PROVISIONING_ENDPOINT_DESCRIPTION,
            },
            headers={
                **plan.authorization,
                "Idempotency-Key": f"vitrina-demo-seed-endpoint-{plan.partner.key}",
            },
        )
        if response.status_code != HTTPStatus.CREATED:
            raise SeedError(
                f"registering {plan.partner.name}'s provisioning endpoint: {_describe(response)}"
            )
        endpoint, outcome = response.json(), "registered"
        secret = str(endpoint["signing_secret"])
    assert secret is not None
    handed = client.put(f"{simulator_url}/simulator/secret", json={"secret": secret})
    if handed.status_code != HTTPStatus.NO_CONTENT:
        raise SeedError(f"the partner simulator refused the signing secret: {_describe(handed)}")
    return seeded(outcome, endpoint, secret)


def _repair_endpoint(
    client: httpx.Client, integrations_url: str, plan: _EndpointPlan, endpoint: dict[str, Any]
) -> tuple[dict[str, Any], str, list[str]]:
    """``endpoint`` pointing at the simulator, active, with a secret the seed knows, as the
    partner (its owner) would make it; the endpoint as it is then, its secret, what was done."""
    url = f"{integrations_url}/webhooks/endpoints/{endpoint['endpoint_id']}"
    repairs: list[str] = []
    if not _same_url(endpoint["url"], plan.url):
        # Another --base-port than last time: the simulator listens elsewhere now.
        moved = client.patch(url, json={"url": plan.url}, headers=plan.authorization)
        if moved.status_code != HTTPStatus.OK:
            raise SeedError(
                f"moving {plan.partner.name}'s provisioning endpoint: {_describe(moved)}"
            )
        endpoint = moved.json()
        repairs.append("moved")
    if endpoint["status"] != "active":
        enabled = client.post(f"{url}/enable", headers=plan.authorization)
        if enabled.status_code != HTTPStatus.OK:
            raise SeedError(
                f"enabling {plan.partner.name}'s provisioning endpoint: {_describe(enabled)}"
            )
        endpoint = enabled.json()
        repairs.append("enabled")
    secret = plan.signing_secret
    if secret is None:
        # Lost with seed.json (integrations shows a secret once): a new one. The previous one
        # still signs deliveries during the grace period, next to the new one.
        rotated = client.post(
            f"{url}/rotate-secret",
            headers={**plan.authorization, "Idempotency-Key": f"vitrina-demo-seed-{uuid4()}"},
        )
        if rotated.status_code != HTTPStatus.OK:
            raise SeedError(
                f"rotating the secret of {plan.partner.name}'s provisioning endpoint: "
                f"{_describe(rotated)}"
            )
        endpoint = rotated.json()
        secret = str(endpoint.pop("signing_secret"))
        repairs.append("secret rotated")
    return endpoint, secret, repairs


# -- helpers --------------------------------------------------------------------------------


def _same_url(left: str, right: str) -> bool:
    return httpx.URL(left) == httpx.URL(right)


def _organization_of(client: httpx.Client, identity_url: str, authorization: dict[str, str]) -> str:
    token = authorization["Authorization"].removeprefix("Bearer ")
    response = client.post(
        f"{identity_url}/oauth/introspect", data={"token": token}, headers=authorization
    )
    if response.status_code != HTTPStatus.OK or not response.json().get("active"):
        raise SeedError(f"the operator's token cannot be introspected: {_describe(response)}")
    return str(response.json()["org_id"])


def _pages(
    client: httpx.Client, url: str, authorization: dict[str, str]
) -> Iterator[dict[str, Any]]:
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": _PAGE_SIZE}
        if cursor is not None:
            params["cursor"] = cursor
        response = client.get(url, params=params, headers=authorization)
        if response.status_code != HTTPStatus.OK:
            raise SeedError(f"listing {url}: {_describe(response)}")
        page = response.json()
        yield from page["items"]
        cursor = page.get("next_cursor")
        if cursor is None:
            return


def _describe(response: httpx.Response) -> str:
    return f"HTTP {response.status_code} {response.text[:500]}"
