"""The bearer token, the login cookie, the loopback host check, and the probes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from collector.server.app import create_app
from collector.server.auth import SESSION_COOKIE
from collector.server.commands import loopback_hosts, resolve_token
from collector.storage.db import make_engine, upgrade
from tests.conftest import FakeClock
from tests.server.conftest import TOKEN, TestClient, World

BEARER = {"authorization": f"Bearer {TOKEN}"}
PROTECTED = (
    "/api/creators",
    "/api/flags",
    "/api/campaigns",
    "/metrics",
    "/readyz",
    "/openapi.json",
)


def test_every_route_but_healthz_needs_the_token_when_one_is_configured(
    guarded: TestClient,
) -> None:
    for route in PROTECTED:
        response = guarded.get(route)
        assert response.status_code == 401, route
        assert response.headers["www-authenticate"] == "Bearer"
    assert guarded.get("/healthz").status_code == 200


def test_the_bearer_token_opens_every_route(guarded: TestClient) -> None:
    for route in (*PROTECTED, "/", "/flags"):
        assert guarded.get(route, headers=BEARER).status_code == 200, route


def test_a_wrong_token_is_refused(guarded: TestClient) -> None:
    for header in (f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer "):
        assert guarded.get("/api/creators", headers={"authorization": header}).status_code == 401


def test_pages_send_a_browser_to_the_login_form(guarded: TestClient) -> None:
    response = guarded.get("/flags?status=all", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fflags%3Fstatus%3Dall"


def test_the_login_form_trades_the_token_for_a_session_cookie(guarded: TestClient) -> None:
    response = guarded.post(
        "/login",
        data={"token": TOKEN, "next": "/flags"},
        headers={"origin": "http://testserver"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/flags"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    # The cookie proves the token was given; it is not the token.
    assert TOKEN not in cookie
    assert guarded.get("/flags", follow_redirects=False).status_code == 200
    assert guarded.get("/api/flags").status_code == 200


def test_a_wrong_token_in_the_login_form_sets_no_cookie(guarded: TestClient) -> None:
    response = guarded.post(
        "/login", data={"token": "guess"}, headers={"origin": "http://testserver"}
    )
    assert response.status_code == 401
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert guarded.get("/api/flags").status_code == 401


def test_a_cross_site_login_is_refused(guarded: TestClient) -> None:
    response = guarded.post(
        "/login", data={"token": TOKEN}, headers={"origin": "http://evil.example"}
    )
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_a_forged_session_cookie_is_refused(guarded: TestClient) -> None:
    guarded.cookies.set(SESSION_COOKIE, "0" * 64)
    assert guarded.get("/api/flags").status_code == 401


def test_private_data_is_never_cached_when_a_token_protects_it(guarded: TestClient) -> None:
    assert guarded.get("/api/creators", headers=BEARER).headers["cache-control"] == "no-store"


def test_an_empty_token_is_refused_rather_than_serving_open(
    sqlite_world: tuple[Engine, World],
) -> None:
    with pytest.raises(ValueError, match="empty"):
        create_app(sqlite_world[0], token="  ")


def test_a_loopback_server_answers_only_to_loopback_host_names(
    sqlite_world: tuple[Engine, World], clock: FakeClock
) -> None:
    engine, _world = sqlite_world
    app = create_app(engine, token=None, clock=clock, allowed_hosts=loopback_hosts("127.0.0.1"))
    with TestClient(app, base_url="http://127.0.0.1:8080") as local:
        assert local.get("/healthz").status_code == 200
        assert local.get("/healthz", headers={"host": "localhost:8080"}).status_code == 200
        # A rebound DNS name pointing at 127.0.0.1 is not this dashboard.
        assert local.get("/api/creators", headers={"host": "evil.example"}).status_code == 400


def test_an_exposed_server_accepts_any_host_name() -> None:
    assert loopback_hosts("0.0.0.0") is None  # noqa: S104 - the address under test
    assert loopback_hosts("192.0.2.10") is None
    assert loopback_hosts("localhost") is not None
    assert loopback_hosts("127.0.0.2") is not None


def test_the_token_comes_from_the_named_environment_variable() -> None:
    assert resolve_token("COLLECTOR_API_TOKEN", {"COLLECTOR_API_TOKEN": " abc "}) == "abc"
    assert resolve_token("COLLECTOR_API_TOKEN", {}) is None
    assert resolve_token("MY_TOKEN", {"MY_TOKEN": "xyz"}) == "xyz"


def test_a_named_token_variable_that_is_unset_is_an_error_not_an_open_server() -> None:
    with pytest.raises(ValueError, match="MY_TOKEN is not set"):
        resolve_token("MY_TOKEN", {})


# -- probes ------------------------------------------------------------------------------------


def test_readyz_is_ready_on_a_database_at_head(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["schema_revision"] == body["head_revision"]


def test_readyz_is_503_on_a_database_behind_head(tmp_path: Path, clock: FakeClock) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0002")
    with TestClient(create_app(engine, token=None, clock=clock)) as old:
        response = old.get("/readyz")
    engine.dispose()
    assert response.status_code == 503
    body = response.json()
    assert (body["database"], body["schema_revision"]) == ("reachable", "0002")
    assert "collector db upgrade" in body["problem"]


def test_readyz_is_503_and_healthz_200_when_the_database_is_unreachable(
    clock: FakeClock,
) -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    engine = make_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    with TestClient(create_app(engine, token=None, clock=clock)) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["database"] == "unreachable"
