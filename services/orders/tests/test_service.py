"""The orders service's shape: migrations in step with the models, the app up and healthy."""

from collections.abc import Callable

from orders.main import SERVICE, create_app
from orders.settings import OrdersSettings
from vitrina_kit.migrations import downgrade, upgrade
from vitrina_kit.testing import app_client, migrated_database, schema_differences


async def test_migrations_match_the_models_and_go_both_ways(
    make_database: Callable[[str], str],
) -> None:
    url = migrated_database(make_database, SERVICE)
    assert await schema_differences(SERVICE, url) == []
    downgrade(SERVICE.migrations, url)
    upgrade(SERVICE.migrations, url)
    assert await schema_differences(SERVICE, url) == []


async def test_the_app_is_live_and_its_database_ready(make_database: Callable[[str], str]) -> None:
    settings = OrdersSettings(database_url=migrated_database(make_database, SERVICE))
    async with app_client(create_app(settings)) as client:
        assert (await client.get("/health/live")).json() == {"status": "ok"}
        ready = (await client.get("/health/ready")).json()
        assert ready["checks"]["database"] == "ok"
        paths = (await client.get("/openapi.json")).json()["paths"]
        assert {"/health/live", "/health/ready", "/ops/outbox"} <= set(paths)
