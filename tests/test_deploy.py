"""The deployment files (Dockerfile, deploy/): no container engine runs here, so they are linted and checked
against their schemas with pinned tools, and against the code they configure (roles, metric names)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent


def run(*command) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=120)


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_the_dockerfile_lints_clean_with_hadolint():
    result = run(BIN / "hadolint", ROOT / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_builds_the_models_and_runs_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "manage.py build_models" in dockerfile  # at image build time, in the build stage
    assert re.search(r"^USER 10001$", dockerfile, re.M)
    assert "requirements-build" not in dockerfile.split("AS runtime")[1]  # build packages stay out of the runtime


def test_compose_file_follows_the_compose_spec():
    result = run(BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", DEPLOY / "compose.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_has_the_topology_pgvector_redis_two_webs_workers_two_runners_and_nginx():
    services = compose()["services"]
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")
    assert services["redis"]["image"].startswith("redis:")
    assert services["nginx"]["image"].startswith("nginx:")
    assert services["web"]["deploy"]["replicas"] == 2 and services["cameras"]["deploy"]["replicas"] == 2
    assert "worker" in services
    for name in ("web", "worker", "cameras"):
        service = services[name]
        assert service["image"] == "faceapp:latest" and service["environment"]["FACEAPP_REDIS_URL"].startswith("redis://")
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "media:/data/media" in service["volumes"]  # every node sees the same stored images


def test_compose_roles_are_roles_serve_knows(settings):
    from faceapp.management.commands.serve import parse_roles

    for name in ("web", "worker", "cameras"):
        command = compose()["services"][name]["command"]
        assert command[:3] == ["python", "manage.py", "serve"]
        roles = [command[i + 1] for i, word in enumerate(command) if word == "--role"]
        assert name in parse_roles(roles)


def test_nginx_keeps_metrics_inside():
    conf = (DEPLOY / "nginx.conf").read_text()
    assert re.search(r"location = /metrics \{\s*return 404;", conf)
    assert "server web:8000" in conf


def test_prometheus_config_is_valid():
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("no promtool (Debian: apt-get install prometheus); the multinode test installs it where it can")
    result = run(promtool, "check", "config", DEPLOY / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_every_metric_the_grafana_dashboard_queries_is_exported():
    from prometheus_client.parser import text_string_to_metric_families

    from faceapp.metrics import exposition

    exported = set()
    for family in text_string_to_metric_families(exposition.render().decode()):
        suffixes = {"histogram": ("_bucket", "_count", "_sum"), "counter": ("_total",)}.get(family.type, ("",))
        exported |= {family.name + suffix for suffix in suffixes}
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "faceapp.json").read_text())
    queried = {name for panel in dashboard["panels"] for target in panel["targets"] for name in re.findall(r"faceapp_[a-z_]+", target["expr"])}
    assert len(dashboard["panels"]) >= 15
    assert queried and queried <= exported, queried - exported
    for needed in ("faceapp_pipeline_stage_duration_seconds_bucket", "faceapp_queue_depth", "faceapp_camera_frames_per_second",
                   "faceapp_runner_cameras", "faceapp_webhook_attempts_total", "faceapp_database_connections"):
        assert needed in queried, needed
