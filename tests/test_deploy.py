"""The production stack's parts, checked directly (no Docker engine runs here)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_every_part_with_health_checks() -> None:
    services = _compose()["services"]
    assert {"db", "redis", "web", "worker", "beat", "migrate"} <= set(services)
    for name in ("db", "redis", "web", "worker", "beat"):
        assert services[name]["healthcheck"]["test"], name
    assert services["db"]["volumes"] and services["redis"]["volumes"]
    for name in ("web", "worker", "beat", "migrate"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://")
        assert env["DEBUG"] == "false"
    assert services["web"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )


def test_compose_commands_exist() -> None:
    services = _compose()["services"]
    commands = get_commands()
    for name in ("web", "migrate"):
        command = services[name]["command"]
        assert command[:2] == ["python", "manage.py"]
        assert command[2] in commands, command
    for name in ("worker", "beat"):
        command = services[name]["command"]
        assert command[:3] == ["celery", "-A", "helpdesk"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "manage.py" in dockerfile and "collectstatic" in dockerfile


def _production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"HELPDESK_TESTING", "DEBUG", "SECRET_KEY", "PYTEST_CURRENT_TEST"}
    }
    env.update({"DEBUG": "false", "STATIC_ROOT": str(tmp_path / "static"), **extra})
    env["HELPDESK_TESTING"] = "0"
    return env


@pytest.mark.parametrize(
    "command",
    [
        ["-c", "import helpdesk.asgi"],
        ["-c", "import helpdesk.wsgi"],
        ["manage.py", "serve", "--port", "1"],
    ],
)
def test_servers_refuse_to_start_without_a_secret_key(tmp_path: Path, command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, *command],
        cwd=ROOT,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY setting must not be empty" in result.stderr


def test_maintenance_commands_run_without_a_secret_key(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env=_production_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_the_image_build_steps_work_with_production_settings(tmp_path: Path) -> None:
    env = _production_env(tmp_path, SECRET_KEY="build-only-" + "x" * 40)
    for step in (["collectstatic", "--noinput"], ["compile_translations"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *step],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()
    assert list((tmp_path / "static" / "vendor").glob("htmx-*.min.js"))
