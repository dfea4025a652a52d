"""`itu-plan hub` without starting anything: what it refuses, what it writes, how a server is shaped."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from itu_plan import hub
from itu_plan.cli import main
from itu_plan.errors import UsageError


def test_the_servers_reach_postgresql_over_its_socket_as_themselves() -> None:
    database = hub.database_of("postgresql+psycopg://root@/itu_plan?host=/run/pg&port=5433")
    assert database == hub.Database("/run/pg", 5433, "itu_plan")
    env = database.environment()
    assert env == {
        "PGHOST": "/run/pg",
        "PGPORT": "5433",
        "PGDATABASE": "itu_plan",
        "ITU_PLAN_DB": "postgresql+psycopg:///itu_plan?host=/run/pg&port=5433",
    }
    assert "root" not in env["ITU_PLAN_DB"], "no user name: libpq logs in as the OS user"
    assert hub.database_of("postgresql+psycopg:///w") == hub.Database(hub.DEFAULT_SOCKET_DIR, 5432, "w")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("sqlite:///plan.db", "SQLite workspace is for one person"),
        ("postgresql+psycopg://u:p@db.example.org/itu_plan", "Unix socket"),
        ("postgresql+psycopg:///?host=/run/pg", "names no database"),
        ("not a url", "is not a database URL"),
    ],
)
def test_a_workspace_the_hub_cannot_serve_is_refused(url: str, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        hub.database_of(url)


def test_the_command_refuses_sqlite_in_a_sentence(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(hub.os, "geteuid", lambda: 0)
    assert main(["--db", "sqlite:///plan.db", "hub"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("itu-plan: itu-plan hub serves a workspace on PostgreSQL") and "Traceback" not in err


def test_the_command_needs_root(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(hub.os, "geteuid", lambda: 1000)
    assert main(["--db", "postgresql+psycopg:///w", "hub"]) == 2
    assert "runs as root" in capsys.readouterr().err


def test_a_workspace_without_users_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    assert main(["--db", url, "init"]) == 0
    with pytest.raises(UsageError, match="nobody could log in"):
        hub.check_workspace(url)


def test_folders_closed_to_other_users_are_named(tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    inner = closed / "inner"
    inner.mkdir(parents=True)
    closed.chmod(0o700)
    try:
        assert closed in hub.closed_folders(inner)
        with pytest.raises(UsageError, match=f"{closed}.* closed to other users"):
            hub.require_reachable("the package", inner)
        closed.chmod(0o711)  # passing through is enough; listing is not needed
        assert closed not in hub.closed_folders(inner)
    finally:
        closed.chmod(0o755)


def test_notebooks_are_published_read_only(tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "apps"
    source.mkdir()
    (source / "index.ipynb").write_text("{}")
    target.mkdir()
    (target / "gone.ipynb").write_text("{}")
    assert hub.publish_notebooks(source, target) == ["index.ipynb"]
    assert sorted(p.name for p in target.iterdir()) == ["index.ipynb"]
    assert stat.S_IMODE((target / "index.ipynb").stat().st_mode) == 0o644
    assert stat.S_IMODE(target.stat().st_mode) == 0o755


def _settings(tmp_path: Path) -> hub.HubSettings:
    return hub.HubSettings(
        workspace_url="postgresql+psycopg:///w?host=/run/pg", database=hub.Database("/run/pg", 5432, "w"),
        ip="127.0.0.1", port=8000, hub_port=8081, proxy_api_port=8001, state=str(tmp_path / "state"),
        apps=str(tmp_path / "apps"), proxy="/usr/bin/configurable-http-proxy", python="/usr/bin/python3",
        refresh_seconds=5.0,
    )  # fmt: skip


def test_the_configuration_is_written_for_root_only(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    config = hub.write_config(settings)
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    assert hub.HubSettings.from_json((config.parent / "settings.json").read_text()) == settings
    compile(config.read_text(), str(config), "exec")


def test_managers_get_a_locked_down_apps_server(tmp_path: Path) -> None:
    pytest.importorskip("jupyterhub", reason="the hub extra is not installed")
    from traitlets.config import Config

    from itu_plan import hub_spawn

    arguments = hub_spawn.apps_only_arguments()
    extensions = next(a for a in arguments if a.startswith("--ServerApp.jpserver_extensions="))
    assert '"jupyterlab":False' in extensions and '"jupyter_server_terminals":False' in extensions
    assert '"voila.server_extension":True' in extensions
    assert "--ServerApp.terminals_enabled=False" in arguments
    assert "--ServerApp.authorizer_class=itu_plan.hub_spawn.AppsOnlyAuthorizer" in arguments
    allowed = next(a for a in arguments if a.startswith("--MappingKernelManager.allowed_message_types="))
    assert "execute_request" not in allowed and "comm_msg" in allowed
    assert not any("jpserver_extensions" in a for a in hub_spawn.voila_arguments())

    c = Config()
    hub_spawn.configure(c, _settings(tmp_path))
    assert c.JupyterHub.spawner_class is hub_spawn.WorkspaceSpawner
    assert c.JupyterHub.authenticator_class is hub_spawn.WorkspaceAuthenticator
    assert c.Authenticator.admin_users == set(), "a JupyterHub admin could open anyone's server"
    assert c.Spawner.disable_user_config is True


def test_the_apps_only_authorizer_lets_through_voila_and_the_page_kernel_only() -> None:
    pytest.importorskip("jupyterhub", reason="the hub extra is not installed")
    from jupyterhub.singleuser.extension import JupyterHubAuthorizer

    from itu_plan.hub_spawn import AppsOnlyAuthorizer

    class Voila:
        pass

    Voila.__module__ = "voila.tornado.handler"

    class Contents:
        pass

    Contents.__module__ = "jupyter_server.services.contents.handlers"

    authorizer = AppsOnlyAuthorizer.__new__(AppsOnlyAuthorizer)
    original = JupyterHubAuthorizer.is_authorized
    JupyterHubAuthorizer.is_authorized = lambda *args: True  # type: ignore[method-assign]
    try:
        import logging

        authorizer.log = logging.getLogger("test")
        assert authorizer.is_authorized(Voila(), None, "read", "contents")
        assert authorizer.is_authorized(Contents(), None, "execute", "kernels")
        assert authorizer.is_authorized(Contents(), None, "read", "kernels")
        assert not authorizer.is_authorized(Contents(), None, "write", "kernels")
        assert not authorizer.is_authorized(Contents(), None, "read", "contents")
        assert not authorizer.is_authorized(Contents(), None, "read", "terminals")
    finally:
        JupyterHubAuthorizer.is_authorized = original  # type: ignore[method-assign]


def test_pgdata_must_hold_a_cluster_postgresql_may_run(tmp_path: Path) -> None:
    database = hub.Database(str(tmp_path / "sock"), 5432, "w")
    with pytest.raises(UsageError, match="holds no PostgreSQL cluster: create one first"):
        hub.bring_up_postgres(tmp_path, database)
    (tmp_path / "PG_VERSION").write_text("15\n")
    if tmp_path.stat().st_uid == 0:  # the test runs as root: the cluster would be root's
        with pytest.raises(UsageError, match="PostgreSQL does not run as root"):
            hub.bring_up_postgres(tmp_path, database)
