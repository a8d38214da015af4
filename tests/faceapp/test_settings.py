"""FACEAPP_ENV=production: what it turns on, and `manage.py check --deploy` clean with it (docs/security.md)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("FACEAPP_ENV", "DEBUG", "SECURE_"))}
    environment.update(env)
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], capture_output=True, text=True, timeout=120,
                          env=environment, cwd=ROOT)


def production_settings() -> dict:
    code = ("from django.conf import settings as s; import json; print(json.dumps({k: getattr(s, k, None) for k in ("
            "'FACEAPP_SEED_API_OPEN', 'FACEAPP_THROTTLE_ANON_RATE', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
            "'SECURE_HSTS_SECONDS', 'SECURE_SSL_REDIRECT', 'FACEAPP_CSP', 'SECURE_PROXY_SSL_HEADER')}))")
    result = run_manage("shell", "-c", code, env={"FACEAPP_ENV": "production"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_in_production_mode_and_not_in_development():
    production = run_manage("check", "--deploy", "--fail-level", "WARNING", env={"FACEAPP_ENV": "production"})
    assert production.returncode == 0, production.stdout + production.stderr
    assert "no issues" in production.stdout
    development = run_manage("check", "--deploy", "--fail-level", "WARNING", env={})
    assert development.returncode != 0 and "security.W004" in development.stderr  # no HSTS: the check does notice


def test_production_turns_on_secure_cookies_hsts_csp_closes_the_seed_endpoints_and_throttles_anonymous_callers():
    values = production_settings()
    assert values["FACEAPP_SEED_API_OPEN"] is False and values["FACEAPP_THROTTLE_ANON_RATE"] == "60/min"
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"] and values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] >= 180 * 24 * 3600 and values["FACEAPP_CSP"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_an_unknown_environment_name_or_debug_in_production_refuses_to_start():
    assert "FACEAPP_ENV must be" in run_manage("check", env={"FACEAPP_ENV": "prod"}).stderr
    assert "DEBUG must be off" in run_manage("check", env={"FACEAPP_ENV": "production", "DEBUG": "1"}).stderr


@pytest.mark.django_db
def test_the_operator_pages_carry_the_csp_and_the_admin_does_not(client, settings, django_user_model):
    from faceapp.csp import POLICY

    settings.FACEAPP_CSP = True
    client.force_login(django_user_model.objects.create_user("op", password="a long pass phrase 1", is_staff=True, is_superuser=True))
    for path in ("/ui/", "/ui/people/", "/ui/enrol/", "/ui/cameras/", "/accounts/login/", "/"):
        response = client.get(path)
        assert response.status_code in (200, 302) and response["Content-Security-Policy"] == POLICY, path
    assert "Content-Security-Policy" not in client.get("/admin/")
    assert "'unsafe-inline'" not in POLICY and "img-src 'self' data: blob:" in POLICY


def test_the_operator_pages_have_no_inline_script_or_style_the_csp_would_block():
    """The CSP allows no 'unsafe-inline': every template and script of the pages must do without."""
    import re

    offenders = []
    for path in list((ROOT / "templates" / "ui").rglob("*.html")) + list((ROOT / "templates" / "registration").rglob("*.html")):
        text = path.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"<style\b", r"\sstyle=", r"\son[a-z]+="):
            if re.search(pattern, text):
                offenders.append(f"{path.relative_to(ROOT)}: {pattern}")
    for path in (ROOT / "faceapp" / "static" / "faceapp").glob("*.js"):
        text = path.read_text()
        for pattern in (r"\beval\(", r"new Function\(", r"\.setAttribute\(\s*[\"']on", r"\.setAttribute\(\s*[\"']style"):
            if re.search(pattern, text):
                offenders.append(f"{path.relative_to(ROOT)}: {pattern}")
    assert not offenders, offenders


@pytest.mark.django_db
def test_seed_endpoints_closed_need_a_key_and_anonymous_throttles_ignore_a_forged_forwarded_for(client, settings):
    settings.FACEAPP_SEED_API_OPEN = False
    assert client.post("/api/v1/recognise_user").status_code == 401
    settings.FACEAPP_SEED_API_OPEN = True
    settings.FACEAPP_THROTTLE_ANON_RATE = "2/min"
    codes = [client.post("/api/v1/recognise_user", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(4)]
    assert codes[:2] == [400, 400] and codes[2:] == [429, 429]
