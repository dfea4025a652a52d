"""`itu-plan hub` end to end: real OS users logging in with their passwords (PAM), each on
their own single-user server, into one workspace on a PostgreSQL cluster with peer
authentication, driven in headless Chromium.

Needs root (it creates OS users, and removes them afterwards, even on failure), the
PostgreSQL 15 binaries, Chromium, JupyterHub (the `hub` extra) and configurable-http-proxy
(`make proxy`). Under CI a missing piece is a failure; otherwise a skip naming it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.conftest import CHROMIUM, REPO, free_port, unavailable
from tests.pg import PG_BIN, PeerPostgresServer

pytestmark = [pytest.mark.hub, pytest.mark.browser]

#: OS users made for the test: two planners and a manager; the prefix marks them as the test's
PREFIX = "ituhubtest"
PLANNERS = (f"{PREFIX}p1", f"{PREFIX}p2")
MANAGER = f"{PREFIX}m1"
REVIEWER = f"{PREFIX}r1"
#: an OS account that is not a user of the workspace
OUTSIDER = f"{PREFIX}x1"
DATABASE = "itu_hub"


@dataclass
class Deployment:
    base: str
    url: str
    pg: PeerPostgresServer
    passwords: dict[str, str]
    log: Path
    figures: dict[str, Any] = field(default_factory=dict)


def _missing_piece() -> str | None:
    if os.geteuid() != 0:
        return "the JupyterHub test creates OS users and runs the hub: it needs root"
    for tool in ("useradd", "userdel", "chpasswd", "runuser"):
        if shutil.which(tool) is None:
            return f"{tool} is missing"
    if not (PG_BIN / "initdb").exists():
        return f"PostgreSQL 15 binaries not found in {PG_BIN}"
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import jupyterhub  # noqa: F401
        import pamela  # noqa: F401
    except ImportError as exc:
        return f"JupyterHub is not installed ({exc}): pip install -e '.[hub]'"
    if not (REPO / "node_modules" / ".bin" / "configurable-http-proxy").exists():
        return "configurable-http-proxy is not installed: run `make proxy` (npm install)"
    return None


def _remove_os_user(name: str) -> None:
    subprocess.run(
        ["pkill", "-KILL", "-u", name], capture_output=True
    )  # the test made this account: its processes are the test's
    subprocess.run(["userdel", "-r", "-f", name], capture_output=True)


def _add_os_user(name: str, password: str) -> None:
    _remove_os_user(name)  # a leftover of an interrupted run
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", name], check=True, capture_output=True)
    Path("/home", name).chmod(0o700)
    subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True, capture_output=True)


def _itu_plan(url: str, *args: str, user: str = "root") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "itu_plan.cli", "--db", url, "--user", user, *args],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@contextlib.contextmanager
def _reachable_checkout() -> Iterator[None]:
    """The people's servers run this checkout's Python and package as other OS users: open
    the folders on the way to them (o+x, never o+r) for the test when they are closed (a
    clone under a 0700 folder), and close them again afterwards."""
    from itu_plan.hub import closed_folders

    opened: list[tuple[Path, int]] = []
    for target in (Path(sys.executable).parent, REPO):
        for folder in closed_folders(target):
            mode = stat.S_IMODE(folder.stat().st_mode)
            opened.append((folder, mode))
            folder.chmod(mode | stat.S_IXOTH)
    try:
        yield
    finally:
        for folder, mode in reversed(opened):
            folder.chmod(mode)


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"itu-plan hub did not start:\n{log.read_text()[-4000:]}")
            time.sleep(0.5)


@pytest.fixture(scope="module")
def deployment(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    missing = _missing_piece()
    if missing:
        unavailable(missing)
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="itu-plan-hub-"))
    folder.chmod(0o755)  # the apps are published inside: the manager's server reads them
    passwords = {name: secrets.token_urlsafe(12) for name in (*PLANNERS, MANAGER, REVIEWER, OUTSIDER)}
    pg = PeerPostgresServer()
    process: subprocess.Popen[bytes] | None = None
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, folder, True)
        try:
            pg.start()
        except (subprocess.CalledProcessError, OSError) as exc:
            shutil.rmtree(pg.root, ignore_errors=True)
            unavailable(f"could not start PostgreSQL: {getattr(exc, 'stderr', '') or exc}")
        cleanup.callback(pg.stop)
        for name, password in passwords.items():
            cleanup.callback(_remove_os_user, name)
            _add_os_user(name, password)
        pg.execute(f"CREATE DATABASE {DATABASE}")
        url = pg.workspace_url(DATABASE)
        built = _itu_plan(url, "demo", "--quiet")
        assert built.returncode == 0, built.stderr
        for name, (role, units) in {PLANNERS[0]: ("planner", "BDT"), PLANNERS[1]: ("planner", "TSB"),
                                    MANAGER: ("manager", "BDT"), REVIEWER: ("reviewer", "")}.items():  # fmt: skip
            added = _itu_plan(url, "users", "add", name, "--role", role, *(["--units", units] if units else []),
                              *(["--limit", "100000"] if role == "manager" else []), user="admin")  # fmt: skip
            assert added.returncode == 0, added.stderr
        cleanup.enter_context(_reachable_checkout())
        pg.halt()  # `itu-plan hub --pgdata` brings it up again
        port = free_port()
        log = folder / "hub.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "itu_plan.cli", "--db", url, "hub", "--port", str(port),
                 "--state", str(folder / "state"), "--apps", str(folder / "apps"), "--refresh", "0",
                 "--pgdata", str(pg.data)],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        cleanup.callback(_stop, process)
        base = f"http://127.0.0.1:{port}"
        _wait_for(base + "/hub/login", process, log)
        assert f"Started PostgreSQL in {pg.data}" in log.read_text()
        deployment = Deployment(base, url, pg, passwords, log)
        deployment.figures["setup_seconds"] = round(time.monotonic() - started, 1)
        failed = request.session.testsfailed
        yield deployment
        print(json.dumps(deployment.figures))
        if request.session.testsfailed > failed:
            print(f"The hub's log, at its end:\n{log.read_text()[-6000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the hub (it stops the proxy and the people's servers); kill what is left."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def _log_in(deployment: Deployment, chromium: Any, name: str) -> tuple[Any, Any, float]:
    """A browser context logged in as ``name`` through the hub's PAM form, on the page its
    server opens with; the seconds from submitting the form to that page."""
    context = chromium.new_context()
    page = context.new_page()
    page.goto(deployment.base + "/hub/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", deployment.passwords[name])
    clicked = time.monotonic()
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(re.compile(rf"/user/{name}/"), timeout=120_000, wait_until="commit")
    return context, page, time.monotonic() - clicked


#: Runs ``code`` in a kernel through the Jupyter kernels API of the page's server, over the
#: kernel's websocket (JSON messages); returns the text the code printed.
RUN_CODE_JS = """
async ([code]) => {
  const base = location.pathname.replace(/^(\\/user\\/[^/]+\\/).*/, '$1');
  const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]+)/) || [])[1] || '';
  const response = await fetch(base + 'api/kernels', {method: 'POST', headers: {'X-XSRFToken': decodeURIComponent(xsrf)},
                                                      body: '{}'});
  if (!response.ok) return 'HTTP ' + response.status;
  const kernel = await response.json();
  const ws = new WebSocket(`ws://${location.host}${base}api/kernels/${kernel.id}/channels`);
  const msgId = 'run-' + Math.random();
  let out = '';
  return await new Promise((resolve) => {
    const timer = setTimeout(() => resolve('TIMEOUT ' + out), 60000);
    ws.onopen = () => ws.send(JSON.stringify({channel: 'shell', header: {msg_id: msgId, msg_type: 'execute_request',
      username: '', session: 's' + Math.random(), version: '5.3', date: new Date().toISOString()}, parent_header: {},
      metadata: {}, content: {code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false}}));
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.parent_header.msg_id !== msgId) return;
      if (msg.msg_type === 'stream') out += msg.content.text;
      if (msg.msg_type === 'error') out += msg.content.ename + ': ' + msg.content.evalue;
      if (msg.msg_type === 'status' && msg.content.execution_state === 'idle') {
        clearTimeout(timer); ws.close(); fetch(base + 'api/kernels/' + kernel.id, {method: 'DELETE',
          headers: {'X-XSRFToken': decodeURIComponent(xsrf)}}).finally(() => resolve(out));
      }
    };
  });
}
"""

#: Over the websocket of the app page's own kernel: an execute_request (which would create
#: ``marker``) and then a kernel_info_request. Returns the types of the replies received.
PAGE_KERNEL_JS = """
async ([marker]) => {
  const config = JSON.parse(document.getElementById('jupyter-config-data').textContent);
  const base = location.pathname.replace(/^(\\/user\\/[^/]+\\/).*/, '$1');
  const ws = new WebSocket(`ws://${location.host}${base}api/kernels/${config.kernelId}/channels`);
  const session = 's' + Math.random();
  const message = (type, content) => JSON.stringify({channel: 'shell', header: {msg_id: type + Math.random(),
    msg_type: type, username: '', session, version: '5.3', date: new Date().toISOString()}, parent_header: {},
    metadata: {}, content});
  const replies = [];
  return await new Promise((resolve) => {
    ws.onopen = () => {
      ws.send(message('execute_request', {code: `open(${JSON.stringify(marker)}, 'w').write('ran')`, silent: false,
        store_history: false, user_expressions: {}, allow_stdin: false}));
      setTimeout(() => ws.send(message('kernel_info_request', {})), 500);
      setTimeout(() => { ws.close(); resolve(replies); }, 6000);
    };
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.channel === 'shell') replies.push(msg.msg_type);
    };
  });
}
"""

IDENTITY = (
    "import getpass, os, psycopg\n"
    "with psycopg.connect('') as c:\n"
    "    who = c.execute('SELECT session_user').fetchone()[0]\n"
    "print(getpass.getuser(), os.environ['JUPYTERHUB_USER'], who)\n"
)


def _memory_mib(name: str) -> float:
    out = subprocess.run(["ps", "-u", name, "-o", "rss="], capture_output=True, text=True).stdout
    return sum(int(v) for v in out.split()) / 1024


def _server_start_seconds(log: Path, name: str) -> float | None:
    found = re.findall(rf"User {re.escape(name)} took ([0-9.]+) seconds to start", log.read_text())
    return float(found[-1]) if found else None


def test_planners_get_jupyterlab_as_themselves(deployment: Deployment, chromium: Any) -> None:
    pages = {}
    for name in PLANNERS:
        context, page, seconds = _log_in(deployment, chromium, name)
        pages[name] = (context, page)
        page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
        page.wait_for_selector("text=itu-plan-notebooks", timeout=60_000)
        deployment.figures[f"{name}_login_to_lab_seconds"] = round(seconds, 1)
        deployment.figures[f"{name}_server_ready_seconds"] = _server_start_seconds(deployment.log, name)
        # the kernel runs as the person, and the database knows them as themselves
        assert page.evaluate(RUN_CODE_JS, [IDENTITY]).split() == [name, name, name]
        # the apps of their own server name them as the acting user
        shown = time.monotonic()
        page.goto(f"{deployment.base}/user/{name}/voila/render/itu-plan-notebooks/index.ipynb", timeout=120_000)
        page.wait_for_selector(f"text=Acting as {name}", timeout=120_000)
        deployment.figures[f"{name}_first_app_seconds"] = round(time.monotonic() - shown, 1)
        if name == PLANNERS[0]:  # the control for the manager's test: a planner's app kernel runs code
            marker = Path(f"/tmp/{PREFIX}-executed-{secrets.token_hex(4)}")
            try:
                assert "execute_reply" in page.evaluate(PAGE_KERNEL_JS, [str(marker)])
                assert marker.read_text() == "ran" and marker.owner() == name
            finally:
                marker.unlink(missing_ok=True)
        deployment.figures[f"{name}_memory_mib"] = round(_memory_mib(name))
    # nobody opens someone else's server, whether it runs or not
    context, page = pages[PLANNERS[0]]
    for other in (PLANNERS[1], MANAGER):
        for path in ("lab", "voila/render/index.ipynb", "api/contents"):
            response = page.goto(f"{deployment.base}/user/{other}/{path}")
            assert response is not None and response.status in (403, 404), (other, path, response and response.url)
            assert "Acting as" not in page.content() and "jp-main-dock-panel" not in page.content()
    for context, _page in pages.values():
        context.close()


def test_a_manager_gets_the_apps_and_nothing_else(deployment: Deployment, chromium: Any) -> None:
    context, page, seconds = _log_in(deployment, chromium, MANAGER)
    deployment.figures["manager_server_ready_seconds"] = _server_start_seconds(deployment.log, MANAGER)
    page.wait_for_selector(f"text=Acting as {MANAGER}", timeout=120_000)
    deployment.figures["manager_login_to_app_seconds"] = round(seconds, 1)
    deployment.figures["manager_memory_mib"] = round(_memory_mib(MANAGER))
    body = page.inner_text("body")
    assert "Traceback" not in body and "manager" in body
    # the page's kernel takes widget messages, and drops code
    marker = f"/tmp/{PREFIX}-executed-{secrets.token_hex(4)}"
    replies = page.evaluate(PAGE_KERNEL_JS, [marker])
    assert "kernel_info_reply" in replies and "execute_reply" not in replies, replies
    assert not Path(marker).exists()
    # no JupyterLab, no terminals, no file, session or kernel API
    user = f"{deployment.base}/user/{MANAGER}"
    for path, statuses in (("lab", (404,)), ("tree", (404,)), ("terminals/1", (404,)), ("api/terminals", (403, 404)),
                           ("api/contents", (403,)), ("api/contents/index.ipynb", (403,)), ("api/sessions", (403,)),
                           ("api/kernelspecs", (403,)), ("files/index.ipynb", (403, 404))):  # fmt: skip
        response = context.request.get(f"{user}/{path}", max_redirects=0)
        assert response.status in statuses, (path, response.status)
    xsrf = next((c["value"] for c in context.cookies() if c["name"] == "_xsrf"), "")
    response = context.request.post(f"{user}/api/kernels", data="{}", headers={"X-XSRFToken": xsrf})
    assert response.status == 403, response.status
    context.close()


def test_a_reviewer_gets_the_apps_only_too(deployment: Deployment, chromium: Any) -> None:
    context, page, _seconds = _log_in(deployment, chromium, REVIEWER)
    page.wait_for_selector(f"text=Acting as {REVIEWER}", timeout=120_000)
    for path in ("lab", "api/contents"):
        response = context.request.get(f"{deployment.base}/user/{REVIEWER}/{path}", max_redirects=0)
        assert response.status in (403, 404), (path, response.status)
    context.close()


@pytest.mark.parametrize("who", ["outsider", "wrong-password"])
def test_only_the_workspace_users_log_in_with_their_own_password(deployment: Deployment, chromium: Any,
                                                                 who: str) -> None:  # fmt: skip
    """An OS account that is not a user of the workspace, or a wrong password: no server."""
    name, password = (OUTSIDER, deployment.passwords[OUTSIDER]) if who == "outsider" else (PLANNERS[1], "wrong")
    context = chromium.new_context()
    page = context.new_page()
    page.goto(deployment.base + "/hub/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    with page.expect_response(lambda r: r.request.method == "POST" and "/hub/login" in r.url) as posted:
        page.click("input[type=submit], button[type=submit]")
    assert posted.value.status == 403
    assert "/user/" not in page.url
    assert _server_start_seconds(deployment.log, OUTSIDER) is None
    context.close()


def _as_user(deployment: Deployment, name: str, sql: str) -> Outcome:
    """Run ``sql`` in PostgreSQL as the OS user ``name`` (peer authentication), raw, as anyone
    could from a notebook cell or a Python prompt: (refused, rows touched). Failing to
    connect is no refusal: it fails the test."""
    script = (
        "import psycopg, sys\n"
        "with psycopg.connect('', autocommit=True) as c:\n"
        "    assert c.execute('SELECT session_user').fetchone()[0] == sys.argv[2]\n"
        "    try:\n"
        "        print(c.execute(sys.argv[1]).rowcount)\n"
        "    except psycopg.Error as exc:\n"
        "        sys.exit(f'refused: {exc}')\n"
    )
    env = {**os.environ, "PGHOST": str(deployment.pg.socket), "PGDATABASE": DATABASE}
    done = subprocess.run(["runuser", "-u", name, "--", sys.executable, "-c", script, sql, name],
                          capture_output=True, text=True, env=env)  # fmt: skip
    assert done.returncode == 0 or done.stderr.startswith("refused: "), done.stderr
    return Outcome(done.returncode != 0, int(done.stdout.strip() or 0), done.stderr)


class Outcome(NamedTuple):
    refused: bool
    rows: int
    message: str


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE cost_lines SET amount_centimes = amount_centimes + 1 WHERE activity_id IN "
        "(SELECT a.id FROM activities a JOIN units u ON u.id = a.unit_id WHERE u.code LIKE 'TSB%')",
        "UPDATE cost_lines SET amount_centimes = amount_centimes + 1 WHERE version_id IN "
        "(SELECT id FROM plan_versions WHERE status = 'approved')",
        "UPDATE plan_versions SET status = 'approved' WHERE status = 'draft'",
    ],
    ids=["other-unit", "approved-version", "version-status"],
)
def test_the_database_refuses_a_planners_raw_sql(deployment: Deployment, sql: str) -> None:
    """A BDT planner, connected as themselves, writing SQL by hand: refused, or no row touched."""
    refused, rows, _message = _as_user(deployment, PLANNERS[0], sql)
    assert refused or rows == 0, f"{rows} rows changed by: {sql}"


def test_a_planner_writes_the_draft_lines_of_their_own_units(deployment: Deployment) -> None:
    """The control of the refusals: the same connection may change what a BDT planner may."""
    refused, rows, message = _as_user(
        deployment, PLANNERS[0],
        "UPDATE cost_lines SET amount_centimes = amount_centimes + 1 WHERE version_id = (SELECT id FROM "
        "plan_versions WHERE name = '2006-2007 draft') AND activity_id IN (SELECT a.id FROM activities a "
        "JOIN units u ON u.id = a.unit_id WHERE u.code LIKE 'BDT%')",
    )  # fmt: skip
    assert not refused and rows > 0, message


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM audit_events",
        "UPDATE audit_events SET username = 'someone else'",
        "TRUNCATE audit_events",
        "ALTER TABLE cost_lines DISABLE TRIGGER ALL",
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_events_append_only ON audit_events",
    ],
    ids=[
        "delete-audit",
        "rewrite-audit",
        "truncate-audit",
        "disable-triggers",
        "disable-audit-trigger",
        "drop-trigger",
    ],
)
def test_the_audit_trail_and_the_triggers_are_out_of_a_planners_reach(deployment: Deployment, sql: str) -> None:
    """Already enforced by the schema (the audit trail's append-only trigger; only the tables'
    owner alters them), whoever a planner's connection is."""
    refused, _rows, message = _as_user(deployment, PLANNERS[0], sql)
    assert refused and "does not exist" not in message, message


def test_the_database_refuses_an_approval_above_the_managers_limit(deployment: Deployment) -> None:
    """The manager (BDT, limit CHF 100,000) calling the database's approval function by hand,
    without itu_plan, on the draft after a change of CHF 1,000,000 in one of its BDT cost
    lines, submitted by the admin: refused by the database, with the figures."""
    draft = "(SELECT id FROM plan_versions WHERE name = '2006-2007 draft')"
    deployment.pg.execute(
        f"UPDATE cost_lines SET amount_centimes = amount_centimes + 100000000 WHERE id = (SELECT min(c.id) "
        f"FROM cost_lines c JOIN activities a ON a.id = c.activity_id JOIN units u ON u.id = a.unit_id "
        f"WHERE c.version_id = {draft} AND u.code LIKE 'BDT%'); "
        f"UPDATE plan_versions SET status = 'submitted', submitted_by = 'admin' WHERE id = {draft}",
        DATABASE,
    )
    approval = _as_user(deployment, MANAGER, "SELECT itu_plan_approve('2006-2007 draft')")
    assert approval.refused and "its change is more than their delegation limit" in approval.message, approval
    assert "delegation limit CHF 100,000.00" in approval.message, approval
    refused, rows, _message = _as_user(
        deployment, MANAGER, f"UPDATE plan_versions SET status = 'approved' WHERE id = {draft}"
    )
    assert refused or rows == 0, "the database let a manager set a version approved by hand"
