"""Earlier committed versions of a file, read with the ``git`` command line."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


class HistoryUnavailable(Exception):
    """git is not installed, or the directory is not inside a git working tree."""


@dataclass(frozen=True)
class Version:
    """A file's content as one commit left it."""

    commit: str
    text: str


class GitHistory:
    """The history of the repository a directory belongs to."""

    def __init__(self, git: str, root: Path, *, has_commits: bool) -> None:
        self._git = git
        self.root = root
        self.has_commits = has_commits

    @classmethod
    def of(cls, directory: Path) -> GitHistory:
        """The history of the repository holding ``directory``.

        Raises:
            HistoryUnavailable: no git, or ``directory`` is outside any repository.
        """
        if not directory.is_dir():
            raise HistoryUnavailable(f"{directory} is not a directory")
        git = shutil.which("git")
        if git is None:
            raise HistoryUnavailable("git is not installed")
        found = _run(git, directory, "rev-parse", "--show-toplevel")
        if found.returncode != 0:
            raise HistoryUnavailable(f"{directory} is not inside a git repository")
        root = Path(found.stdout.strip()).resolve()
        head = _run(git, root, "rev-parse", "--verify", "--quiet", "HEAD")
        return cls(git, root, has_commits=head.returncode == 0)

    def versions(self, path: Path) -> list[Version]:
        """Every committed version of ``path``, newest first; empty if it was never committed."""
        relative = path.resolve().relative_to(self.root).as_posix()
        if not self.has_commits:
            return []
        log = _run(self._git, self.root, "log", "--format=%H", "--", relative)
        if log.returncode != 0:
            raise HistoryUnavailable(f"git log failed: {log.stderr.strip()}")
        versions = []
        for commit in log.stdout.split():
            shown = _run(self._git, self.root, "show", f"{commit}:{relative}")
            # A commit that deleted the file is in the log too, with nothing to show.
            if shown.returncode == 0:
                versions.append(Version(commit=commit, text=shown.stdout))
        return versions


def _run(git: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Arguments are ours (commit ids from git itself, paths inside the repository), never a
    # shell string, so there is nothing to inject.
    return subprocess.run(
        [git, "-c", "core.quotepath=off", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
