"""`itu-plan serve` is for one person on their own machine (contract, "Identity and
permissions"): a token, 127.0.0.1 only, no other Host; and `itu-plan lab` likewise.

Real servers, plain HTTP requests (http.client: it sends the Host header it is given and
follows no redirect) and tornado's websocket client on a kernel's channels.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from tests.conftest import CHROMIUM, free_port
from tests.widgets_support import descendants, served

FOREIGN = "attacker.example"
TOKEN_URL = re.compile(r"^http://127\.0\.0\.1:(\d+)/\?token=([\w-]+)$", re.M)
KERNEL_ID = re.compile(r'"kernelId": "([0-9a-f-]{36})"')


# -- plain requests ---------------------------------------------------------------------------------


def get(base: str, path: str, *, host: str | None = None, cookie: str = "") -> http.client.HTTPResponse:
    """GET ``path`` of ``base`` with the Host header ``host`` (default: the server's own)."""
    port = int(base.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Host": host or f"127.0.0.1:{port}"}
    if cookie:
        headers["Cookie"] = cookie
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def login(base: str, token: str) -> str:
    """Visit with the token, as the printed URL does; the cookies the server sets."""
    response = get(base, f"/?token={token}")
    assert response.status == 200
    cookies = [header.split(";", 1)[0] for header in response.headers.get_all("Set-Cookie") or []]
    assert any(c.startswith("username-") for c in cookies), cookies
    return "; ".join(cookies)


def open_app(base: str, cookie: str) -> str:
    """Render the app (a kernel starts and runs it); its kernel id."""
    port = int(base.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request("GET", "/voila/render/index.ipynb", headers={"Cookie": cookie})
    response = connection.getresponse()
    page = response.read().decode()
    assert response.status == 200, page[:500]
    found = KERNEL_ID.search(page)
    assert found, page[:500]
    return found.group(1)


def channels(base: str, kernel: str, *, origin: str, host: str | None = None, cookie: str = "") -> int | str:
    """Open the kernel's websocket as a browser at ``origin`` would; the HTTP status it was
    refused with, else "kernel_info_reply" once the kernel answered a request sent on it."""
    port = int(base.rsplit(":", 1)[1])
    headers = {"Origin": origin, "Host": host or f"127.0.0.1:{port}"}
    if cookie:
        headers["Cookie"] = cookie
    url = f"ws://127.0.0.1:{port}/api/kernels/{kernel}/channels?session_id={uuid.uuid4()}"

    async def talk() -> int | str:
        try:
            socket_ = await websocket_connect(HTTPRequest(url, headers=headers, connect_timeout=10))
        except HTTPClientError as exc:
            return exc.code
        header = {"msg_id": uuid.uuid4().hex, "msg_type": "kernel_info_request", "username": "", "session": "t",
                  "date": "", "version": "5.3"}  # fmt: skip
        message = {"header": header, "parent_header": {}, "metadata": {}, "content": {}, "channel": "shell"}
        await socket_.write_message(json.dumps(message))
        try:
            while True:
                text = await asyncio.wait_for(socket_.read_message(), 30)
                assert text is not None, "the server closed the websocket"
                reply = json.loads(text)
                if reply["parent_header"].get("msg_id") == header["msg_id"] and reply["channel"] == "shell":
                    return str(reply["header"]["msg_type"])
        finally:
            socket_.close()

    return asyncio.run(talk())


def listening_addresses(port: int) -> set[str]:
    """The addresses something listens on at TCP ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                if len(address) == 8:
                    found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]))
                else:
                    words = b"".join(bytes.fromhex(address[i : i + 8])[::-1] for i in range(0, 32, 8))
                    found.add(socket.inet_ntop(socket.AF_INET6, words))
    return found


# -- the servers ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A notebooks folder with one small app: a button, so that a kernel runs a widget."""
    folder = tmp_path_factory.mktemp("tiny")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell('import ipywidgets\nipywidgets.Button(description="Approve")')]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, folder / "index.ipynb")
    return folder


@pytest.fixture(scope="module")
def with_token(demo_sqlite: str, tiny_app: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:  # fmt: skip
    """`itu-plan serve` as it is started by hand (a token); the base URL, the token, the log."""
    log = tmp_path_factory.mktemp("serve-token") / "serve.log"
    extra = ("--notebooks", str(tiny_app), "--preheat", "0")
    with served(f"sqlite:///{demo_sqlite}", "reviewer", log, *extra, token=True) as base:
        found = TOKEN_URL.search(log.read_text())
        assert found, log.read_text()
        yield base, found.group(2), log


@pytest.fixture(scope="module")
def without_token(demo_sqlite: str, tiny_app: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:  # fmt: skip
    log = tmp_path_factory.mktemp("serve-no-token") / "serve.log"
    extra = ("--notebooks", str(tiny_app), "--preheat", "0")
    with served(f"sqlite:///{demo_sqlite}", "reviewer", log, *extra) as base:  # --no-token
        yield base, log


# -- the token --------------------------------------------------------------------------------------


def test_the_url_it_prints_carries_a_token(with_token: tuple[str, str, Path]) -> None:
    base, token, log = with_token
    assert TOKEN_URL.search(log.read_text()).group(1) == base.rsplit(":", 1)[1]  # type: ignore[union-attr]
    assert len(token) >= 40
    assert "as reviewer on 127.0.0.1" in log.read_text()
    assert "Traceback" not in log.read_text() and "WARNING: --no-token" not in log.read_text()


def test_without_the_token_nothing_is_served(with_token: tuple[str, str, Path]) -> None:
    base, token, _log = with_token
    for path in ("/", "/voila/render/index.ipynb", "/voila/tree", f"/?token={token[:-1]}x"):
        response = get(base, path)
        assert response.status == 302, path
        assert response.headers["Location"].startswith("/login"), path
    assert get(base, f"/api/kernels/{uuid.uuid4()}").status == 403
    assert get(base, "/login").status == 200  # where the token can be typed in


def test_the_token_once_then_the_cookie(with_token: tuple[str, str, Path]) -> None:
    base, token, _log = with_token
    cookie = login(base, token)
    assert get(base, "/voila/tree", cookie=cookie).status == 200
    kernel = open_app(base, cookie)
    assert channels(base, kernel, origin=base, cookie=cookie) == "kernel_info_reply"
    assert channels(base, kernel, origin=base) == 403  # no cookie, no kernel


def test_a_websocket_from_another_origin_is_refused(with_token: tuple[str, str, Path]) -> None:
    base, token, _log = with_token
    cookie = login(base, token)
    kernel = open_app(base, cookie)
    port = base.rsplit(":", 1)[1]
    assert channels(base, kernel, origin=f"http://{FOREIGN}:{port}", cookie=cookie) == 403
    assert channels(base, kernel, origin=f"http://localhost:{port}", cookie=cookie) == 403  # another origin too
    assert channels(base, kernel, origin=base, cookie=cookie) == "kernel_info_reply"


def test_a_request_for_another_host_is_refused_everywhere(with_token: tuple[str, str, Path]) -> None:
    """DNS rebinding: a page of attacker.example whose name now resolves to 127.0.0.1 sends
    `Host: attacker.example:PORT` (and its own origin, the same). Even holding the token or
    the cookie it gets 403 for the pages, the tree, static files and the kernel's websocket."""
    base, token, _log = with_token
    cookie = login(base, token)
    kernel = open_app(base, cookie)
    port = base.rsplit(":", 1)[1]
    paths = ["/", f"/?token={token}", f"/voila/render/index.ipynb?token={token}", "/voila/tree", "/login",
             "/voila/static/voila.js", "/api/kernels", f"/api/kernels/{kernel}"]  # fmt: skip
    for host in (f"{FOREIGN}:{port}", f"127.0.0.1:{free_port()}", FOREIGN):
        for path in paths:
            assert get(base, path, host=host, cookie=cookie).status == 403, (host, path)
        assert channels(base, kernel, origin=f"http://{host}", host=host, cookie=cookie) == 403, host
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):  # the server's own names
        assert get(base, "/voila/static/voila.js", host=host).status == 200, host
        assert get(base, "/voila/tree", host=host, cookie=cookie).status in (200, 302), host


def test_no_token_serves_without_a_login_and_says_so(without_token: tuple[str, Path]) -> None:
    base, log = without_token
    assert get(base, "/voila/tree").status == 200
    assert get(base, "/voila/render/index.ipynb").status == 200
    output = log.read_text()
    assert "WARNING: --no-token" in output and "as reviewer" in output
    assert re.search(rf"^{re.escape(base)}/$", output, re.M), output  # the URL, without a token
    port = base.rsplit(":", 1)[1]
    assert get(base, "/voila/tree", host=f"{FOREIGN}:{port}").status == 403  # the Host check stays


# -- where it listens ---------------------------------------------------------------------------------


def test_it_listens_on_127_0_0_1_only(with_token: tuple[str, str, Path]) -> None:
    base, _token, _log = with_token
    port = int(base.rsplit(":", 1)[1])
    assert listening_addresses(port) == {"127.0.0.1"}
    with pytest.raises(OSError), socket.create_connection(("::1", port), timeout=2):
        pass


def test_another_address_is_refused(tiny_app: Path) -> None:
    """A config file or a command line naming 0.0.0.0 stops the server before it listens."""
    port = free_port()
    command = [sys.executable, "-m", "itu_plan.local_voila", str(tiny_app), f"--port={port}",
               "--Voila.ip=0.0.0.0", "--no-browser"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "listens on 127.0.0.1 only, not 0.0.0.0" in done.stderr
    assert listening_addresses(port) == set()


def test_a_busy_port_is_refused_before_the_url(demo_sqlite: str, tiny_app: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "itu_plan.cli", "--db", f"sqlite:///{demo_sqlite}", "--user", "reviewer",
                   "serve", "--no-browser", "--port", str(port), "--notebooks", str(tiny_app)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    assert f"cannot listen on 127.0.0.1 port {port}" in done.stderr and "--port" in done.stderr
    assert "Traceback" not in done.stderr


# -- in a browser -------------------------------------------------------------------------------------


@pytest.mark.browser
def test_the_printed_url_opens_the_apps_and_the_cookie_keeps_them_open(
    demo_sqlite: str, browser: Any, tmp_path: Path
) -> None:
    """The URL with the token in a browser: the list of apps; then the index app in another
    tab without the token draws its widgets (the kernel's websocket works on the cookie) and
    its header names the user who started the server. A browser without the cookie gets
    the login page."""
    log = tmp_path / "serve.log"
    with served(f"sqlite:///{demo_sqlite}", "reviewer", log, "--preheat", "0", token=True) as base:
        url = TOKEN_URL.search(log.read_text()).group(0)  # type: ignore[union-attr]
        context = browser.new_context()
        tree = context.new_page()
        tree.goto(url, timeout=60_000)
        tree.wait_for_selector("text=index.ipynb", timeout=60_000)
        app = context.new_page()
        errors: list[str] = []
        app.on("pageerror", lambda exc: errors.append(str(exc)))
        app.goto(f"{base}/voila/render/index.ipynb", timeout=120_000)
        app.wait_for_selector("text=Acting as reviewer, reviewer (read only)", timeout=120_000)
        assert errors == []
        context.close()
        stranger = browser.new_page()
        stranger.goto(f"{base}/voila/render/index.ipynb", timeout=60_000)
        assert "/login" in stranger.url
        assert "What is in the workspace" not in stranger.content()
        stranger.close()


# -- itu-plan lab ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def lab(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """`itu-plan lab` in the background, with JupyterLab's settings in ``tmp_path``; the base
    URL, its token (from the URL it prints) and its log."""
    port = free_port()
    log = tmp_path / "lab.log"
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))  # fmt: skip
    command = [sys.executable, "-m", "itu_plan.cli", "--db", f"sqlite:///{tmp_path / 'lab.db'}",
               "lab", "--no-browser", "--port", str(port)]  # fmt: skip
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 90
        while not (found := re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=(\w+)", log.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}", found.group(1), log
    finally:
        kernels = descendants(process.pid)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        for pid in kernels:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_lab_is_local_with_a_token_and_without_news(tmp_path: Path) -> None:
    with lab(tmp_path) as (base, token, log):
        port = int(base.rsplit(":", 1)[1])
        assert listening_addresses(port) == {"127.0.0.1"}
        assert get(base, "/lab").status == 302 and get(base, "/api/kernels").status == 403
        assert get(base, f"/lab?token={token}", host=f"{FOREIGN}:{port}").status == 403
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", f"/lab?token={token}")
        page = connection.getresponse().read().decode()
        config = json.loads(
            re.search(r'id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)[1]
        )  # type: ignore[index]
        assert "@jupyterlab/apputils-extension:announcements" in config["disabledExtensions"]
        output = log.read_text()
        assert ("WARNING: running JupyterLab as root" in output) == (os.geteuid() == 0)
        assert "Traceback" not in output


@pytest.mark.browser
def test_lab_greets_a_planner_without_the_news_prompt(tmp_path: Path, browser: Any) -> None:
    """JupyterLab 4 asks "Would you like to get notified about official Jupyter news?" on its
    first start; not in `itu-plan lab`."""
    assert CHROMIUM.exists()
    with lab(tmp_path) as (base, token, _log):
        page = browser.new_page()
        page.goto(f"{base}/lab?token={token}", timeout=120_000)
        page.wait_for_selector(".jp-LauncherCard", timeout=120_000)
        with pytest.raises(Exception, match="Timeout"):
            page.wait_for_selector("text=official Jupyter news", timeout=8_000)
        page.close()
