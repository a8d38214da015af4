from faceapp.management.commands.serve import banner


def test_serve_says_where_operators_log_in_and_how_to_create_the_first_login():
    lines = banner("127.0.0.1", 8000)
    assert "http://127.0.0.1:8000/accounts/login/" in lines[1] and "http://127.0.0.1:8000/ui/" in lines[1]
    assert "manage.py createsuperuser" in lines[2]


def test_serve_on_every_address_shows_a_local_address_to_open():
    assert "http://127.0.0.1:9000/ui/" in banner("0.0.0.0", 9000)[1]


def test_roles_default_to_everything_and_a_web_node_reports_its_metrics():
    from faceapp.management.commands.serve import parse_roles

    assert parse_roles([]) == ["web", "worker", "cameras", "metrics"]
    assert parse_roles(["all"], cameras=False, metrics=False) == ["web", "worker"]
    assert parse_roles(["web"]) == ["web", "metrics"] and parse_roles(["web"], metrics=False) == ["web"]
    assert parse_roles(["worker,cameras"]) == ["worker", "cameras"]


def test_an_unknown_role_is_refused():
    import pytest
    from django.core.management.base import CommandError

    from faceapp.management.commands.serve import parse_roles

    with pytest.raises(CommandError, match="frames"):
        parse_roles(["web", "frames"])


def test_metrics_files_of_dead_processes_are_removed_and_live_ones_kept(tmp_path, monkeypatch):
    import os

    from faceapp.management.commands.serve import metrics_dir

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    live, dead = tmp_path / f"counter_{os.getpid()}.db", tmp_path / "histogram_999999999.db"
    live.write_bytes(b"x")
    dead.write_bytes(b"x")
    assert metrics_dir() == tmp_path
    assert live.exists() and not dead.exists()
