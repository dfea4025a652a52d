"""The ``itu-plan`` command line: a thin shell over :class:`itu_plan.Workspace`.

Each command parses its arguments, calls the API and prints. Errors become a
plain sentence on stderr and an exit code (0 ok, 1 unexpected, 2 bad input,
3 permission denied, 4 conflict); a traceback only with ``--debug``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from itu_plan import store
from itu_plan.errors import ItuPlanError, PermissionDenied, UsageError, ValidationError
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
    """The workspace of --db as --user; an existing one must have a current schema,
    and once it has users, the user must be one of them (exit 3 otherwise). On
    PostgreSQL the connection's login is who acts: a --user that differs is refused
    (exit 3) before anything else."""
    workspace = Workspace.open(args.db, args.user, create=create)
    try:
        workspace.user  # noqa: B018 - on PostgreSQL this asks the connection who is acting
        if not create:
            workspace.require_schema()
            workspace.require_user()
    except BaseException:
        workspace.close()
        raise
    return workspace


# -- commands -----------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    """Create the workspace schema, or upgrade it to the newest revision (idempotent)."""
    periods = dict(_period_option(text) for text in args.period)
    with _open(args, create=True) as workspace:
        before, after = workspace.init(periods)
        restored = workspace.restored
    if before == after and restored:
        print(
            f"The workspace schema is at revision {after}; put back what guards the audit trail, "
            f"which was missing or disabled: {', '.join(restored)}."
        )
    elif before == after:
        print(f"The workspace schema is up to date (revision {after}).")
    elif before is None:
        print(f"Created the workspace schema (revision {after}).")
    else:
        print(f"Upgraded the workspace schema from revision {before} to {after}.")
    return 0


def _period_option(text: str) -> tuple[str, tuple[int, int]]:
    """``"NAME=2006-2007"`` (or ``NAME=2006``) -> (NAME, (2006, 2007))."""
    import re

    name, _, period = text.rpartition("=")
    match = re.fullmatch(r"(\d{4})(?:-(\d{4}))?", period.strip())
    if not name or match is None:
        raise UsageError(f'--period takes NAME=FIRST-LAST, e.g. "2008 revised=2008-2009", not {text!r}')
    first, last = int(match[1]), int(match[2] or match[1])
    if last < first:
        raise UsageError(f"--period {text!r}: the last year comes before the first")
    return name, (first, last)


def _init_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--period",
        action="append",
        default=[],
        metavar="NAME=FIRST-LAST",
        help="the period of a version whose name carries none, when upgrading an older workspace (repeatable)",
    )


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
    parser.add_argument("path", metavar="PATH", help="a bundle folder, an .xlsx workbook or one .csv file")
    parser.add_argument("--kind", metavar="KIND", help="what one file holds, e.g. actuals (default: its name)")
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
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv", help="csv files or one workbook")


def cmd_report(args: argparse.Namespace) -> int:
    """Print a report: plan-costs, budget-vs-actual, financial-plan, cost-recovery,
    recruitment, representation, warnings or agreements.

    --format csv and json are exact (money with two decimals, ratios with four);
    table is for people. --version defaults to the latest approved version.
    financial-plan takes scenario drivers: --set member_state_unit_value=330000,
    --set inflation=0.02, --set vacancy_rate=0.05 (nothing is written).
    """
    from itu_plan.reports import make_options
    from itu_plan.reports.common import version_ref
    from itu_plan.reports.output import FORMATS, notes_text, outside_period, to_table

    scenario = {}
    for assignment in args.set or ():
        name, sep, value = assignment.partition("=")
        if not sep:
            raise UsageError(f"--set takes NAME=VALUE, not {assignment!r}")
        scenario[name.strip()] = value.strip()
    options = make_options(
        version=args.version, year=args.year, as_of=args.as_of, target_days=args.target_days, scenario=scenario
    )
    outside = None
    with _open(args) as workspace:
        table = workspace.report_table(args.name, options)
        if options.year is not None and "version" in table.notes:
            with workspace.reading() as session:
                version = version_ref(session.connection(), table.notes["version"])
            if options.year not in version.years:
                outside = outside_period(version.name, version.period, options.year)
    if args.format == "table":
        sys.stdout.write(to_table(table, year=options.year, empty=outside))
        for line in notes_text(table):
            print(line)
        return 0
    sys.stdout.write(FORMATS[args.format](table))
    if outside:
        print(f"itu-plan: {outside}", file=sys.stderr)
    if "scenario" in table.notes:
        overridden = ", ".join(f"{k}={v}" for k, v in table.notes["scenario"].items())
        print(f"itu-plan: scenario, drivers overridden: {overridden}", file=sys.stderr)
    return 0


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    from itu_plan.reports import NAMES

    parser.add_argument("name", metavar="NAME", choices=NAMES, help=", ".join(NAMES))
    parser.add_argument("--version", metavar="V", help="plan version (default: the latest approved)")
    parser.add_argument("--year", metavar="Y", help="only this year")
    parser.add_argument("--as-of", metavar="DATE", help="as of this date (default: the workspace's as-of date)")
    parser.add_argument("--target-days", metavar="N", help="recruitment target in days (default 120)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    parser.add_argument(
        "--set", metavar="DRIVER=VALUE", action="append", help="financial-plan scenario driver (repeatable)"
    )


def cmd_render(args: argparse.Namespace) -> int:
    """Execute every notebook against the workspace and write a self-contained static
    site into OUT_DIR: index.html and one page per notebook, readable offline, with the
    public data package (no personal data) beside them.

    Notebooks run in parallel; a notebook that fails is reported by name and cell and
    the other pages are still written (exit 1).
    """
    from itu_plan.render import RenderError, render_site

    with _open(args) as workspace:
        url, user = workspace.url, workspace.user
    year = int(args.year) if args.year else None
    result = render_site(
        url, args.out_dir, user=user, version=args.version, year=year, unit=args.unit,
        notebooks=args.notebooks, jobs=args.jobs, progress=not args.quiet,
    )  # fmt: skip
    pages = len(result.pages) - len(result.failures)
    noun = "page" if pages == 1 else "pages"
    print(f"Wrote {pages} {noun} to {result.folder} in {result.seconds:.1f} s; open {result.folder / 'index.html'}.")
    if result.failures:
        raise RenderError(result)
    return 0


def _render_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", metavar="OUT_DIR", help="the folder to write the site into")
    parser.add_argument("--version", metavar="V", help="plan version (default: the latest approved)")
    parser.add_argument("--year", metavar="Y", help="focus the reports on this year")
    parser.add_argument("--unit", metavar="U", help="focus the reports on this unit")
    parser.add_argument("--notebooks", metavar="DIR", help="the notebooks folder (default: notebooks/)")
    parser.add_argument("--jobs", type=int, metavar="N", help="notebooks run at once (default: the CPU count)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the notebooks as Voilà apps, for you on this machine.

    The apps act as the user who starts them (--user, else $ITU_PLAN_USER, ...). The
    server listens on 127.0.0.1 only, answers only requests addressed to localhost,
    127.0.0.1 or [::1] (403 otherwise), and requires the token in the URL it prints, as
    Jupyter does: open that URL once and the browser keeps a login cookie. With
    --no-token anyone and anything on this machine can use the apps as you. For several
    people, use the JupyterHub deployment.

    The list of apps is at the URL printed; each app is at /voila/render/NAME.ipynb and
    takes query parameters such as ?unit=BDT&year=2005.
    """
    from itu_plan import apps

    with _open(args) as workspace:  # refuse early when there is no workspace, or a false claim
        acting = workspace.user  # on PostgreSQL: the connection's login
    folder = apps.notebooks_dir(args.notebooks)
    apps.require_free_port(args.port)
    token = None if args.no_token else apps.new_token()
    env = apps.kernel_environment(args.db, acting, refresh=args.refresh, token=token)
    user = env["ITU_PLAN_USER"]
    print(f"Serving {folder} as {user} on {apps.LOCAL_IP} port {args.port} (Ctrl-C to stop); open:", file=sys.stderr)
    if token is None:
        print(
            f"itu-plan: WARNING: --no-token: no token is required; every person and program on this "
            f"machine can use the apps as {user}",
            file=sys.stderr,
        )
    print(apps.serve_url(args.port, token), flush=True)
    command = apps.voila_command(
        folder, port=args.port, open_browser=not args.no_browser, pool_size=args.preheat, cull_after=args.cull_after,
        max_kernels=args.max_kernels,
    )  # fmt: skip
    return apps.run(command, env)


def cmd_lab(args: argparse.Namespace) -> int:
    """Open JupyterLab on the notebooks (real-time collaboration with the collab extra).

    It listens on 127.0.0.1 and requires Jupyter's token, in the URL it prints. Run as
    root (as in many containers) it starts all the same, with a warning.
    """
    from itu_plan import apps

    folder = apps.notebooks_dir(args.notebooks)
    user = args.user
    if store.is_postgresql(store.resolve_url(args.db)):  # the connection's login acts, not the OS login
        with Workspace.open(args.db, args.user) as workspace:
            user = workspace.user
    env = apps.lab_environment(args.db, user)
    as_root = os.geteuid() == 0
    if as_root:
        print(
            "itu-plan: WARNING: running JupyterLab as root: its notebooks and terminals can change "
            "anything on this machine; run it as an ordinary user when you can",
            file=sys.stderr,
        )
    command = apps.lab_command(folder, port=args.port, open_browser=not args.no_browser, as_root=as_root)
    return apps.run(command, env)


def _lab_arguments(parser: argparse.ArgumentParser, default_port: int | None = None) -> None:
    parser.add_argument("--port", type=int, default=default_port, help="port to listen on (on 127.0.0.1)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument("--notebooks", metavar="DIR", help="the notebooks folder (default: notebooks/)")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return value


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    from itu_plan.apps import CULL_IDLE_SECONDS, REFRESH_SECONDS

    _lab_arguments(parser, 8866)
    parser.add_argument(
        "--no-token", action="store_true",
        help="require no token: anyone and anything on this machine can use the apps as you",
    )  # fmt: skip
    parser.add_argument(
        "--preheat", type=int, default=1, metavar="N",
        help="kernels kept running each notebook ahead of visitors (default 1; 0 to save memory)",
    )  # fmt: skip
    parser.add_argument(
        "--cull-after", type=int, default=CULL_IDLE_SECONDS, metavar="SECONDS",
        help=f"shut down a visitor's kernel idle this long (default {CULL_IDLE_SECONDS})",
    )  # fmt: skip
    parser.add_argument(
        "--max-kernels", type=_positive, metavar="N",
        help="apps open at once, each running a kernel of about 275 MB; one more gets a 'too many apps "
        "open' page (default: one per GB of memory, 2 to 8; the preheated kernels come on top)",
    )  # fmt: skip
    parser.add_argument(
        "--refresh", type=float, default=REFRESH_SECONDS, metavar="SECONDS",
        help=f"how often an open app looks for what others saved, and redraws (default {REFRESH_SECONDS:g}; 0: never)",
    )  # fmt: skip


def cmd_hub(args: argparse.Namespace) -> int:
    """Serve one workspace on PostgreSQL to the people of an organisation, with JupyterHub (run as root).

    Each person logs in with their OS account and password (PAM) and gets their own
    server, running as their own OS user; itu-plan in it reaches the workspace over
    PostgreSQL's Unix socket with no password, by peer authentication, as the database
    role of the same name. What they get follows their role in the workspace's users
    table (itu-plan users add NAME --role ROLE; add the role's OS account too):

      admin, planner     JupyterLab on their own copy of the notebooks (in ~/itu-plan-notebooks),
                         and the apps;
      manager, reviewer  the Voilà apps and nothing else: no JupyterLab, no terminal, no file
                         or kernel API, no code sent to a kernel (a reviewer's apps are read-only).

    The hub reads the users table with its own connection (--db: a role root logs in as, over
    the socket, e.g. postgresql+psycopg:///itu_plan?host=/var/run/postgresql); with --pgdata
    it first starts that PostgreSQL cluster if it is not running. The notebooks are
    published read-only into --apps; JupyterHub's own state (its SQLite file, cookie secret,
    the configuration it is given) lives in --state, readable by root only. The proxy is
    configurable-http-proxy from the checkout's package.json (npm install, run if missing).
    Listens on 127.0.0.1 unless --ip says otherwise: put it behind HTTPS, or give --ssl-cert
    and --ssl-key, before letting passwords travel over a network.
    """
    from itu_plan import apps, hub

    hub.require_root()
    url = args.db or os.environ.get("ITU_PLAN_DB")
    if not url:
        raise UsageError("name the workspace's PostgreSQL database with --db or ITU_PLAN_DB")
    database = hub.database_of(url)
    if args.pgdata and hub.bring_up_postgres(Path(args.pgdata), database):
        print(f"Started PostgreSQL in {args.pgdata} (socket in {database.socket_dir}).", file=sys.stderr)
    listed = hub.check_workspace(url)
    python = sys.executable
    hub.require_reachable("itu-plan's Python", Path(python).parent)
    hub.require_reachable("the itu_plan package", Path(hub.__file__).parent)
    hub.require_reachable("the PostgreSQL socket folder", Path(database.socket_dir))
    if bool(args.ssl_cert) != bool(args.ssl_key):
        raise UsageError("--ssl-cert and --ssl-key go together")
    proxy = hub.find_proxy()
    published = hub.publish_notebooks(apps.notebooks_dir(args.notebooks), Path(args.apps))
    hub.require_reachable("the published notebooks", Path(args.apps))
    settings = hub.HubSettings(
        workspace_url=url, database=database, ip=args.ip, port=args.port,
        hub_port=args.hub_port or hub.free_port(), proxy_api_port=args.proxy_api_port or hub.free_port(),
        state=str(Path(args.state).resolve()), apps=str(Path(args.apps).resolve()), proxy=str(proxy),
        python=python, refresh_seconds=args.refresh, ssl_cert=args.ssl_cert, ssl_key=args.ssl_key,
    )  # fmt: skip
    config = hub.write_config(settings)
    without_account = [name for name, _role in listed if not hub.os_account(name)]
    scheme = "https" if args.ssl_cert else "http"
    print(
        f"JupyterHub for {len(listed) - len(without_account)} of the workspace's {len(listed)} users on "
        f"{scheme}://{args.ip}:{args.port}/ ({len(published)} notebooks published in {settings.apps}; Ctrl-C to stop)",
        file=sys.stderr,
    )
    if without_account:
        print(f"itu-plan: no OS account, so no login, for: {', '.join(without_account)}", file=sys.stderr)
    return apps.run(hub.hub_command(config, python), dict(os.environ))


def _hub_arguments(parser: argparse.ArgumentParser) -> None:
    from itu_plan.apps import REFRESH_SECONDS

    parser.add_argument("--port", type=int, default=8000, help="the port people connect to (default 8000)")
    parser.add_argument("--ip", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--state", metavar="DIR", default="/var/lib/itu-plan/hub",
        help="JupyterHub's own state, root only (default /var/lib/itu-plan/hub)",
    )  # fmt: skip
    parser.add_argument(
        "--apps", metavar="DIR", default="/srv/itu-plan/notebooks",
        help="where the notebooks are published, read-only to everyone (default /srv/itu-plan/notebooks)",
    )  # fmt: skip
    parser.add_argument("--notebooks", metavar="DIR", help="the notebooks to publish (default: notebooks/)")
    parser.add_argument(
        "--pgdata", metavar="DIR",
        help="the workspace's PostgreSQL cluster: start it (as its owner; socket, port from --db) if it is down",
    )  # fmt: skip
    parser.add_argument(
        "--refresh", type=float, default=REFRESH_SECONDS, metavar="SECONDS",
        help=f"how often an open app looks for what others saved (default {REFRESH_SECONDS:g}; 0: never)",
    )  # fmt: skip
    parser.add_argument("--ssl-cert", metavar="FILE", help="serve HTTPS with this certificate")
    parser.add_argument("--ssl-key", metavar="FILE", help="... and this key")
    parser.add_argument("--hub-port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--proxy-api-port", type=int, default=0, help=argparse.SUPPRESS)


COMMANDS: dict[str, tuple[Handler, Callable[[argparse.ArgumentParser], None] | None]] = {}


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scale",
        type=int,
        default=1,
        metavar="K",
        help="size: 1 is a few hundred activities; each step adds about 10,000 actuals",
    )
    parser.add_argument("--force", action="store_true", help="replace the content of a non-empty workspace")
    parser.add_argument("--seed", type=int, default=2004, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


COMMANDS["init"] = (cmd_init, _init_arguments)
COMMANDS["demo"] = (cmd_demo, _demo_arguments)
COMMANDS["import"] = (cmd_import, _import_arguments)
COMMANDS["export"] = (cmd_export, _export_arguments)
COMMANDS["report"] = (cmd_report, _report_arguments)
COMMANDS["render"] = (cmd_render, _render_arguments)
COMMANDS["serve"] = (cmd_serve, _serve_arguments)
COMMANDS["lab"] = (cmd_lab, _lab_arguments)
COMMANDS["hub"] = (cmd_hub, _hub_arguments)


# -- plan versions, users, the audit trail ---------------------------------------------------


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[int] = ()) -> None:
    """Print ``rows`` under ``headers`` in aligned columns (``right``: right-aligned columns)."""
    from itu_plan.reports.output import printable

    cells = [[str(h) for h in headers]] + [["" if v is None else printable(str(v)) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        line = "  ".join(
            value.rjust(width) if i in right else value.ljust(width)
            for i, (value, width) in enumerate(zip(row, widths, strict=True))
        )
        print(line.rstrip())
        if n == 0:
            print("  ".join("-" * width for width in widths))


def _chf(centimes: int | None) -> str:
    """Centimes for a table column: 2500000 -> ``25,000.00``; None -> empty."""
    from itu_plan.money import describe_chf

    return "" if centimes is None else describe_chf(centimes).removeprefix("CHF ")


def cmd_version(args: argparse.Namespace) -> int | None:
    """Plan versions and their workflow: list, copy into a new draft, submit, approve.

    A version moves draft -> submitted -> approved; only drafts are edited and a
    submitted version is locked. Approving marks the previously approved version of
    the same period superseded. Once users exist, approval takes a second person:
    whoever submitted a version may not approve it, whatever their role. A manager
    submits versions whose changes touch only their units, and approves them when
    the budget total stays at or below the base version's (transfers within the
    approved envelope) and the change (the sum of the absolute differences of the
    budget, cost and income budget lines against the version it is based on) is
    within their delegation limit. Anything else needs an admin.
    """
    handler: Handler = args.version_action
    return handler(args)


def cmd_version_list(args: argparse.Namespace) -> int:
    """List the plan versions with their status, base and totals (CHF)."""
    from itu_plan import access, versions

    with _open(args) as workspace, workspace.reading() as session:
        access.actor(session, workspace.user)
        summaries = versions.list_versions(session)
    if not summaries:
        print("The workspace has no plan versions yet.")
        return 0
    _print_table(
        ("version", "period", "status", "based on", "cost lines", "cost (CHF)", "budget lines", "budget (CHF)"),
        [
            (v.name, v.period, v.status, v.based_on, f"{v.cost_lines:,}", _chf(v.cost_centimes),
             f"{v.budget_lines:,}", _chf(v.budget_centimes))
            for v in summaries
        ],
        right=(4, 5, 6, 7),
    )  # fmt: skip
    return 0


def cmd_version_copy(args: argparse.Namespace) -> int:
    """Copy the version SRC, its cost lines and budget lines, into a new draft NEW based on it."""
    from itu_plan import access, versions

    with _open(args) as workspace, workspace.transaction() as session:
        who = access.actor(session, workspace.user)
        versions.copy_version(session, who, args.source, args.new)
        summary = next(v for v in versions.list_versions(session) if v.name == args.new)
    print(
        f"Copied {args.source} into the new draft {args.new}: {summary.cost_lines:,} cost lines "
        f"and {summary.budget_lines:,} budget lines."
    )
    return 0


def cmd_version_submit(args: argparse.Namespace) -> int:
    """Submit the draft V for approval; it is locked from then on."""
    from itu_plan import access, versions

    with _open(args) as workspace, workspace.transaction() as session:
        versions.submit(session, access.actor(session, workspace.user), args.version)
    print(f"Submitted {args.version} for approval; it is locked until it is approved.")
    return 0


def cmd_version_approve(args: argparse.Namespace) -> int:
    """Approve the submitted version V: someone other than its submitter, under the delegation rule."""
    from itu_plan import access, versions
    from itu_plan.money import describe_chf

    with _open(args) as workspace, workspace.transaction() as session:
        approval = versions.approve(session, access.actor(session, workspace.user), args.version)
    change = approval.change
    if change.base is None or change.base_total_centimes is None:
        measured = "it is not based on another version"
    else:
        units = ", ".join(sorted(change.units.values())) or "no unit"
        measured = (
            f"a change of {describe_chf(change.amount_centimes)} against {change.base} ({units}); "
            f"budget total {describe_chf(change.total_centimes)} "
            f"({describe_chf(change.base_total_centimes)} in {change.base})"
        )
    superseded = ""
    if approval.superseded:
        verb = "is" if len(approval.superseded) == 1 else "are"
        superseded = f"; {', '.join(approval.superseded)} {verb} now superseded"
    print(f"Approved {args.version}: {measured}{superseded}.")
    return 0


def _version_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="version_command", metavar="ACTION", required=True)
    for name, handler, positionals in (
        ("list", cmd_version_list, ()),
        ("copy", cmd_version_copy, (("source", "SRC", "the version to copy"), ("new", "NEW", "the new draft's name"))),
        ("submit", cmd_version_submit, (("version", "V", "the draft to submit"),)),
        ("approve", cmd_version_approve, (("version", "V", "the submitted version to approve"),)),
    ):
        doc = (handler.__doc__ or "").strip()
        sub = actions.add_parser(name, help=doc.splitlines()[0], description=doc)
        _global_options(sub, suppress=True)
        for dest, metavar, text in positionals:
            sub.add_argument(dest, metavar=metavar, help=text)
        sub.set_defaults(version_action=handler)


def cmd_users(args: argparse.Namespace) -> int | None:
    """Who may do what: add a user, list the users.

    Roles: reviewer reads only; planner writes plan data (activities, cost and budget
    lines of draft versions, comments) for their units and the units below them;
    manager also submits and approves within their delegation limit; admin does
    everything. With no users the workspace is single-user and everyone is admin;
    the first user added must be an admin, and from then on only admins add users.
    """
    handler: Handler = args.users_action
    return handler(args)


def cmd_users_add(args: argparse.Namespace) -> int:
    """Add the user NAME with a role, the units they act for and a delegation limit."""
    from itu_plan import access, users
    from itu_plan.money import describe_chf

    units = [code for code in (args.units or "").split(",") if code.strip()]
    with _open(args) as workspace, workspace.transaction() as session:
        who = access.actor(session, workspace.user)
        user = users.add_user(session, who, args.name, args.role, units, args.limit)
        limit = user.delegation_limit_centimes
    article = "an" if args.role == "admin" else "a"
    scope = f" for {', '.join(code.strip() for code in units)}" if units else ""
    with_limit = f" with a delegation limit of {describe_chf(limit)}" if limit is not None else ""
    print(f"Added {args.name} as {article} {args.role}{scope}{with_limit}.")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    """List the users with their role, units and delegation limit (CHF)."""
    from itu_plan import access, users

    with _open(args) as workspace, workspace.reading() as session:
        access.actor(session, workspace.user)
        listed = users.list_users(session)
    if not listed:
        print("The workspace has no users: it is single-user and everyone is admin.")
        return 0
    _print_table(
        ("user", "role", "units", "delegation limit (CHF)"),
        [(u.username, u.role, ", ".join(u.units), _chf(u.delegation_limit_centimes)) for u in listed],
        right=(3,),
    )
    return 0


def _users_arguments(parser: argparse.ArgumentParser) -> None:
    from itu_plan.model import ROLES

    actions = parser.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    doc = (cmd_users_add.__doc__ or "").strip()
    add = actions.add_parser("add", help=doc, description=doc)
    _global_options(add, suppress=True)
    add.add_argument("name", metavar="NAME", help="the username (as given to --user)")
    add.add_argument("--role", required=True, choices=ROLES, help="what they may do")
    add.add_argument("--units", metavar="A,B", help="the codes of the units they act for (and those below)")
    add.add_argument("--limit", metavar="CHF", help="a manager's delegation limit in CHF, e.g. 250000")
    add.set_defaults(users_action=cmd_users_add)
    doc = (cmd_users_list.__doc__ or "").strip()
    listing = actions.add_parser("list", help=doc, description=doc)
    _global_options(listing, suppress=True)
    listing.set_defaults(users_action=cmd_users_list)


def _audit_details(before: Any, after: Any) -> str:
    """One line for a change: ``amount: 10000.00 -> 15000.00`` for fields that changed,
    ``field=value`` for fields only one side has."""

    def text(value: Any) -> str:
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)

    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    parts = [f"{k}: {text(old[k])} -> {text(v)}" for k, v in new.items() if k in old and old[k] != v]
    parts += [f"{k}={text(v)}" for k, v in new.items() if k not in old and v is not None]
    parts += [f"{k}={text(v)}" for k, v in old.items() if k not in new and v is not None]
    if not isinstance(before, dict | None) or not isinstance(after, dict | None):
        parts += [text(v) for v in (before, after) if v is not None and not isinstance(v, dict)]
    return "; ".join(parts)


def cmd_audit(args: argparse.Namespace) -> int:
    """List the audit trail, oldest first: when (UTC), who, action, table, business key, change.

    --table and --key keep the events of one table and/or one record (the exact
    business key, e.g. "2006-2007 draft/BDT-AFR-001/2006/travel//RB-MS").
    `audit verify` checks the trail's hash chain: it prints how many events it checked
    and exits 0 when the chain is whole; otherwise it names the first event that does
    not match and exits 1.
    """
    from itu_plan import access, audit

    if args.check == "verify":
        with _open(args) as workspace:
            workspace.require_schema()
            with workspace.reading() as session:
                access.actor(session, workspace.user)
            check = workspace.verify_audit()
        if check.whole:
            print(check.sentence())
            return 0
        print(f"itu-plan: {check.sentence()}", file=sys.stderr)
        return 1
    with _open(args) as workspace, workspace.reading() as session:
        access.actor(session, workspace.user)
        rows = [
            (f"{audit.utc(e.at):%Y-%m-%d %H:%M:%S}", e.username, e.action, e.table_name, e.record_key,
             _audit_details(e.before, e.after))
            for e in audit.list_events(session, args.table, args.key)
        ]  # fmt: skip
    if not rows:
        print("No audit events match." if args.table or args.key else "The audit trail is empty.")
        return 0
    _print_table(("at (UTC)", "user", "action", "table", "key", "change"), rows)
    return 0


def _audit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("check", nargs="?", choices=["verify"], help="verify: check the hash chain of the trail")
    parser.add_argument("--table", metavar="T", help="only events of this table, e.g. cost_lines")
    parser.add_argument("--key", metavar="K", help="only events of the record with this business key")


COMMANDS["version"] = (cmd_version, _version_arguments)
COMMANDS["users"] = (cmd_users, _users_arguments)
COMMANDS["audit"] = (cmd_audit, _audit_arguments)


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


#: Problem lines printed at most; the others are counted in one line.
SHOWN_PROBLEMS = 100


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors and --help: argparse has printed the message
        return int(exc.code or 0)
    try:
        return args.handler(args) or 0
    except ValidationError as exc:
        for line in exc.lines(limit=SHOWN_PROBLEMS):
            print(line, file=sys.stderr)
        print(f"itu-plan: {exc}", file=sys.stderr)
        return exc.exit_code
    except ItuPlanError as exc:
        print(f"itu-plan: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("itu-plan: interrupted; nothing was written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `itu-plan report ... | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
    except Exception as exc:
        return _unexpected(args, exc)


def _unexpected(args: argparse.Namespace, exc: Exception) -> int:
    from itu_plan.pg_security import refusal_reason

    reason = refusal_reason(exc)  # PostgreSQL refused what Python let through: permission denied
    if reason is not None:
        user = getattr(args, "user", None) or "you"
        print(f"itu-plan: the database refused the request of {user}: {reason}", file=sys.stderr)
        return PermissionDenied.exit_code
    if _read_only_refusal(exc):  # a write that went round Workspace.transaction: SQLite refused it
        print(f"itu-plan: the workspace is read-only for you: {_describe(exc)}", file=sys.stderr)
        return PermissionDenied.exit_code
    if _overflow(exc) and not args.debug:
        print(
            "itu-plan: a total is larger than SQLite can add up (64-bit integers: about CHF 92 quadrillion); "
            "the workspace holds amounts far beyond any budget: find them with `itu-plan export` and "
            "correct them, or keep the workspace on PostgreSQL, which adds up any amount",
            file=sys.stderr,
        )
        return 1
    if args.debug:
        raise exc
    print(
        f"itu-plan: unexpected error: {_describe(exc)} (run with --debug for details)",
        file=sys.stderr,
    )
    return 1


def _overflow(exc: Exception) -> bool:
    from sqlalchemy.exc import DBAPIError

    return isinstance(exc, DBAPIError) and "integer overflow" in str(exc.orig)


def _read_only_refusal(exc: Exception) -> bool:
    from sqlalchemy.exc import DBAPIError

    return isinstance(exc, DBAPIError) and "readonly database" in str(exc.orig)


def _describe(exc: Exception) -> str:
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        return f"the database refused the request: {reason}"
    return f"{type(exc).__name__}: {exc}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
