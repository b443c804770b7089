"""Settings are read once from the environment, with the service's prefix; the Kafka ones a
whole cluster shares are read without it."""

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from vitrina_kit.settings import ServiceSettings


class ShopSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHOP_", extra="ignore")

    service_name: str = "shop"


def test_prefixed_and_shared_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_DATABASE_URL", "postgresql+asyncpg://db/shop")
    monkeypatch.setenv("SHOP_HTTP_PORT", "9001")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    monkeypatch.setenv("KAFKA_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("SHOP_KAFKA_BOOTSTRAP_SERVERS", "ignored:1")  # not a name it reads

    settings = ShopSettings()

    assert settings.database_url == "postgresql+asyncpg://db/shop"
    assert settings.http_port == 9001
    assert settings.kafka_bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert settings.kafka_replication_factor == 3


def test_out_of_range_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_HTTP_PORT", "70000")
    with pytest.raises(ValidationError, match="http_port"):
        ShopSettings()
