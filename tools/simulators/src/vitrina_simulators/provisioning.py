"""The partner simulator (:mod:`vitrina_simulators.partner`) as a process of its own, for the local
stack (``vitrina dev``) and docker-compose:
``python -m vitrina_simulators.provisioning --port 8092``.

Vitrina calls ``POST /provisioning`` (the partner's endpoint, verified and acknowledged exactly as
:class:`~vitrina_simulators.partner.PartnerServer` does). The signing secret is made by integrations
when the endpoint is registered, so whoever registers it hands it over afterwards; the test
controls under ``/simulator`` (not part of any partner's API) are for that and for looking inside:

- ``PUT /simulator/secret`` ``{"secret": "..."}`` — the endpoint's signing secret;
- ``GET /simulator/calls`` — every call received: its message, whether its signature held, why
  not, and the account the partner answered;
- ``GET /simulator/stats`` — counts (also the health check).

A module of its own rather than a ``main()`` in ``partner.py``: the partner's verification is
the tests' yardstick and stays independent of how a process serves it. State lives in memory and
is lost on restart (the seed hands the secret over again when ``vitrina dev`` starts).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field

from vitrina_simulators.partner import Call, PartnerServer


class SecretBody(BaseModel):
    secret: str = Field(min_length=1, max_length=500)


def create_app(partner: PartnerServer) -> FastAPI:
    """The partner's endpoint plus the ``/simulator`` controls."""
    app = partner.app()
    app.title = "Partner provisioning endpoint (simulator)"

    @app.put("/simulator/secret", status_code=204)
    async def set_secret(body: SecretBody) -> None:
        partner.secret = body.secret

    @app.get("/simulator/calls")
    async def calls() -> list[dict[str, Any]]:
        return [_described(call, partner) for call in partner.calls]

    @app.get("/simulator/stats")
    async def stats() -> dict[str, Any]:
        verified = len(partner.verified)
        return {
            "calls": len(partner.calls),
            "verified": verified,
            "refused": len(partner.calls) - verified,
            "accounts": len(partner.accounts),
            "has_secret": partner.secret is not None,
        }

    return app


def _described(call: Call, partner: PartnerServer) -> dict[str, Any]:
    try:
        message: Any = call.message
    except ValueError:  # not JSON: shown as text, it was refused anyway
        message = call.body.decode("utf-8", errors="replace")
    subscription = (
        message.get("data", {}).get("subscription", {}) if isinstance(message, dict) else {}
    )
    subscription_id = str(subscription.get("subscription_id", "")) if subscription else ""
    return {
        "verified": call.verified,
        "refusal": call.refusal,
        "message": message,
        "account_id": partner.accounts.get(subscription_id) if call.verified else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vitrina_simulators.provisioning")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8092)
    args = parser.parse_args(argv)
    # The URL Vitrina is given is the one its registration names; this is where it listens.
    partner = PartnerServer(url=f"http://{args.host}:{args.port}/provisioning")
    print(json.dumps({"provisioning_endpoint": partner.url}))
    uvicorn.run(create_app(partner), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
