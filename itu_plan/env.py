"""The environment variables itu-plan reads or sets, by name: one home for them all."""

from __future__ import annotations

from enum import StrEnum


class Env(StrEnum):
    """An environment variable's name; a ``str``, so ``os.environ.get(Env.DB)`` reads it."""

    #: The workspace database URL, when ``--db`` is not given.
    DB = "ITU_PLAN_DB"
    #: Who acts, when ``--user`` is not given ...
    USER = "ITU_PLAN_USER"
    #: ... else the person JupyterHub started the server for.
    JUPYTERHUB_USER = "JUPYTERHUB_USER"
    #: The notebooks folder the apps are served from.
    NOTEBOOKS = "ITU_PLAN_NOTEBOOKS"
    #: Seconds between two looks of an open app for what others saved.
    REFRESH_SECONDS = "ITU_PLAN_REFRESH_SECONDS"
    #: ``1``: a notebook produces static HTML only (``itu-plan render``).
    STATIC = "ITU_PLAN_STATIC"
    #: How ``itu-plan serve`` hands the token it made to its server, which takes it out of its
    #: environment at once (a command line can be read by every user of the machine).
    SERVE_TOKEN = "ITU_PLAN_SERVE_TOKEN"
    #: The folder of PostgreSQL's server programs for ``itu-plan hub``.
    PG_BIN = "ITU_PLAN_PG_BIN"
    # Set by others, read or set here:
    #: libpq's server socket folder, port and database, for a person's server on the hub.
    PGHOST = "PGHOST"
    PGPORT = "PGPORT"
    PGDATABASE = "PGDATABASE"
    #: Voilà's preheated kernels (``"True"`` while one waits for a page).
    VOILA_PREHEAT = "VOILA_PREHEAT"
    #: The page request's query string, which Voilà puts in the kernel's environment.
    QUERY_STRING = "QUERY_STRING"
    #: Where Jupyter looks for data files (the Voilà template).
    JUPYTER_PATH = "JUPYTER_PATH"
    #: Where Jupyter looks for configuration (JupyterLab's page config).
    JUPYTER_CONFIG_PATH = "JUPYTER_CONFIG_PATH"
    #: Python's string hashing seed, fixed for reproducible renders.
    PYTHONHASHSEED = "PYTHONHASHSEED"
