"""Tests every service owes the same way, written once: subclass and name the service.

class TestCatalogShape(ServiceShapeTests):
    service = SERVICE
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from vitrina_kit.migrations import downgrade, upgrade
from vitrina_kit.service import Service, build_app
from vitrina_kit.testing.apps import app_client, migrated_database, schema_differences


class ServiceShapeTests:
    """Migrations in step with the models and reversible; the app live, ready and documented."""

    service: ClassVar[Service]

    async def test_migrations_match_the_models_and_go_both_ways(
        self, make_database: Callable[[str], str]
    ) -> None:
        url = migrated_database(make_database, self.service)
        assert await schema_differences(self.service, url) == []
        downgrade(self.service.migrations, url)
        upgrade(self.service.migrations, url)
        assert await schema_differences(self.service, url) == []

    async def test_the_app_is_live_and_its_database_ready(
        self, make_database: Callable[[str], str]
    ) -> None:
        settings = self.service.settings().model_copy(
            update={"database_url": migrated_database(make_database, self.service)}
        )
        async with app_client(build_app(self.service, settings)) as client:
            assert (await client.get("/health/live")).json() == {"status": "ok"}
            ready = (await client.get("/health/ready")).json()
            assert ready["checks"]["database"] == "ok"
            paths = (await client.get("/openapi.json")).json()["paths"]
            assert {"/health/live", "/health/ready", "/ops/outbox"} <= set(paths)
