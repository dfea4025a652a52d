"""The distribution: layout, dependencies in step, layering, docs."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

from itu_plan.cli import COMMANDS

REPO = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _spec(requirement: str) -> str:
    return re.sub(r"^[A-Za-z0-9_.\-]+(\[[^\]]*\])?", "", requirement.strip()).replace(" ", "")


def test_required_layout() -> None:
    for name in ("notebooks", "itu_plan", "widgets", "tests", "benchmarks", "environment.yml",
                 "pyproject.toml", "README.md", ".ci/run", "Makefile"):  # fmt: skip
        assert (REPO / name).exists(), name


def test_environment_yml_matches_pyproject() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {_name(r): _spec(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]}
    conda: dict[str, str] = {}
    text = (REPO / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        match = re.match(r"^  - ([A-Za-z][^#]*?)\s*$", line)
        if match and not match.group(1).startswith("pip"):
            conda[_name(match.group(1))] = _spec(match.group(1))
    conda.pop("python")
    assert conda == wanted


def test_voila_is_not_vulnerable_to_cve_2024_30265() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    voila = next(r for r in project["dependencies"] if _name(r) == "voila")
    assert ">=0.5.6" in voila


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


#: The server process `itu-plan serve` runs (a Voilà with a token and a Host check): the one
#: module of the core that imports Voilà, and that no module of the core imports.
SERVER_MODULE = REPO / "itu_plan" / "local_voila.py"


def test_core_never_imports_the_ui() -> None:
    for path in (REPO / "itu_plan").rglob("*.py"):
        forbidden = _imports(path) & {
            "widgets",
            "ipywidgets",
            "voila",
            "IPython",
            "ipydatagrid",
            "plotly",
        }
        if path == SERVER_MODULE:
            forbidden -= {"voila"}
        assert not forbidden, f"{path.relative_to(REPO)} imports {forbidden}"
        assert "itu_plan.local_voila" not in _modules(path), f"{path.relative_to(REPO)} imports the server module"


def _modules(path: Path) -> set[str]:
    """The full names of the modules ``path`` imports (``from a import b``: ``a`` and ``a.b``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_only_the_hub_module_imports_jupyterhub() -> None:
    """``itu-plan`` works without the hub extra: JupyterHub is imported by the module that
    JupyterHub itself loads, nowhere else."""
    importing = {str(p.relative_to(REPO)) for p in (REPO / "itu_plan").rglob("*.py") if "jupyterhub" in _imports(p)}
    assert importing == {"itu_plan/hub_spawn.py"}


def test_importing_the_package_does_no_work() -> None:
    import subprocess
    import sys

    code = "import itu_plan, sys; print(sorted(m for m in ('alembic', 'pandas', 'tqdm') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_readme_documents_every_command() -> None:
    readme = (REPO / "README.md").read_text()
    for command in COMMANDS:
        assert f"itu-plan {command}" in readme or f"`{command}`" in readme, command


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    assert "make test" in readme and "make run" in readme
    assert "make test" in (REPO / ".ci/run").read_text()


def test_every_data_file_is_package_data() -> None:
    """What the packages read at run time (member states, stylesheets, the Voilà template of
    `itu-plan serve`) ships in the wheel: each file is matched by ``package-data``."""
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert (REPO / "itu_plan/data/voila/templates/itu-plan/index.html.j2").exists()
    for package in ("itu_plan", "widgets"):
        root = REPO / package
        shipped = {path for pattern in package_data[package] for path in root.glob(pattern)}
        files = {
            path
            for path in root.rglob("*")
            if path.is_file() and path.suffix not in {".py", ".pyc"} and not path.name.startswith(".")
        }
        assert sorted(str(p.relative_to(REPO)) for p in files - shipped) == []


def test_serve_names_a_voila_template_its_environment_finds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from voila.paths import collect_template_paths

    from itu_plan import apps

    command = apps.voila_command(tmp_path, port=8866, open_browser=False)
    assert f"--template={apps.VOILA_TEMPLATE}" in command
    env = apps.kernel_environment(f"sqlite:///{tmp_path / 'workspace.db'}", "tester")
    monkeypatch.setenv("JUPYTER_PATH", env["JUPYTER_PATH"])
    paths = collect_template_paths(["voila", "nbconvert"], apps.VOILA_TEMPLATE, prune=True)
    assert paths[0] == str(apps.JUPYTER_DATA / "voila" / "templates" / apps.VOILA_TEMPLATE)
    assert any(Path(path).parts[-3:] == ("voila", "templates", "lab") for path in paths)  # the one it extends
