"""`vitrina dev` as a developer uses it: the real command, every service a real process, the
embedded broker and PostgreSQL, the demo catalog flowing from catalog to orders over Kafka, the
EDO, 1C and partner simulators running and connected, `vitrina status` reading every service's
metrics — and Ctrl-C leaving nothing behind. Then a second start on the same data keeps the
data, and `vitrina seed` repairs the demo partner's endpoint after seed.json was lost and the
partner's server moved."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from vitrina_cli.seed import operator_authorization
from vitrina_kit.local import free_port

SERVICES = ("identity", "catalog", "orders", "billing", "integrations")
SIMULATORS = ("edo-operator", "onec", "partner")  # on the ports after the services'
READY_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0

pytestmark = pytest.mark.slow


def _vitrina() -> str:
    for folder in (Path(sysconfig.get_path("scripts")), Path(sys.executable).parent):
        if (folder / "vitrina").exists():
            return str(folder / "vitrina")
    pytest.fail("the `vitrina` command is not installed in this environment (run ./vitrina)")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports() -> int:
    """The first of consecutive free ports for the services and the simulators."""
    count = len(SERVICES) + len(SIMULATORS)
    for _ in range(100):
        base = free_port()
        if base + count - 1 <= 65535 and all(_port_free(base + i) for i in range(1, count)):
            return base
    pytest.fail(f"found no {count} consecutive free ports")


class Dev:
    """A running `vitrina dev`, its output collected line by line."""

    def __init__(self, base_port: int, data_dir: Path) -> None:
        self.base_port = base_port
        self.data_dir = data_dir
        env = dict(os.environ)
        # The embedded broker and PostgreSQL are what a fresh machine gets.
        env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        env.pop("VITRINA_DATABASE_URL", None)
        self.process = subprocess.Popen(
            [_vitrina(), "dev", "--base-port", str(base_port), "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    @property
    def output(self) -> str:
        while not self._queue.empty():
            line = self._queue.get_nowait()
            if line is not None:
                self.lines.append(line)
        return "\n".join(self.lines)

    def wait_until_ready(self, timeout: float = READY_TIMEOUT) -> float:
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"vitrina dev exited ({self.process.wait()}):\n{self.output}")
            self.lines.append(line)
            if "Vitrina is ready" in line:
                return time.monotonic() - started
        pytest.fail(f"vitrina dev not ready after {timeout}s:\n{self.output}\n{self.logs()}")

    def url(self, service: str) -> str:
        if service in SIMULATORS:
            return f"http://127.0.0.1:{self.base_port + len(SERVICES) + SIMULATORS.index(service)}"
        return f"http://127.0.0.1:{self.base_port + SERVICES.index(service)}"

    def logs(self) -> str:
        parts = []
        for log in sorted((self.data_dir / "logs").glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-15:]
            parts.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(parts)

    def interrupt(self, signum: int = signal.SIGINT) -> tuple[int, list[psutil.Process]]:
        """Ctrl-C (or ``signum``); returns the exit status and the processes it had started."""
        children = psutil.Process(self.process.pid).children(recursive=True)
        self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"vitrina dev still running {STOP_TIMEOUT}s after SIGINT:\n{self.output}")
        return code, children

    def kill(self) -> None:
        if self.process.poll() is None:
            for child in psutil.Process(self.process.pid).children(recursive=True):
                child.kill()
            self.process.kill()
            self.process.wait()


@pytest.fixture
def start_dev() -> Iterator[Callable[..., Dev]]:
    """``start_dev(data_dir, base_port=None)``: `vitrina dev` on eight (free) ports; killed
    after the test."""
    started: list[Dev] = []

    def start(data_dir: Path, base_port: int | None = None) -> Dev:
        started.append(Dev(base_port or _free_ports(), data_dir))
        return started[-1]

    yield start
    for dev in started:
        dev.kill()


def _eventually(
    probe: Callable[[], httpx.Response], *, timeout: float = 30.0, what: str
) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: httpx.Response | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last.status_code == 200:
            return last
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}; last answer: {last and last.text}")


def _assert_simulators_connected(dev: Dev, seeded: dict[str, Any], *, outcome: str) -> None:
    """The seed registered (or kept) the operator's EDO and 1C connectors at this stack's
    simulators and the demo partner's provisioning endpoint, whose secret the partner
    simulator now holds."""
    wired = seeded["integrations"]
    assert [(c["kind"], c["outcome"]) for c in wired["connectors"]] == [
        ("edo_operator", outcome),
        ("onec_odata", outcome),
    ]
    assert wired["provisioning"]["outcome"] == outcome, wired["provisioning"]
    assert wired["provisioning"]["url"] == f"{dev.url('partner')}/provisioning"
    with httpx.Client(timeout=10) as client:
        organization = operator_authorization(client, dev.url("identity"))
        listed = client.get(f"{dev.url('integrations')}/connectors", headers=organization)
        assert listed.status_code == 200, listed.text
        endpoints = {item["kind"]: item["endpoint_url"] for item in listed.json()["items"]}
        assert endpoints == {
            "edo_operator": dev.url("edo-operator"),
            "onec_odata": f"{dev.url('onec')}/accounting/odata/standard.odata",
        }
        # The simulators answer as the connectors will call them.
        token = client.post(
            f"{dev.url('edo-operator')}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("vitrina", "dev-edo-secret"),
        )
        assert token.status_code == 200, token.text
        odata = client.get(
            f"{dev.url('onec')}/accounting/odata/standard.odata/", auth=("odata", "dev-odata")
        )
        assert odata.status_code == 200, odata.text
        partner = client.get(f"{dev.url('partner')}/simulator/stats")
        assert partner.status_code == 200, partner.text
        assert partner.json()["has_secret"] is True


def _run_vitrina(dev: Dev, *args: str) -> subprocess.CompletedProcess[str]:
    """``vitrina <args>`` against ``dev``'s services (their URLs from the environment, as an
    operator points the commands at a stack)."""
    env = {**os.environ, **{f"VITRINA_{s.upper()}_URL": dev.url(s) for s in SERVICES}}
    return subprocess.run(
        [_vitrina(), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def _partner_simulator() -> Iterator[str]:
    """Another partner simulator, on a port of its own: the partner's server moved."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "vitrina_simulators.provisioning", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=2) as client:
            deadline = time.monotonic() + 20
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{url}/simulator/stats").status_code == 200:
                        break
                assert time.monotonic() < deadline, "the partner simulator did not start"
                time.sleep(0.2)
        yield url
    finally:
        process.kill()
        process.wait()


def _product_body(slug: str) -> dict[str, object]:
    return {
        "slug": slug,
        "name": "Виртуальная АТС",
        "short_description": "Облачная телефония для офиса",
        "category": "telephony",
        "plans": [
            {
                "code": "office",
                "name": "Офис: за сотрудника",
                "billing_period": "month",
                "pricing_unit": "seat",
                "unit_price": "350.00",
                "vat_mode": "standard",
                "min_quantity": 3,
                "max_quantity": 200,
                "trial_days": 14,
                "public": True,
            }
        ],
    }


def test_vitrina_dev_runs_the_marketplace_and_stops_cleanly(
    start_dev: Callable[..., Dev], tmp_path: Path
) -> None:
    data_dir = tmp_path / "stack"
    dev = start_dev(data_dir)
    dev.wait_until_ready()
    output = dev.output
    for service in SERVICES:
        assert f"{dev.url(service)}/docs" in output, output
    for simulator in SIMULATORS:
        assert dev.url(simulator) in output, output

    with httpx.Client(timeout=10) as client:
        for service in SERVICES:
            ready = client.get(f"{dev.url(service)}/health/ready")
            assert ready.status_code == 200, (service, ready.text)
            assert ready.json()["status"] == "ready"

        # The operator's bootstrap client gets tokens from this stack's identity service.
        organization = operator_authorization(client, dev.url("identity"))
        # The demo catalog went catalog -> Kafka -> orders' projection.
        seeded = json.loads((data_dir / "seed.json").read_text("utf-8"))
        owner = client.get(
            f"{dev.url('identity')}/organizations/{seeded['owner_id']}", headers=organization
        )
        assert owner.status_code == 200, owner.text
        assert owner.json()["kind"] == "operator"
        assert len(seeded["products"]) >= 2
        assert all(product["created"] for product in seeded["products"])
        assert seeded["not_in_orders"] == []
    _assert_simulators_connected(dev, seeded, outcome="registered")
    with httpx.Client(timeout=10) as client:
        for product in seeded["products"]:
            in_orders = client.get(
                f"{dev.url('orders')}/catalog/products/{product['id']}", headers=organization
            )
            assert in_orders.status_code == 200, in_orders.text
            assert in_orders.json()["slug"] == product["slug"]
            assert in_orders.json()["name"] == product["name"]
            assert in_orders.json()["status"] == "published"
            assert in_orders.json()["plans"]

        # Anyone browses the storefront, no token needed, and finds the demo catalog in Russian.
        storefront = client.get(
            f"{dev.url('catalog')}/storefront/products", params={"q": "облако", "limit": 100}
        )
        assert storefront.status_code == 200, storefront.text
        found = {item["slug"] for item in storefront.json()["items"]}
        assert "cloud-server" in found, found  # «Облачный сервер»
        listed = client.get(f"{dev.url('catalog')}/storefront/products", params={"limit": 100})
        assert len(listed.json()["items"]) == len(seeded["products"])

        # A product made now travels the same way.
        slug = f"vpbx-{uuid.uuid4().hex[:8]}"
        created = client.post(
            f"{dev.url('catalog')}/products",
            json=_product_body(slug),
            headers={**organization, "Idempotency-Key": f"e2e-{slug}"},
        )
        assert created.status_code == 201, created.text
        product_id = created.json()["id"]
        # The operator sells its own products and moderates them: it submits and approves.
        for step in ("submit", "approve"):
            published = client.post(
                f"{dev.url('catalog')}/products/{product_id}/{step}", headers=organization
            )
            assert published.status_code == 200, published.text
        assert published.json()["status"] == "published"
        in_orders = _eventually(
            lambda: client.get(
                f"{dev.url('orders')}/catalog/products/{product_id}", headers=organization
            ),
            what="orders to receive the new product",
        )
        assert in_orders.json()["slug"] == slug
        assert [plan["unit_price"] for plan in in_orders.json()["plans"]] == ["350.00"]

    # Every service answers its /metrics: status 0, a row each.
    status = _run_vitrina(dev, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    for service in SERVICES:
        assert re.search(rf"^{service}\s+up\s", status.stdout, re.M), status.stdout

    code, children = dev.interrupt()
    assert code == 0, dev.output
    assert "Stopped." in dev.output
    assert len(children) >= len(SERVICES) + len(SIMULATORS) + 1  # with the broker
    _, alive = psutil.wait_procs(children, timeout=5)
    assert alive == [], [p.cmdline() for p in alive]
    # PostgreSQL (a daemon of its own) was stopped too; its data stays for the next start.
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
    assert (data_dir / "postgres" / "PG_VERSION").exists()

    # A second start on the same data (and ports, as a developer restarts it): nothing seeded
    # twice, everything made before is there.
    again = start_dev(data_dir, base_port=dev.base_port)
    again.wait_until_ready()
    reseeded = json.loads((data_dir / "seed.json").read_text("utf-8"))
    assert [p["id"] for p in reseeded["products"]] == [p["id"] for p in seeded["products"]]
    assert not any(product["created"] for product in reseeded["products"])
    # The connectors and the endpoint are kept; the new partner simulator got the secret again.
    _assert_simulators_connected(again, reseeded, outcome="kept")
    with httpx.Client(timeout=10) as client:
        organization = operator_authorization(client, again.url("identity"))
        kept = client.get(
            f"{again.url('orders')}/catalog/products/{product_id}", headers=organization
        )
        assert kept.status_code == 200, kept.text
        mine = client.get(f"{again.url('catalog')}/products/{product_id}", headers=organization)
        assert mine.json()["status"] == "published"

    # seed.json lost (with the endpoint's secret) and the partner's server moved: a re-run of
    # the seed moves the endpoint there and rotates its secret, instead of being stuck.
    before = reseeded["integrations"]["provisioning"]
    (data_dir / "seed.json").unlink()
    with _partner_simulator() as partner_url:
        seeded_again = _run_vitrina(
            again, "seed", "--data-dir", str(data_dir), "--partner-simulator-url", partner_url
        )
        assert seeded_again.returncode == 0, seeded_again.stdout + seeded_again.stderr
        repaired = json.loads((data_dir / "seed.json").read_text("utf-8"))
        provisioning = repaired["integrations"]["provisioning"]
        assert provisioning["outcome"] == "moved, secret rotated", provisioning
        assert provisioning["endpoint_id"] == before["endpoint_id"]
        assert provisioning["url"] == f"{partner_url}/provisioning"
        assert provisioning["signing_secret"] not in (None, before["signing_secret"])
        with httpx.Client(timeout=10) as client:
            assert client.get(f"{partner_url}/simulator/stats").json()["has_secret"] is True
            partner = operator_authorization(
                client,
                again.url("identity"),
                client_id=provisioning["client_id"],
                client_secret=provisioning["client_secret"],
            )
            endpoint = client.get(
                f"{again.url('integrations')}/webhooks/endpoints/{before['endpoint_id']}",
                headers=partner,
            )
            assert endpoint.status_code == 200, endpoint.text
            assert endpoint.json()["url"] == provisioning["url"]
            assert endpoint.json()["status"] == "active"
            assert endpoint.json()["secret_rotated_at"] is not None

    code, children = again.interrupt(signal.SIGTERM)  # as a service manager stops it
    assert code == 0, again.output
    _, alive = psutil.wait_procs(children, timeout=5)
    assert alive == [], [p.cmdline() for p in alive]


def test_a_service_that_dies_takes_the_stack_down_and_shows_its_log(
    start_dev: Callable[..., Dev], tmp_path: Path
) -> None:
    dev = start_dev(tmp_path / "stack")
    dev.wait_until_ready()
    children = psutil.Process(dev.process.pid).children(recursive=True)
    orders = next(p for p in children if p.cmdline()[-3:] == ["-m", "orders", "run"])

    orders.kill()

    try:
        code = dev.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"vitrina dev kept running after orders died:\n{dev.output}")
    assert code == 1
    output = dev.output
    assert "orders exited unexpectedly (exit status -9)" in output, output
    last_words = (tmp_path / "stack" / "logs" / "orders.log").read_text().splitlines()[-1]
    assert f"[orders] {last_words}" in output  # the tail of its log, tagged
    _, alive = psutil.wait_procs(children, timeout=5)
    assert alive == [], [p.cmdline() for p in alive]
    assert not (tmp_path / "stack" / "postgres" / "postmaster.pid").exists()
