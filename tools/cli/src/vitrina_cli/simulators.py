"""The external systems of the local stack: the EDO operator, the operator's 1C and a partner's
provisioning endpoint, each a simulator (``tools/simulators``) run as a child process of
``vitrina dev`` on the ports after the services'.

The logins below are the simulators' documented development values, the same docker-compose.yml
gives them (tests/docker checks that the two agree), so the README's demo flow reads the same on
both stacks.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from vitrina_cli.workspace import SERVICES

OPERATOR_EDO_BOX = "2BM-7704123450-770401001-000000000000001"
"""The operator's EDO box, billing's default ``seller_edo_participant_id``: UPDs leave from it."""
BUYER_EDO_BOX = "2BM-5012345672-501201001-000000000000042"
"""The box of the README's demo buyer, ООО «Ромашка» (INN 5012345672, KPP 501201001)."""
EDO_OPERATOR_CLIENT = ("vitrina", "dev-edo-secret")
"""The operator's API client at the EDO operator: its connector logs in as it."""
EDO_BUYER_CLIENT = ("romashka", "dev-romashka-secret")
"""The demo buyer's API client: a person signs the UPD as it."""
ONEC_BASE = "accounting"
ONEC_USER = ("odata", "dev-odata")


@dataclass(frozen=True)
class Simulator:
    name: str
    """Its log file's name and the supervisor's name for it."""
    module: str
    options: tuple[str, ...]
    port: int
    host: str

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            self.module,
            f"--host={self.host}",
            f"--port={self.port}",
            *self.options,
        ]

    @property
    def ready_url(self) -> str:
        """Every simulator answers ``/simulator/stats`` once it serves."""
        return f"{self.url}/simulator/stats"


SIMULATOR_NAMES = ("edo-operator", "onec", "partner")
"""In port order: ``--base-port`` + len(SERVICES) + index is a simulator's port."""


def local_simulators(base_port: int, host: str = "127.0.0.1") -> list[Simulator]:
    """The three simulators of a local stack whose identity listens on ``base_port``."""
    first = base_port + len(SERVICES)
    commands: dict[str, tuple[str, tuple[str, ...]]] = {
        "edo-operator": (
            "vitrina_simulators.edo_operator",
            (
                f"--client={EDO_OPERATOR_CLIENT[0]}:{EDO_OPERATOR_CLIENT[1]}:{OPERATOR_EDO_BOX}",
                f"--client={EDO_BUYER_CLIENT[0]}:{EDO_BUYER_CLIENT[1]}:{BUYER_EDO_BOX}",
            ),
        ),
        "onec": (
            "vitrina_simulators.onec",
            (f"--base={ONEC_BASE}", f"--user={ONEC_USER[0]}:{ONEC_USER[1]}"),
        ),
        "partner": ("vitrina_simulators.provisioning", ()),
    }
    return [
        Simulator(name, *commands[name], port=first + index, host=host)
        for index, name in enumerate(SIMULATOR_NAMES)
    ]


@dataclass(frozen=True)
class SimulatorUrls:
    """Where the seed points the demo connectors and the demo partner's endpoint (None: that
    one is not registered)."""

    edo_operator: str | None = None
    onec: str | None = None
    partner: str | None = None

    @classmethod
    def of(cls, simulators: list[Simulator]) -> SimulatorUrls:
        urls = {simulator.name: simulator.url for simulator in simulators}
        return cls(
            edo_operator=urls.get("edo-operator"),
            onec=urls.get("onec"),
            partner=urls.get("partner"),
        )

    def __bool__(self) -> bool:
        return any((self.edo_operator, self.onec, self.partner))
