"""The ``itu-plan`` command line: a thin shell over :class:`itu_plan.Workspace`.

Each command parses its arguments, calls the API and prints. Errors become a
plain sentence on stderr and an exit code (0 ok, 1 unexpected, 2 bad input,
3 permission denied, 4 conflict); a traceback only with ``--debug``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from itu_plan.errors import ItuPlanError, UsageError, ValidationError
from itu_plan.workspace import Workspace

Handler = Callable[[argparse.Namespace], int | None]


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default: Any = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--db",
        metavar="URL",
        default=default,
        help="workspace database URL (default: $ITU_PLAN_DB, else sqlite:///itu_plan.db)",
    )
    parser.add_argument(
        "--user",
        metavar="NAME",
        default=default,
        help="act as this user (default: $ITU_PLAN_USER, $JUPYTERHUB_USER, else the OS login)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="show the full traceback of unexpected errors",
    )


def _open(args: argparse.Namespace, *, create: bool = False) -> Workspace:
    workspace = Workspace.open(args.db, args.user, create=create)
    if not create:
        workspace.require_schema()
    return workspace


# -- commands -----------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    """Create the workspace schema, or upgrade it to the newest revision (idempotent)."""
    with _open(args, create=True) as workspace:
        before, after = workspace.init()
    if before == after:
        print(f"The workspace schema is up to date (revision {after}).")
    elif before is None:
        print(f"Created the workspace schema (revision {after}).")
    else:
        print(f"Upgraded the workspace schema from revision {before} to {after}.")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Fill the workspace with the deterministic demo plan of the ITU secretariat, 2004-2007.

    Creates the schema if needed. Refuses a workspace that already holds data
    unless --force is given (then its content is replaced; the audit trail is kept).
    """
    from itu_plan.demo import build_demo_workspace

    if args.scale < 1:
        raise UsageError(f"--scale must be 1 or more, not {args.scale}")
    started = time.perf_counter()
    with _open(args, create=True) as workspace:
        counts = build_demo_workspace(
            workspace, scale=args.scale, seed=args.seed, force=args.force, progress=not args.quiet
        )
        as_of = workspace.as_of
    seconds = time.perf_counter() - started
    print(
        f"Built the demo workspace in {seconds:.1f} s: {counts['activities']:,} activities, "
        f"{counts['cost_lines']:,} cost lines, {counts['actuals']:,} actuals, "
        f"{sum(counts.values()):,} rows in all; data as of {as_of}."
    )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Import a bundle: a folder of CSV files, one .xlsx workbook, or one file with --kind.

    Every problem is listed as FILE:ROW:COLUMN: message (exit 2) and nothing is
    written; otherwise prints the rows added per file. Importing the same rows
    again adds nothing.
    """
    from itu_plan.bundle import import_bundle

    with _open(args) as workspace:
        results = import_bundle(workspace, args.path, kind=args.kind, progress=not args.quiet)
    for result in results:
        unchanged = f" ({result.unchanged:,} already there)" if result.unchanged else ""
        rows = "row" if result.added == 1 else "rows"
        print(f"{result.filename}: {result.added:,} {rows} added{unchanged}")
    return 0


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path", metavar="PATH", help="a bundle folder, an .xlsx workbook or one .csv file"
    )
    parser.add_argument(
        "--kind", metavar="KIND", help="what one file holds, e.g. actuals (default: its name)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_export(args: argparse.Namespace) -> int:
    """Write the whole workspace as a bundle into DIR, with a datapackage.json describing it."""
    from itu_plan.bundle import export_bundle

    with _open(args) as workspace:
        counts = export_bundle(workspace, args.dir, fmt=args.format)
    print(f"Wrote {sum(counts.values()):,} rows in {len(counts)} files to {args.dir}.")
    return 0


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR", help="the folder to write (created if missing)")
    parser.add_argument(
        "--format", choices=("csv", "xlsx"), default="csv", help="csv files or one workbook"
    )


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the notebooks as Voilà apps (the list at http://localhost:PORT/).

    Each app is at /voila/render/NAME.ipynb and takes query parameters such as
    ?unit=BDT&year=2005. The kernels act on the workspace of --db as --user.
    """
    from itu_plan import apps

    with _open(args):  # refuse early when there is no workspace
        pass
    folder = apps.notebooks_dir(args.notebooks)
    env = apps.kernel_environment(args.db, args.user)
    print(f"Serving {folder} on http://localhost:{args.port}/ (Ctrl-C to stop)", file=sys.stderr)
    return apps.run(
        apps.voila_command(folder, port=args.port, open_browser=not args.no_browser), env
    )


def cmd_lab(args: argparse.Namespace) -> int:
    """Open JupyterLab on the notebooks (real-time collaboration with the collab extra)."""
    from itu_plan import apps

    folder = apps.notebooks_dir(args.notebooks)
    env = apps.kernel_environment(args.db, args.user)
    return apps.run(apps.lab_command(folder, port=args.port, open_browser=not args.no_browser), env)


def _serve_arguments(parser: argparse.ArgumentParser, default_port: int | None = 8866) -> None:
    parser.add_argument("--port", type=int, default=default_port, help="port to listen on")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument(
        "--notebooks", metavar="DIR", help="the notebooks folder (default: notebooks/)"
    )


COMMANDS: dict[str, tuple[Handler, Callable[[argparse.ArgumentParser], None] | None]] = {}


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scale",
        type=int,
        default=1,
        metavar="K",
        help="size: 1 is a few hundred activities; each step adds about 10,000 actuals",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace the content of a non-empty workspace"
    )
    parser.add_argument("--seed", type=int, default=2004, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


COMMANDS["init"] = (cmd_init, None)
COMMANDS["demo"] = (cmd_demo, _demo_arguments)
COMMANDS["import"] = (cmd_import, _import_arguments)
COMMANDS["export"] = (cmd_export, _export_arguments)
COMMANDS["serve"] = (cmd_serve, _serve_arguments)
COMMANDS["lab"] = (cmd_lab, lambda p: _serve_arguments(p, None))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="itu-plan",
        description="A planning workspace for the secretariat: operational and financial plans, "
        "budgets, cost recovery, early warnings, human resources.",
    )
    _global_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (handler, add_arguments) in COMMANDS.items():
        doc = (handler.__doc__ or "").strip()
        sub = commands.add_parser(
            name,
            help=doc.splitlines()[0] if doc else None,
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _global_options(sub, suppress=True)
        if add_arguments:
            add_arguments(sub)
        sub.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args) or 0
    except ValidationError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        print(f"itu-plan: {exc}", file=sys.stderr)
        return exc.exit_code
    except ItuPlanError as exc:
        print(f"itu-plan: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("itu-plan: interrupted; nothing was written", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"itu-plan: unexpected error: {_describe(exc)} (run with --debug for details)",
            file=sys.stderr,
        )
        return 1


def _describe(exc: Exception) -> str:
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        return f"the database refused the request: {reason}"
    return f"{type(exc).__name__}: {exc}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
