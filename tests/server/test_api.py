"""The read API over a real database (each test on SQLite and on PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine

from collector.importer import import_file
from collector.server.api import POST_CSV_COLUMNS, PROFILE_CSV_COLUMNS
from collector.storage.models import ProfileSnapshot
from tests.server.conftest import FORMULA_CAPTION, HOSTILE, TestClient, World

FLAG_FIELDS = {
    "id",
    "platform",
    "handle",
    "account_id",
    "kind",
    "severity",
    "status",
    "window_start",
    "window_end",
    "score",
    "post_id",
    "post_url",
    "summary",
    "evidence",
    "created_at",
    "updated_at",
}


def test_creators_list_each_creator_with_accounts_tier_latest_counts_and_open_flags(
    client: TestClient, world: World
) -> None:
    creators = {c["name"]: c for c in client.get("/api/creators").json()}

    salma = creators["Salma Beauty"]
    assert salma["tier"] == "micro"
    assert salma["followers"] == 20_000 + 50 * 19 + 5_000
    assert [a["handle"] for a in salma["accounts"]] == ["salma.beauty"]
    assert salma["accounts"][0]["collected_at"] == (
        (world.first_snapshot + timedelta(days=19)).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    # The open high flag counts; the dismissed one does not.
    assert salma["open_flags"] == 1


def test_low_severity_flags_are_not_counted_as_needing_attention(
    client: TestClient, world: World
) -> None:
    account = client.get(f"/api/accounts/{world.hostile}").json()
    assert account["open_flags"] == 0
    assert account["tier"] == "nano"


def test_account_engagement_rate_is_the_median_of_recent_posts(
    client: TestClient, world: World
) -> None:
    account = client.get(f"/api/accounts/{world.bought}").json()
    posts = client.get(f"/api/accounts/{world.bought}/posts").json()
    rates = sorted(p["engagement_rate_by_followers"] for p in posts)
    assert account["recent_posts"] == len(posts) == 6
    assert account["engagement_rate_by_followers"] == (rates[2] + rates[3]) / 2


def test_unknown_counts_are_null_not_zero(client: TestClient, world: World) -> None:
    account = client.get(f"/api/accounts/{world.hostile}").json()
    assert account["following"] is None
    assert account["posts_count"] is None


def test_accounts_without_a_creator_are_listed_under_accounts(
    client: TestClient, world: World
) -> None:
    handles = {a["handle"] for a in client.get("/api/accounts").json()}
    assert "imported.handle" in handles
    assert all(
        a["handle"] != "imported.handle"
        for c in client.get("/api/creators").json()
        for a in c["accounts"]
    )


def test_series_returns_the_snapshots_in_the_range_oldest_first(
    client: TestClient, world: World
) -> None:
    start = world.first_snapshot + timedelta(days=5)
    end = world.first_snapshot + timedelta(days=9)
    body = client.get(
        f"/api/accounts/{world.bought}/series",
        params={"from": start.isoformat(), "to": end.isoformat()},
    ).json()
    assert [p["followers"] for p in body["points"]] == [20_000 + 50 * d for d in range(5, 10)]
    assert body["next_from"] is None


def test_series_range_without_offset_is_read_as_utc(client: TestClient, world: World) -> None:
    start = world.first_snapshot + timedelta(days=5)
    naive = start.replace(tzinfo=None).isoformat()
    offset = start.astimezone(__import__("datetime").timezone(timedelta(hours=1))).isoformat()
    a = client.get(f"/api/accounts/{world.bought}/series", params={"from": naive}).json()
    b = client.get(f"/api/accounts/{world.bought}/series", params={"from": offset}).json()
    assert a["points"][0]["followers"] == b["points"][0]["followers"] == 20_000 + 50 * 5


def test_series_pages_with_next_from_until_every_point_is_read(
    client: TestClient, world: World
) -> None:
    followers: list[int] = []
    params: dict[str, str | int] = {"limit": 7}
    pages = 0
    while True:
        body = client.get(f"/api/accounts/{world.bought}/series", params=params).json()
        pages += 1
        followers.extend(p["followers"] for p in body["points"])
        if body["next_from"] is None:
            break
        params = {"limit": 7, "from": body["next_from"]}
    assert pages == 3
    assert len(followers) == world.snapshots
    assert followers == sorted(followers)


def test_unknown_account_is_404_on_every_account_route(client: TestClient) -> None:
    for route in ("", "/series", "/posts", "/series.csv", "/posts.csv"):
        response = client.get(f"/api/accounts/999999{route}")
        assert response.status_code == 404, route
        assert response.json() == {"detail": "no such account"}


def test_an_id_beyond_the_database_integer_range_is_refused_not_a_server_error(
    client: TestClient,
) -> None:
    assert client.get(f"/api/accounts/{2**63}/series").status_code == 422


def test_posts_come_newest_first_with_engagement_rates(client: TestClient, world: World) -> None:
    posts = client.get(f"/api/accounts/{world.bought}/posts").json()
    published = [p["published_at"] for p in posts]
    assert published == sorted(published, reverse=True)
    newest = posts[0]
    assert newest["interactions"] == newest["likes"] + 20 + 5 + 5
    assert newest["engagement_rate_by_followers"] == (
        newest["interactions"] / newest["followers_at_publication"]
    )
    assert newest["engagement_rate_by_views"] == newest["interactions"] / newest["views"]


def test_flags_have_the_fields_of_collector_flags_json(client: TestClient, world: World) -> None:
    flags = client.get("/api/flags").json()
    assert {f["id"] for f in flags} == {world.high_flag, world.low_flag, world.dismissed_flag}
    assert all(set(f) == FLAG_FIELDS for f in flags)
    high = next(f for f in flags if f["id"] == world.high_flag)
    assert high["handle"] == "salma.beauty"
    assert high["evidence"] == {"followers_gained": 5050, "baseline_per_day": 50.0}
    # Newest window first, as the command prints them.
    starts = [f["window_start"] for f in flags]
    assert starts == sorted(starts, reverse=True)


def test_flags_are_the_objects_collector_flags_prints(
    client: TestClient, engine: Engine, world: World
) -> None:
    from collector.detection.flags import flag_objects

    with engine.connect() as conn:
        printed = json.loads(json.dumps(flag_objects(conn), default=str))
    served = client.get("/api/flags").json()
    assert [f["id"] for f in served] == [f["id"] for f in printed]
    for mine, theirs in zip(served, printed, strict=True):
        assert {k: v for k, v in mine.items() if not k.endswith(("_start", "_end", "_at"))} == {
            k: v for k, v in theirs.items() if not k.endswith(("_start", "_end", "_at"))
        }


def test_flags_filter_by_status(client: TestClient, world: World) -> None:
    open_ids = {f["id"] for f in client.get("/api/flags", params={"status": "open"}).json()}
    assert open_ids == {world.high_flag, world.low_flag}
    assert client.get("/api/flags", params={"status": "closed"}).status_code == 422


def test_campaigns_list_their_creators_and_costs(client: TestClient, world: World) -> None:
    (campaign,) = client.get("/api/campaigns").json()
    assert campaign["name"] == "Ramadan 2026"
    assert campaign["brand"] == "@souk.moderne"
    (member,) = campaign["creators"]
    assert member["name"] == "Salma Beauty"
    assert (member["cost"], member["currency"]) == ("1500.00", "MAD")


def test_series_csv_imports_back_into_the_same_snapshots(
    client: TestClient, engine: Engine, world: World, tmp_path: Path
) -> None:
    response = client.get(f"/api/accounts/{world.bought}/series.csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="demo-salma.beauty-series.csv"' in response.headers["content-disposition"]
    before = client.get(f"/api/accounts/{world.bought}/series").json()["points"]
    path = tmp_path / "series.csv"
    path.write_bytes(response.content)
    snapshots = ProfileSnapshot.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(delete(snapshots).where(snapshots.c.account_id == world.bought))

    import_file(engine, path, now=world.now)

    after = client.get(f"/api/accounts/{world.bought}/series").json()["points"]
    assert after == before
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(snapshots)).scalar_one() == 41


def test_series_csv_header_is_the_import_header(client: TestClient, world: World) -> None:
    text = client.get(f"/api/accounts/{world.bought}/series.csv").text
    assert tuple(text.splitlines()[0].split(",")) == PROFILE_CSV_COLUMNS


def test_posts_csv_has_the_import_header_and_every_counted_post(
    client: TestClient, world: World
) -> None:
    rows = list(csv.reader(io.StringIO(client.get(f"/api/accounts/{world.bought}/posts.csv").text)))
    assert tuple(rows[0]) == POST_CSV_COLUMNS
    assert [r[2] for r in rows[1:]] == [f"p{world.bought}-{k}" for k in range(6)]


def test_posts_csv_neutralises_a_caption_that_a_spreadsheet_would_run(
    client: TestClient, world: World
) -> None:
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/api/accounts/{world.hostile}/posts.csv").text))
    )
    captions = [r["caption"] for r in rows]
    assert "'" + FORMULA_CAPTION in captions
    assert not any(c.startswith("=") for c in captions)


def test_csv_filename_never_carries_what_a_creator_wrote(client: TestClient, world: World) -> None:
    disposition = client.get(f"/api/accounts/{world.hostile}/series.csv").headers[
        "content-disposition"
    ]
    assert "<" not in disposition
    assert HOSTILE not in disposition
    assert disposition.count('"') == 2


def test_openapi_describes_every_api_route_with_a_response_model(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/creators",
        "/api/accounts/{account_id}/series",
        "/api/accounts/{account_id}/posts",
        "/api/flags",
        "/api/campaigns",
    ):
        ok = spec["paths"][path]["get"]["responses"]["200"]
        assert "$ref" in str(ok["content"]["application/json"]["schema"]), path
    # Pages are not part of the API.
    assert "/" not in spec["paths"]
    assert "/flags/{flag_id}/status" not in spec["paths"]
