"""The Docker stack end to end: `docker compose up` builds the images, creates the topics,
migrates every database, starts every service's API and worker and the simulators, seeds the
demo catalog and registers the operator's connectors; then the demo flow's first steps work —
the storefront lists the seeded products, an operator token is accepted across services, and a
product published in the catalog reaches orders through Kafka.

Needs a Docker engine and the Compose v2 CLI; skipped, with the reason, where either is missing.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from testcontainers.compose import ComposeContainer, DockerCompose

from vitrina_cli.demo_catalog import OPERATOR_PRODUCTS, PARTNERS
from vitrina_kit.testing import wait_until

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
IDENTITY = "http://127.0.0.1:8001"
CATALOG = "http://127.0.0.1:8002"
ORDERS = "http://127.0.0.1:8003"
INTEGRATIONS = "http://127.0.0.1:8005"
OPERATOR = ("vitrina-operator", "dev-operator-secret")  # identity's documented dev client
# The one-shot jobs `up` runs after the services are healthy (docker-compose.yml).
DEMO_JOBS = ("seed", "connectors")
# The first run builds seven images and pulls Kafka and PostgreSQL; the seed then waits until
# orders has every demo product.
DEMO_READY_TIMEOUT_SECONDS = 600.0
PROJECTION_TIMEOUT_SECONDS = 60.0


def compose_unavailable_reason() -> str | None:
    try:
        result = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"no Docker engine to run the stack: `docker compose version` failed ({error})"
    if result.returncode != 0:
        return "the Docker Compose v2 plugin is missing (`docker compose version` failed)"
    info = subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False)
    if info.returncode != 0:
        return "no Docker engine answers (`docker info` failed)"
    return None


@pytest.fixture(scope="module")
def stack() -> Iterator[DockerCompose]:
    """The repository's docker-compose.yml, up, under a project name of its own, once the demo
    jobs finished.

    Its own project name keeps a developer's running stack (and its volumes) out of reach of
    the final `down --volumes`; the published ports must still be free.
    """
    reason = compose_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("COMPOSE_PROJECT_NAME", f"vitrina-test-{uuid.uuid4().hex[:8]}")
        # Not `up --wait`: it counts the demo jobs, which nothing waits on, as failed when
        # they exit; their completion is waited for below.
        compose = DockerCompose(
            REPO, compose_file_name="docker-compose.yml", build=True, wait=False
        )
        try:
            compose.start()
            wait_for_demo_jobs(compose)
            yield compose
        finally:
            try:
                stdout, stderr = compose.get_logs()
                # Shown by pytest only when a test failed.
                print(f"----- docker compose logs -----\n{stdout}\n{stderr}")
            finally:
                compose.stop(down=True)


def wait_for_demo_jobs(compose: DockerCompose) -> None:
    """Until `seed` and `connectors` exited; fails at once if one exited with an error."""
    deadline = time.monotonic() + DEMO_READY_TIMEOUT_SECONDS
    while True:
        jobs = job_containers(compose)
        failed = {name: job.ExitCode for name, job in jobs.items() if job_failed(job)}
        assert not failed, f"demo jobs failed (exit codes {failed}); logs below"
        if len(jobs) == len(DEMO_JOBS) and all(job.State == "exited" for job in jobs.values()):
            return
        assert time.monotonic() < deadline, (
            f"the demo jobs did not finish in {DEMO_READY_TIMEOUT_SECONDS:.0f} s: "
            + ", ".join(f"{name} {job.State}" for name, job in jobs.items())
        )
        time.sleep(2)


def job_containers(compose: DockerCompose) -> dict[str, ComposeContainer]:
    return {
        str(container.Service): container
        for container in compose.get_containers(include_all=True)
        if container.Service in DEMO_JOBS
    }


def job_failed(job: ComposeContainer) -> bool:
    return job.State == "exited" and job.ExitCode not in (0, None)


async def operator_headers(client: httpx.AsyncClient) -> dict[str, str]:
    issued = await client.post(
        f"{IDENTITY}/oauth/token", data={"grant_type": "client_credentials"}, auth=OPERATOR
    )
    assert issued.status_code == 200, issued.text
    return {"Authorization": f"Bearer {issued.json()['access_token']}"}


async def storefront_products(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every product the public storefront lists (no token), page by page."""
    products: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 100}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get(f"{CATALOG}/storefront/products", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        products += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return products


async def test_the_seeded_demo_catalog_is_on_the_storefront_and_known_to_orders(
    stack: DockerCompose,
) -> None:
    seeded = {product["slug"] for product in OPERATOR_PRODUCTS} | {
        product["slug"] for partner in PARTNERS for product in partner.products
    }
    async with httpx.AsyncClient(timeout=10.0) as client:
        listed = {product["slug"]: product for product in await storefront_products(client)}
        assert seeded <= set(listed), f"not on the storefront: {sorted(seeded - set(listed))}"

        # One operator token from identity, accepted by orders and integrations (each checks
        # it against identity's keys, fetched inside the compose network).
        operator = await operator_headers(client)
        product = listed["cloud-server"]
        known = await client.get(f"{ORDERS}/catalog/products/{product['id']}", headers=operator)
        assert known.status_code == 200, known.text
        assert known.json()["status"] == "published"

        connectors = await client.get(f"{INTEGRATIONS}/connectors", headers=operator)
        assert connectors.status_code == 200, connectors.text
        kinds = {(item["kind"], item["endpoint_url"]) for item in connectors.json()["items"]}
        assert ("edo_operator", "http://edo-operator:8090") in kinds
        assert ("onec_odata", "http://onec:8091/accounting/odata/standard.odata") in kinds

        # The seed registered the demo partner's provisioning endpoint and gave the partner
        # simulator its signing secret.
        partner = await client.get("http://127.0.0.1:8092/simulator/stats")
        assert partner.status_code == 200, partner.text
        assert partner.json()["has_secret"] is True


async def test_a_published_product_reaches_the_orders_projection(stack: DockerCompose) -> None:
    async with httpx.AsyncClient(timeout=10.0) as client:
        # The operator sells its own products too.
        operator = await operator_headers(client)
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
        assert product is not None  # wait_until returns only what is truthy
        assert product["product_id"] == product_id
        assert product["partner_id"] == created.json()["partner_id"]
        assert [(plan["code"], plan["unit_price"]) for plan in product["plans"]] == [
            ("basic", "500.00")
        ]
