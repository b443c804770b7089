"""``vitrina identity``: the CLI against identity running as a real process."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from typer.testing import CliRunner

from identity.main import SERVICE
from vitrina_cli.app import app
from vitrina_kit.local import free_port
from vitrina_kit.testing import ServiceProcess, migrated_database

pytestmark = pytest.mark.slow


@pytest.fixture
def identity_url(
    make_database: Callable[[str], str], start_service: Callable[..., ServiceProcess]
) -> str:
    process = start_service(
        "identity",
        "api",
        port=free_port(),
        database_url=migrated_database(make_database, SERVICE),
    )
    return process.base_url


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["identity", *args])
    return result.exit_code, result.stdout, result.stderr


def test_register_an_organization_and_give_it_a_client(identity_url: str) -> None:
    code, stdout, _ = run(
        "register-org",
        "--url", identity_url,
        "--kind", "business",
        "--name", "Общество с ограниченной ответственностью «Ромашка»",
        "--inn", "5012345672",
        "--kpp", "501201001",
        "--ogrn", "1215000123458",
        "--address", "143900, Московская обл., г. Балашиха, ул. Советская, д. 3",
        "--json",
    )  # fmt: skip
    assert code == 0, stdout
    organization = json.loads(stdout)
    assert organization["status"] == "active"

    code, stdout, stderr = run(
        "create-client",
        "--url", identity_url,
        "--org", organization["id"],
        "--scope", "orders:read",
        "--scope", "orders:write identity:read",
    )  # fmt: skip
    assert code == 0, stdout
    lines = dict(line.split(maxsplit=1) for line in stdout.splitlines()[1:])
    assert lines["scopes"] == "identity:read orders:read orders:write"
    assert "shown only now" in stderr

    token = httpx.post(
        f"{identity_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": lines["client_id"],
            "client_secret": lines["client_secret"],
        },
    )
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "identity:read orders:read orders:write"


def test_refusals_are_explained_and_fail(identity_url: str) -> None:
    code, _, stderr = run(
        "register-org",
        "--url", identity_url,
        "--kind", "business",
        "--name", "ООО «Ромашка»",
        "--inn", "5012345673",
        "--kpp", "501201001",
        "--address", "143900, г. Балашиха, ул. Советская, д. 3",
    )  # fmt: skip
    assert code == 1
    assert "body.inn" in stderr

    code, _, stderr = run(
        "create-client",
        "--url", identity_url,
        "--operator-client-secret", "wrong",
        "--org", "0b7e4f0a-3c59-4f0e-9a51-6a0c2d1e0001",
        "--scope", "orders:read",
    )  # fmt: skip
    assert code == 1
    assert "invalid_client" in stderr

    code, _, stderr = run(
        "create-client",
        "--url", "http://127.0.0.1:1",
        "--org", "0b7e4f0a-3c59-4f0e-9a51-6a0c2d1e0001",
        "--scope", "orders:read",
    )  # fmt: skip
    assert code == 1
    assert "cannot be reached" in stderr
