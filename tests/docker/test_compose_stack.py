"""The Docker stack end to end: `docker compose` builds the images, migrates every database,
starts every service, and a product published in the catalog reaches orders through Kafka.

Needs a Docker engine and the Compose v2 CLI; skipped, with the reason, where either is missing.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from testcontainers.compose import DockerCompose

from vitrina_kit.testing import wait_until

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
IDENTITY = "http://127.0.0.1:8001"
CATALOG = "http://127.0.0.1:8002"
ORDERS = "http://127.0.0.1:8003"
# The first run builds five images and pulls Kafka and PostgreSQL; readiness waits after that.
READY_TIMEOUT_SECONDS = 180.0
PROJECTION_TIMEOUT_SECONDS = 60.0


def compose_unavailable_reason() -> str | None:
    try:
        result = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`docker compose version` failed: {error}"
    if result.returncode != 0:
        return "the Docker Compose v2 plugin is missing (`docker compose version` failed)"
    return None


@pytest.fixture(scope="module")
def stack() -> Iterator[DockerCompose]:
    """The repository's docker-compose.yml, up, under a project name of its own.

    Its own project name keeps a developer's running stack (and its volumes) out of reach of
    the final `down --volumes`; the published ports must still be free.
    """
    reason = compose_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("COMPOSE_PROJECT_NAME", f"vitrina-test-{uuid.uuid4().hex[:8]}")
        compose = DockerCompose(
            REPO, compose_file_name="docker-compose.yml", build=True, wait=False
        )
        try:
            compose.start()
            yield compose
        finally:
            try:
                stdout, stderr = compose.get_logs()
                # Shown by pytest only when the test failed.
                print(f"----- docker compose logs -----\n{stdout}\n{stderr}")
            finally:
                compose.stop(down=True)


async def test_a_published_product_reaches_the_orders_projection(stack: DockerCompose) -> None:
    async with httpx.AsyncClient(timeout=10.0) as client:
        for base in (IDENTITY, CATALOG, ORDERS):
            await wait_until(
                lambda base=base: is_ready(client, base),
                timeout=READY_TIMEOUT_SECONDS,
                interval=1.0,
                message=f"{base}/health/ready",
            )

        # The operator's bootstrap client (its documented dev credentials in the compose file);
        # the operator sells its own products too.
        issued = await client.post(
            f"{IDENTITY}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("vitrina-operator", "dev-operator-secret"),
        )
        assert issued.status_code == 200, issued.text
        operator = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        created = await client.post(
            f"{CATALOG}/products",
            headers={**operator, "Idempotency-Key": str(uuid.uuid4())},
            json={
                "slug": f"cloud-server-{uuid.uuid4().hex[:8]}",
                "name": "Cloud server",
                "category": "cloud",
                "plans": [
                    {
                        "code": "basic",
                        "name": "Basic",
                        "pricing_unit": "seat",
                        "unit_price": "500.00",
                    }
                ],
            },
        )
        assert created.status_code == 201, created.text
        product_id = created.json()["id"]

        submitted = await client.post(f"{CATALOG}/products/{product_id}/submit", headers=operator)
        assert submitted.status_code == 200, submitted.text
        published = await client.post(f"{CATALOG}/products/{product_id}/approve", headers=operator)
        assert published.status_code == 200, published.text
        version = published.json()["version"]

        async def projected() -> dict[str, Any] | None:
            response = await client.get(f"{ORDERS}/catalog/products/{product_id}", headers=operator)
            if response.status_code != 200:
                return None
            body: dict[str, Any] = response.json()
            return body if body["version"] == version else None

        product = await wait_until(
            projected,
            timeout=PROJECTION_TIMEOUT_SECONDS,
            interval=0.5,
            message=f"orders to know product {product_id} at version {version}",
        )
        assert product["product_id"] == product_id
        assert product["partner_id"] == created.json()["partner_id"]
        assert [(plan["code"], plan["unit_price"]) for plan in product["plans"]] == [
            ("basic", "500.00")
        ]


async def is_ready(client: httpx.AsyncClient, base: str) -> bool:
    try:
        response = await client.get(f"{base}/health/ready")
    except httpx.TransportError:
        return False
    return response.status_code == 200
