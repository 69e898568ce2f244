"""The Docker files keep their contract: healthy start order, graceful stop, no secret inside.

These parse the files; they need no Docker engine.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

DOCKER = Path(__file__).resolve().parents[1] / "docker"
# ${VAR}, ${VAR:-default}, ${VAR:?message}: a value taken from the environment by name.
ENV_REFERENCE = re.compile(r"^\$\{[A-Z][A-Z0-9_]*(:?[-?][^}]*)?\}$")
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|_KEY$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return document


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (INSTRUCTION, arguments), continuations joined."""
    text = (DOCKER / "Dockerfile").read_text()
    logical = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in logical.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, arguments = stripped.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the list form: ["NAME=value", "NAME"]
        return {
            name: (value if sep else None) for name, sep, value in (e.partition("=") for e in env)
        }
    return dict(env)


def seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration)
    assert parts, f"not a compose duration: {duration!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


def test_collector_waits_for_a_healthy_postgres(compose: dict[str, Any]) -> None:
    depends_on = compose["services"]["collector"]["depends_on"]

    assert depends_on["postgres"]["condition"] == "service_healthy"


def test_postgres_has_a_readiness_healthcheck(compose: dict[str, Any]) -> None:
    healthcheck = compose["services"]["postgres"]["healthcheck"]

    assert "pg_isready" in healthcheck["test"]
    assert {"interval", "timeout", "retries", "start_period"} <= healthcheck.keys()


def test_collector_gets_more_time_to_stop_than_its_ten_second_shutdown(
    compose: dict[str, Any],
) -> None:
    grace = compose["services"]["collector"]["stop_grace_period"]

    assert seconds(grace) > 10


def test_postgres_password_is_never_a_literal(compose: dict[str, Any]) -> None:
    password = environment(compose["services"]["postgres"])["POSTGRES_PASSWORD"]
    db_url = environment(compose["services"]["collector"])["COLLECTOR_DB_URL"]
    url_password = re.search(r"://[^:/@]+:(.+)@", db_url or "")

    assert password is not None
    assert ENV_REFERENCE.match(password)
    assert url_password is not None
    assert ENV_REFERENCE.match(url_password.group(1))


def test_secrets_are_passed_from_the_host_by_name_only(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key):
                assert value is None or ENV_REFERENCE.match(value), f"{name}.{key} is a literal"


def test_dockerfile_runs_as_a_non_root_user(dockerfile: list[tuple[str, str]]) -> None:
    users = [arguments for instruction, arguments in dockerfile if instruction == "USER"]

    assert users, "no USER instruction: the container would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_dockerfile_entrypoint_is_exec_form_and_migrates_first(
    dockerfile: list[tuple[str, str]],
) -> None:
    (entrypoint,) = [
        arguments for instruction, arguments in dockerfile if instruction == "ENTRYPOINT"
    ]

    # A JSON array: the daemon is PID 1 and gets SIGTERM itself, not through a shell.
    command = json.loads(entrypoint)
    assert command[:2] == ["collector", "run"]
    assert "--upgrade-db" in command


def test_dockerfile_base_images_are_pinned(dockerfile: list[tuple[str, str]]) -> None:
    images = [
        arguments.split()[0] for instruction, arguments in dockerfile if instruction == "FROM"
    ]

    assert images
    for image in images:
        assert ":" in image, f"{image} has no tag"
        assert not image.endswith(":latest"), f"{image} floats"
