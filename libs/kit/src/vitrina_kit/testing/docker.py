"""Whether a Docker engine answers here; Docker-only tests skip with the reason when not."""

from __future__ import annotations

import functools
import shutil
import subprocess


@functools.cache
def docker_unavailable_reason() -> str | None:
    """None when a Docker engine answers, else why the Docker tests cannot run."""
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    try:
        result = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],  # noqa: S607 - whichever docker PATH has
            capture_output=True,
            timeout=15,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"docker info failed: {error}"
    if result.returncode != 0:
        first_line = (result.stderr.decode(errors="replace").strip().splitlines() or ["?"])[0]
        return f"no Docker engine answers ({first_line})"
    return None
