"""``vitrina-contracts``: generate the schema files, or check them (CI runs ``check``).

Exit status: 0 when all is well, 1 when ``check`` finds a problem or ``generate`` refuses,
2 for a usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from vitrina_contracts.check import CheckReport, Incompatibility, check
from vitrina_contracts.generate import generate, render_files
from vitrina_contracts.layout import default_out_dir

_HOW_TO_BREAK = (
    "Consumers of the old schema would break. Make the change backward compatible (add optional\n"
    "fields, widen enums), or publish the new shape on a new major version of the topic\n"
    "(e.g. billing.invoices -> billing.invoices.v2, both produced while consumers move)."
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        out_dir = args.out if args.out is not None else default_out_dir()
    except LookupError as exc:
        parser.error(str(exc))
    if args.command == "generate":
        return _generate(out_dir, allow_breaking=args.allow_breaking)
    return _check(out_dir)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vitrina-contracts",
        description="Generate and check Vitrina's event schemas and AsyncAPI document.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    out_help = "directory receiving schemas/ and asyncapi.yaml (default: the contracts/ directory)"
    generate_command = commands.add_parser(
        "generate", help="write the JSON Schemas and the AsyncAPI document from the models"
    )
    generate_command.add_argument("--out", type=Path, help=out_help)
    generate_command.add_argument(
        "--allow-breaking",
        action="store_true",
        help="write even if a schema breaks consumers of the one on disk",
    )
    check_command = commands.add_parser(
        "check",
        help="fail if the files differ from the models or break an earlier committed version",
    )
    check_command.add_argument("--out", type=Path, help=out_help)
    return parser


def _generate(out_dir: Path, *, allow_breaking: bool) -> int:
    result = generate(out_dir, allow_breaking=allow_breaking)
    if result.refused:
        _err("Refusing to write: a new schema is not backward compatible with the one on disk.")
        _err(*_describe(result.incompatibilities))
        _err(_HOW_TO_BREAK, "To write it anyway, run again with --allow-breaking.")
        return 1
    if result.incompatibilities:
        _err("Written DESPITE breaking changes (--allow-breaking):")
        _err(*_describe(result.incompatibilities))
        _err(
            "`vitrina-contracts check` will fail on this. Do not ship it as is: bump the topic's",
            "major version instead (a new topic, e.g. billing.invoices.v2, for the new shape).",
        )
    if result.changed:
        print(f"Wrote {len(result.changed)} file(s) in {out_dir}:")
        print(*(f"  {path}" for path in result.changed), sep="\n")
    else:
        print(f"Up to date: {out_dir}")
    return 0


def _check(out_dir: Path) -> int:
    report = check(out_dir, render_files())
    if report.history_note:
        _err(f"note: {report.history_note}")
    if report.ok:
        print(
            f"Contracts OK: the files in {out_dir} match the models, and every schema is "
            f"compatible with the {report.versions_compared} earlier version(s) compared."
        )
        return 0
    _report_failure(report)
    return 1


def _report_failure(report: CheckReport) -> None:
    if report.drift:
        _err("DRIFT: these files are not what the models generate:")
        _err(*(f"  {drift.path} ({drift.reason})" for drift in report.drift))
        _err("Run `vitrina-contracts generate` and commit the result.")
    if report.incompatibilities:
        _err("INCOMPATIBLE CHANGE: these schemas break consumers of an earlier version:")
        _err(*_describe(report.incompatibilities))
        _err(_HOW_TO_BREAK)


def _describe(incompatibilities: Iterable[Incompatibility]) -> list[str]:
    lines = []
    for incompatibility in incompatibilities:
        lines.append(f"  {incompatibility.path} (against {incompatibility.baseline}):")
        lines.extend(f"    {problem}" for problem in incompatibility.problems)
    return lines


def _err(*lines: str) -> None:
    print(*lines, sep="\n", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
