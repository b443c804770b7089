"""The Docker files, checked without a Docker engine.

docker-compose.yml must start every service from its own image, after healthy infrastructure and
its own migration, with environment variables its settings class really reads, against a database
that deploy/postgres/init-databases.sql creates. Each Dockerfile must build a non-root image whose
health check and entrypoint run that same service.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices, AliasPath
from sqlalchemy.engine import make_url

from vitrina_kit.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
INIT_DATABASES = REPO / "deploy" / "postgres" / "init-databases.sql"

# service -> its settings class, as services/<service>/src/<service>/settings.py names it.
SETTINGS = {
    "identity": "IdentitySettings",
    "catalog": "CatalogSettings",
    "orders": "OrdersSettings",
    "billing": "BillingSettings",
    "integrations": "IntegrationsSettings",
}
SERVICES = list(SETTINGS)
INFRASTRUCTURE = ("postgres", "kafka")


# --- reading the files -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    # safe_load resolves the YAML anchors and `<<` merge keys the file uses.
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict), "docker-compose.yml is not a mapping"
    return document


@pytest.fixture(scope="module")
def blocks(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"{service}.settings")
    cls: type[ServiceSettings] = getattr(module, SETTINGS[service])
    assert issubclass(cls, ServiceSettings)
    return cls


def accepted_env_names(cls: type[ServiceSettings]) -> dict[str, str]:
    """Every environment variable ``cls`` reads -> the field it sets, as pydantic-settings reads
    them: the field's alias when it has one (no prefix then), else env_prefix + field name."""
    prefix = cls.model_config.get("env_prefix", "")
    names: dict[str, str] = {}
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias or field.alias
        if alias is None:
            names[f"{prefix}{field_name}"] = field_name
        elif isinstance(alias, str):
            names[alias] = field_name
        elif isinstance(alias, AliasChoices):
            for choice in alias.choices:
                first = choice if isinstance(choice, str) else choice.path[0]
                names[str(first)] = field_name
        elif isinstance(alias, AliasPath):
            names[str(alias.path[0])] = field_name
    if not cls.model_config.get("case_sensitive", False):
        names = {name.upper(): field_name for name, field_name in names.items()}
    return names


_DEFAULTED = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}")


def environment(block: dict[str, Any]) -> dict[str, str]:
    """A compose block's environment as a dict, with ``${VAR:-default}`` read as its default."""
    raw = block.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {
        str(name): _DEFAULTED.sub(r"\1", "" if value is None else str(value))
        for name, value in raw.items()
    }


def image_service(blocks: dict[str, dict[str, Any]], name: str) -> str | None:
    """Which Vitrina service's image a compose block runs (built there or reused by tag)."""
    block = blocks[name]
    build = block.get("build")
    if build is not None:
        dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else ""
        match = re.fullmatch(r"services/([a-z]+)/Dockerfile", dockerfile)
        return match.group(1) if match else None
    for other_name, other in blocks.items():
        if other.get("build") is not None and other.get("image") == block.get("image"):
            return image_service(blocks, other_name)
    return None


def one_shots(blocks: dict[str, dict[str, Any]]) -> set[str]:
    """Blocks others wait on to finish (migrations, topic creation), not to be healthy."""
    return {
        dependency
        for block in blocks.values()
        for dependency, rule in depends_on(block).items()
        if rule.get("condition") == "service_completed_successfully"
    }


def depends_on(block: dict[str, Any]) -> dict[str, dict[str, Any]]:
    raw = block.get("depends_on") or {}
    if isinstance(raw, list):  # the short form means "started", no condition
        return {name: {"condition": "service_started"} for name in raw}
    return raw


def published_ports(block: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(host ip, host port, container port) of each published port, short or long syntax."""
    for port in block.get("ports") or []:
        if isinstance(port, dict):
            yield str(port.get("host_ip", "")), str(port.get("published", "")), str(port["target"])
            continue
        parts = _DEFAULTED.sub(r"\1", str(port)).split(":")
        if len(parts) == 3:
            yield parts[0], parts[1], parts[2].split("/")[0]
        else:
            yield "", parts[0] if len(parts) == 2 else "", parts[-1].split("/")[0]


def created_databases() -> set[str]:
    sql = INIT_DATABASES.read_text(encoding="utf-8")
    return {match.lower() for match in re.findall(r"CREATE\s+DATABASE\s+\"?(\w+)", sql, re.I)}


def effective_settings(
    monkeypatch: pytest.MonkeyPatch, service: str, env: dict[str, str]
) -> ServiceSettings:
    """The service's settings as its process would build them from ``env`` alone."""
    cls = settings_class(service)
    for name in list(os.environ):
        if name.upper() in accepted_env_names(cls):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return cls()


def dockerfile_stages(service: str) -> list[list[tuple[str, str]]]:
    """The Dockerfile's stages, each a list of (INSTRUCTION, arguments), continuations joined."""
    text = (REPO / "services" / service / "Dockerfile").read_text(encoding="utf-8")
    logical = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    stages: list[list[tuple[str, str]]] = []
    for line in logical.splitlines():
        if not line.strip():
            continue
        instruction, _, arguments = line.strip().partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            stages.append([])
        assert stages, f"services/{service}/Dockerfile: {instruction} before the first FROM"
        stages[-1].append((instruction, " ".join(arguments.split())))
    return stages


def instructions(stage: list[tuple[str, str]], name: str) -> list[str]:
    return [arguments for instruction, arguments in stage if instruction == name]


# --- docker-compose.yml ----------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_is_built_from_its_own_dockerfile(
    blocks: dict[str, dict[str, Any]], service: str
) -> None:
    assert service in blocks, f"docker-compose.yml has no `{service}` service"
    build = blocks[service].get("build")
    assert isinstance(build, dict), f"`{service}` must be built (build: context + dockerfile)"
    # The context must be the repository root: the image needs contracts/ and libs/kit/ too.
    assert (COMPOSE_FILE.parent / build.get("context", ".")).resolve() == REPO
    assert build.get("dockerfile") == f"services/{service}/Dockerfile"
    assert (REPO / build["dockerfile"]).is_file()
    assert image_service(blocks, service) == service


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_waits_for_healthy_infrastructure_and_its_migration(
    blocks: dict[str, dict[str, Any]], service: str
) -> None:
    needs = depends_on(blocks[service])
    for infrastructure in INFRASTRUCTURE:
        assert needs.get(infrastructure, {}).get("condition") == "service_healthy", (
            f"`{service}` must wait for {infrastructure}: service_healthy"
        )
    migration = f"{service}-migrate"
    assert needs.get(migration, {}).get("condition") == "service_completed_successfully", (
        f"`{service}` must start only after `{migration}` completed successfully"
    )
    assert needs.get("init", {}).get("condition") == "service_completed_successfully", (
        f"`{service}` must start only after the topics exist (`init`)"
    )

    migrate = blocks[migration]
    assert migrate.get("command") == ["migrate"]
    assert image_service(blocks, migration) == service, (
        f"`{migration}` must run the {service} image, whose migrations match its code"
    )
    assert depends_on(migrate).get("postgres", {}).get("condition") == "service_healthy"
    assert environment(migrate) == environment(blocks[service]), (
        f"`{migration}` must migrate the database `{service}` uses"
    )


def test_init_creates_the_topics_once_the_broker_is_healthy(
    blocks: dict[str, dict[str, Any]],
) -> None:
    init = blocks["init"]
    assert init.get("command") == ["topics"]
    assert image_service(blocks, "init") in SERVICES
    assert depends_on(init).get("kafka", {}).get("condition") == "service_healthy"


def test_waited_on_services_are_one_shot_and_the_rest_have_healthchecks(
    blocks: dict[str, dict[str, Any]],
) -> None:
    finishing = one_shots(blocks)
    assert finishing >= {"init", *(f"{service}-migrate" for service in SERVICES)}
    for name, block in blocks.items():
        if name in finishing:
            # Restarting a finished migration would loop; a failed one must stay failed.
            assert block.get("restart", "no") == "no", f"one-shot `{name}` must not restart"
            continue
        healthcheck = block.get("healthcheck") or {}
        assert healthcheck.get("test"), f"long-running `{name}` needs a healthcheck"
        assert not healthcheck.get("disable"), f"`{name}` must not disable its healthcheck"
        assert block.get("restart") in ("unless-stopped", "always", "on-failure"), (
            f"long-running `{name}` must be restarted when it exits"
        )


@pytest.mark.parametrize("service", SERVICES)
def test_service_healthcheck_probes_its_own_readiness(
    blocks: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    block = blocks[service]
    port = effective_settings(monkeypatch, service, environment(block)).http_port
    probe = " ".join(str(part) for part in block["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/health/ready" in probe
    assert "curl" not in probe, "python:3.11-slim has no curl"
    assert [container for _, _, container in published_ports(block)] == [str(port)], (
        f"`{service}` must publish the port it listens on ({port})"
    )


def test_every_environment_variable_is_a_setting_its_service_reads(
    blocks: dict[str, dict[str, Any]],
) -> None:
    unknown: list[str] = []
    checked = 0
    for name, block in blocks.items():
        service = image_service(blocks, name)
        if service is None:
            continue
        accepted = accepted_env_names(settings_class(service))
        for variable in environment(block):
            checked += 1
            if variable.upper() not in accepted:
                unknown.append(
                    f"`{name}` sets {variable}, which {SETTINGS[service]} does not read "
                    f"(it reads: {', '.join(sorted(accepted))})"
                )
    assert checked, "no environment variables found to check"
    assert not unknown, "\n".join(unknown)


@pytest.mark.parametrize("service", SERVICES)
def test_environment_values_are_what_the_service_then_runs_with(
    blocks: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    env = environment(blocks[service])
    settings = effective_settings(monkeypatch, service, env)
    fields = accepted_env_names(type(settings))
    for variable, value in env.items():
        assert variable.upper() in fields, f"{variable} is no setting of {service}"
        assert str(getattr(settings, fields[variable.upper()])) == value, variable
    assert settings.http_host == "0.0.0.0", "inside a container the API must listen on all"
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.service_name == service


def test_database_urls_point_at_databases_the_init_script_creates(
    blocks: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    created = created_databases()
    postgres = environment(blocks["postgres"])
    used: dict[str, str] = {}
    for service in SERVICES:
        settings = effective_settings(monkeypatch, service, environment(blocks[service]))
        url = make_url(settings.database_url)
        assert url.drivername == "postgresql+asyncpg"
        assert (url.host, url.port or 5432) == ("postgres", 5432)
        assert url.username == postgres.get("POSTGRES_USER", "postgres")
        assert url.password == postgres["POSTGRES_PASSWORD"]
        assert url.database in created, (
            f"{service} uses database {url.database!r}, which {INIT_DATABASES.name} does not "
            f"create (it creates {sorted(created)})"
        )
        assert url.database not in used, f"{service} shares a database with {used[url.database]}"
        used[url.database] = service

    mounts = [str(volume) for volume in blocks["postgres"].get("volumes", [])]
    assert any(
        mount.startswith("./deploy/postgres/init-databases.sql:/docker-entrypoint-initdb.d/")
        for mount in mounts
    ), "the init script must be mounted into /docker-entrypoint-initdb.d"


def test_ports_are_published_on_loopback_only(blocks: dict[str, dict[str, Any]]) -> None:
    for name, block in blocks.items():
        for host_ip, _, container in published_ports(block):
            assert host_ip == "127.0.0.1", f"`{name}` publishes {container} beyond 127.0.0.1"


def test_compose_validates_against_the_compose_specification() -> None:
    """`docker compose config` needs no engine, only the Compose v2 CLI."""
    command = compose_cli()
    if command is None:
        pytest.skip("no Docker Compose v2 CLI (`docker compose` or `docker-compose` v2) here")
    result = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), "config", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    resolved = json.loads(result.stdout)
    assert set(SERVICES) <= set(resolved["services"])


def compose_cli() -> list[str] | None:
    candidates = [["docker", "compose"]] if shutil.which("docker") else []
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for command in candidates:
        version = subprocess.run(
            [*command, "version", "--short"], capture_output=True, text=True, check=False
        )
        if version.returncode == 0 and version.stdout.strip().lstrip("v").startswith("2"):
            return command
    return None


# --- the Dockerfiles -------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_dockerfile_builds_wheels_and_installs_only_them(service: str) -> None:
    stages = dockerfile_stages(service)
    assert len(stages) >= 2, "multi-stage: a builder makes wheels, the runtime installs them"
    for stage in stages:
        assert instructions(stage, "FROM")[0].split()[0] == "python:3.11-slim"
    text = "\n".join(arguments for stage in stages for _, arguments in stage)
    copied = {copy.split()[0].rstrip("/") for copy in instructions(stages[0], "COPY")}
    assert copied == {"contracts", "libs/kit", f"services/{service}"}, (
        "the builder copies the three path packages, and only those"
    )
    # Near-identical files invite copy-paste slips: only this service may appear.
    assert set(re.findall(r"services/([a-z]+)/", text)) == {service}
    assert "--editable" not in text
    assert " -e " not in text
    assert not re.search(r"\[(local|testing)\]", text), "no embedded infrastructure in images"
    runtime = stages[-1]
    installs = [run for run in instructions(runtime, "RUN") if "pip install" in run]
    assert installs, "the runtime stage must pip install the wheels"
    for run in installs:
        assert "--no-index" in run, "the runtime installs the builder's wheels, nothing else"
        assert "--no-cache-dir" in run


@pytest.mark.parametrize("service", SERVICES)
def test_dockerfile_runs_its_service_as_a_non_root_user(service: str) -> None:
    runtime = dockerfile_stages(service)[-1]
    users = instructions(runtime, "USER")
    assert users, "the runtime stage must switch to a non-root USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")

    assert json.loads(instructions(runtime, "ENTRYPOINT")[-1]) == ["python", "-m", service]
    assert json.loads(instructions(runtime, "CMD")[-1]) == ["run"]
    assert importlib.util.find_spec(f"{service}.__main__") is not None

    env = " ".join(instructions(runtime, "ENV"))
    for variable in ("PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"):
        assert variable in env
    prefix = settings_class(service).model_config["env_prefix"]
    accepted = accepted_env_names(settings_class(service))
    for variable in re.findall(rf"\b({prefix}\w+)=", env):
        assert variable in accepted, f"the image sets {variable}, which no setting reads"


@pytest.mark.parametrize("service", SERVICES)
def test_dockerfile_healthcheck_probes_liveness_on_the_exposed_port(service: str) -> None:
    runtime = dockerfile_stages(service)[-1]
    port = settings_class(service).model_fields["http_port"].default
    assert instructions(runtime, "EXPOSE") == [str(port)]
    healthchecks = instructions(runtime, "HEALTHCHECK")
    assert len(healthchecks) == 1, "the runtime stage needs one HEALTHCHECK"
    probe = json.loads(healthchecks[0].split(" CMD ", 1)[1])
    assert probe[:2] == ["python", "-c"], "python:3.11-slim has no curl: probe with urllib"
    assert "/health/live" in probe[2]
    assert f"'{port}'" in probe[2]
    compile(probe[2], f"{service} HEALTHCHECK", "exec")


def test_dockerignore_keeps_the_build_context_to_the_packages() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", ".vitrina", "**/__pycache__", "tests"} <= patterns
    assert not patterns & {"contracts", "libs", "libs/kit", "services"}, "images need these"
