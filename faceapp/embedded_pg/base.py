"""Django's PostgreSQL backend, starting the embedded server on the first connection.

Used when DATABASE_URL is unset, so that commands which never touch the database (build_models,
--help) do not start PostgreSQL, and a server that was stopped is started again on demand.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from django.db.backends.postgresql import base

from faceapp import embedded_db


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        url = urlsplit(embedded_db.database_url(Path(self.settings_dict["EMBEDDED_PGDATA"])))
        params["host"] = parse_qs(url.query)["host"][0]
        params["user"] = url.username or "postgres"
        return params

    def get_new_connection(self, conn_params):
        try:
            return super().get_new_connection(conn_params)
        except base.Database.OperationalError:
            # The server may have been stopped since this process first saw it: start it again once.
            embedded_db.forget(Path(self.settings_dict["EMBEDDED_PGDATA"]))
            return super().get_new_connection(self.get_connection_params())
