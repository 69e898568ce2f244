"""the latest-state views seek each account's newest snapshot on PostgreSQL

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

``account_latest`` and ``post_latest`` matched each row to ``max(collected_at)`` of its
account (post) in the join condition. SQLite answers that with one primary-key seek per account;
PostgreSQL's planner instead hashes the whole snapshot table, so the latest state of 10,000
accounts over a year of snapshots took seconds. On PostgreSQL the views now take the newest
snapshot through ``LEFT JOIN LATERAL (... ORDER BY collected_at DESC LIMIT 1)``, a backward
primary-key scan per row. Same columns, names, types and rows: ``CREATE OR REPLACE VIEW`` keeps
every view built on them. SQLite is unchanged.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LATERAL_VIEWS = {
    "account_latest": """
SELECT a.id AS account_id, a.platform, a.handle, a.platform_id, a.display_name,
       a.status, a.creator_id, c.name AS creator_name,
       a.added_at, a.last_success_at, a.next_due_at,
       ps.collected_at, ps.followers, ps.following, ps.posts_count,
       ps.followers_rounded, ps.followers_hidden
FROM account a
LEFT JOIN creator c ON c.id = a.creator_id
LEFT JOIN LATERAL (
  SELECT p2.collected_at, p2.followers, p2.following, p2.posts_count,
         p2.followers_rounded, p2.followers_hidden
  FROM profile_snapshot p2 WHERE p2.account_id = a.id
  ORDER BY p2.collected_at DESC LIMIT 1) ps ON true
""",
    "post_latest": """
SELECT q.*,
       CAST(q.interactions AS DOUBLE PRECISION) / NULLIF(q.followers_at_publication, 0)
           AS engagement_rate_by_followers,
       CAST(q.interactions AS DOUBLE PRECISION) / NULLIF(q.views, 0) AS engagement_rate_by_views
FROM (
  SELECT p.id AS post_id, p.account_id, a.platform, a.handle, p.platform_post_id,
         p.published_at, p.kind, p.url, p.caption,
         s.collected_at, s.views, s.likes, s.comments, s.shares, s.quotes, s.saves,
         CASE WHEN s.likes IS NULL AND s.comments IS NULL AND s.shares IS NULL
                   AND s.saves IS NULL THEN NULL
              ELSE COALESCE(s.likes, 0) + COALESCE(s.comments, 0) + COALESCE(s.shares, 0)
                   + COALESCE(s.saves, 0) END AS interactions,
         COALESCE(
           (SELECT f.followers FROM profile_snapshot f
             WHERE f.account_id = p.account_id AND f.collected_at <= p.published_at
             ORDER BY f.collected_at DESC LIMIT 1),
           (SELECT f.followers FROM profile_snapshot f
             WHERE f.account_id = p.account_id AND f.collected_at > p.published_at
             ORDER BY f.collected_at LIMIT 1)) AS followers_at_publication
  FROM post p
  JOIN account a ON a.id = p.account_id
  LEFT JOIN LATERAL (
    SELECT s2.collected_at, s2.views, s2.likes, s2.comments, s2.shares, s2.quotes, s2.saves
    FROM post_snapshot s2 WHERE s2.post_id = p.id
    ORDER BY s2.collected_at DESC LIMIT 1) s ON true
) q
""",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, body in _LATERAL_VIEWS.items():
        op.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # The 0001 definitions, which both backends still share on SQLite.
    initial = importlib.import_module("collector.storage.migrations.versions.0001_initial_schema")
    for name in _LATERAL_VIEWS:
        op.execute(f"CREATE OR REPLACE VIEW {name} AS " + initial._VIEWS[name])
