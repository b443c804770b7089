"""Guessing client secrets at identity's token endpoint: failed authentications have a limit
far below the one for requests in general, per client id and per source address; past it even
the right secret gets a 429 with Retry-After until the window ends."""

from __future__ import annotations

import uuid
from datetime import timedelta

from identity.main import create_app
from identity.settings import IdentitySettings
from identity.testing import OPERATOR_ID, OPERATOR_SECRET, Clock, basic
from vitrina_kit.testing import app_client

GRANT = {"grant_type": "client_credentials"}


def clock_on_day(day: int) -> Clock:
    """The tests share identity's database and the source address 127.0.0.1: each counts in
    windows of its own, days apart."""
    clock = Clock()
    clock.advance(timedelta(days=day))
    return clock


async def test_failed_authentications_lock_the_client_id_for_the_window(
    databases: dict[str, str],
) -> None:
    clock = clock_on_day(1)
    settings = IdentitySettings(
        database_url=databases["identity"],
        token_failure_limit_per_client=3,
        token_rate_limit_per_client=100,
    )
    async with app_client(create_app(settings, clock=clock)) as client:
        guesses = [
            await client.post("/oauth/token", data=GRANT, headers=basic(OPERATOR_ID, f"guess{n}"))
            for n in range(3)
        ]
        right_secret = await client.post(
            "/oauth/token", data=GRANT, headers=basic(OPERATOR_ID, OPERATOR_SECRET)
        )
        another_client = await client.post(
            "/oauth/token", data=GRANT, headers=basic(f"vc_{uuid.uuid4().hex}", "x")
        )
        clock.advance(timedelta(seconds=settings.token_rate_limit_window_seconds))
        next_window = await client.post(
            "/oauth/token", data=GRANT, headers=basic(OPERATOR_ID, OPERATOR_SECRET)
        )

    assert [guess.status_code for guess in guesses] == [401, 401, 401]
    assert right_secret.status_code == 429
    assert right_secret.json()["error"] == "temporarily_unavailable"
    assert 1 <= int(right_secret.headers["retry-after"]) <= settings.token_rate_limit_window_seconds
    assert another_client.status_code == 401  # its own count
    assert next_window.status_code == 200, next_window.text


async def test_failed_authentications_from_one_address_lock_it_for_every_client_id(
    databases: dict[str, str],
) -> None:
    clock = clock_on_day(2)
    settings = IdentitySettings(
        database_url=databases["identity"], token_failure_limit_per_address=4
    )
    async with app_client(create_app(settings, clock=clock)) as client:
        sprayed = [
            await client.post(
                "/oauth/token", data=GRANT, headers=basic(f"vc_{uuid.uuid4().hex}", "password1")
            )
            for _ in range(4)
        ]
        limited = await client.post(
            "/oauth/token", data=GRANT, headers=basic(OPERATOR_ID, OPERATOR_SECRET)
        )
        # A request with no credentials at all is not a guess and is not counted as one.
        clock.advance(timedelta(seconds=settings.token_rate_limit_window_seconds))
        anonymous = [await client.post("/oauth/token", data=GRANT) for _ in range(5)]
        after = await client.post(
            "/oauth/token", data=GRANT, headers=basic(OPERATOR_ID, OPERATOR_SECRET)
        )

    assert [response.status_code for response in sprayed] == [401] * 4
    assert limited.status_code == 429
    assert "retry-after" in limited.headers
    assert [response.status_code for response in anonymous] == [401] * 5
    assert after.status_code == 200, after.text


async def test_successful_requests_have_the_looser_limit(databases: dict[str, str]) -> None:
    clock = clock_on_day(3)
    settings = IdentitySettings(
        database_url=databases["identity"],
        token_failure_limit_per_client=2,
        token_rate_limit_per_client=5,
    )
    async with app_client(create_app(settings, clock=clock)) as client:
        statuses = [
            (
                await client.post(
                    "/oauth/token", data=GRANT, headers=basic(OPERATOR_ID, OPERATOR_SECRET)
                )
            ).status_code
            for _ in range(6)
        ]
    assert statuses == [200] * 5 + [429]
