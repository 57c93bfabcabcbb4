from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STUDIO_", "DJANGO_"))}
    clean.pop("SECRET_KEY", None)
    clean.pop("DEBUG", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_q_cluster_is_explicit_and_spelled_as_django_q_reads_it() -> None:
    q = settings.Q_CLUSTER
    assert q["timeout"] < q["retry"]
    assert q["ack_failures"] is True
    assert q["catch_up"] is False
    assert q["max_attempts"] == 1
    from django_q.conf import Conf

    assert Conf.ACK_FAILURES is True
    assert q["timeout"] == Conf.TIMEOUT and q["retry"] == Conf.RETRY
    assert Conf.CATCH_UP is False


def test_http_timeouts_sit_far_below_the_task_timeout() -> None:
    from studio.providers.http import API_TIMEOUT

    assert (API_TIMEOUT.read or 0) * 2 < settings.Q_CLUSTER["timeout"]


def test_production_refuses_a_missing_secret_key(tmp_path: Path) -> None:
    result = _run({"STUDIO_DATA_DIR": str(tmp_path)}, "check")
    assert result.returncode != 0
    assert "SECRET_KEY is missing or is the development key" in result.stderr


def test_production_refuses_the_development_secret_key(tmp_path: Path) -> None:
    result = _run(
        {"STUDIO_DATA_DIR": str(tmp_path), "SECRET_KEY": settings.DEV_SECRET_KEY}, "check"
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_a_bad_boolean_is_refused_with_its_name(tmp_path: Path) -> None:
    result = _run({"STUDIO_DATA_DIR": str(tmp_path), "DEBUG": "maybe"}, "check")
    assert result.returncode != 0
    assert "DEBUG must be one of" in result.stderr


def test_deploy_check_is_clean_with_the_documented_https_settings(tmp_path: Path) -> None:
    env = {
        "STUDIO_DATA_DIR": str(tmp_path),
        "SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-Zq8#x2!",
        "ALLOWED_HOSTS": "studio.example.com",
        "STUDIO_PUBLIC_URL": "https://studio.example.com",
        "STUDIO_HTTPS": "1",
    }
    result = _run(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
