import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_health_is_200_when_database_pgvector_and_models_are_ready(client, models_ready):
    response = client.get("/api/v1/health")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["database"]["ready"] and body["pgvector"]["ready"] and body["models"]["ready"]
    assert body["pgvector"]["version"].startswith("0.8")
    from recognition.manifest import ATTRIBUTE_MODELS

    assert set(body["models"]["models"]) == {"mtcnn_pnet", "mtcnn_rnet", "mtcnn_onet", "facenet", "facenet_ms1m", "arcface_mbf",
                                             *ATTRIBUTE_MODELS}  # the face attribute and liveness models
    assert body["models"]["embedder"] == "facenet-ms1m"


@pytest.mark.django_db
def test_health_is_503_naming_the_models_when_they_are_missing(client, settings, tmp_path):
    settings.FACEAPP_MODEL_DIR = tmp_path
    response = client.get("/api/v1/health")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "error" and body["error_code"] == "not_ready"
    assert "models" in body["message"]
    assert body["database"]["ready"] is True
    assert body["requestId"] == response["X-Request-ID"]


def test_health_is_503_naming_the_database_when_it_is_down():
    # A real outage: a separate process whose DATABASE_URL points at a port nothing listens on.
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/api/v1/health');"
        "print(json.dumps({'status': r.status_code, 'body': r.json()}))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "faceapp.settings", "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none", "DB_CONNECT_TIMEOUT": "2", "ALLOWED_HOSTS": "testserver"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["status"] == 503
    assert outcome["body"]["error_code"] == "not_ready"
    assert "database" in outcome["body"]["message"]
    assert outcome["body"]["database"]["ready"] is False
