import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def manage(*args, **env):
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "EVR_", "DATABASE_URL", "REDIS_URL"))
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_pass_the_deploy_check():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SECRET_KEY="x" * 20 + "-a-long-random-production-secret-key-0123456789",
        DJANGO_ALLOWED_HOSTS="evreader.example",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = manage("check")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_debug_mode_starts_without_a_secret_key():
    result = manage("check", DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_the_disk_cache_keeps_a_rendered_page_in_its_database_not_in_a_file_of_its_own(
    tmp_path,
):
    code = (
        "from django.core.cache import cache; "
        "page = '<p>A long discussion.</p>' * 8_000; "  # 200 KB, as an article page
        "cache.set('page', page); print(cache.get('page') == page)"
    )
    result = manage("shell", "-c", code, DJANGO_DEBUG="1", EVR_CACHE_DIR=str(tmp_path))

    assert result.stdout.splitlines()[-1] == "True", result.stderr
    assert [path for path in tmp_path.rglob("*") if path.suffix == ".val"] == []


def test_pages_send_a_strict_content_security_policy(client, seeded_article):
    policy = client.get("/")["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="JIT compilation is PostgreSQL's (CI runs it)."
)
def test_postgresql_connections_compile_no_query(db):
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
