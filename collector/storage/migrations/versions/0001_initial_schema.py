"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Creates the public schema and the views downstream readers query. Types are spelled out
here (not imported from the models) so that this migration never changes after it ships.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("brand", sa.String(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("markers", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "collection_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("accounts", sa.Integer(), nullable=False),
        sa.Column("succeeded", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("quota_units", sa.Integer(), nullable=False),
        sa.Column("profile_rows", sa.Integer(), nullable=False),
        sa.Column("post_rows", sa.Integer(), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("owner", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("collection_run", schema=None) as batch_op:
        batch_op.create_index(
            "ix_collection_run_platform_started", ["platform", "started_at"], unique=False
        )

    op.create_table(
        "creator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("handle", sa.String(), nullable=False),
        sa.Column("platform_id", sa.String(), nullable=True),
        sa.Column("display_name", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("status_detail", sa.String(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("posts_cursor", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["creator_id"], ["creator.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "handle", name="uq_account_platform_handle"),
    )
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_creator_id"), ["creator_id"], unique=False)
        batch_op.create_index("ix_account_due", ["platform", "status", "next_due_at"], unique=False)

    op.create_table(
        "campaign_creator",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("currency", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["creator_id"], ["creator.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "creator_id"),
    )
    op.create_table(
        "conversion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=True),
        sa.Column("revenue", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("currency", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "occurred_on", "code", name="uq_conversion_day_code"),
    )
    op.create_table(
        "payload_error",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("raw_body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["collection_run.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("platform_post_id", sa.String(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(), nullable=True),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("caption", sa.String(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "platform_post_id", name="uq_post_account_platform_id"),
    )
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.create_index(
            "ix_post_account_published", ["account_id", "published_at"], unique=False
        )

    op.create_table(
        "profile_snapshot",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("followers", sa.BigInteger(), nullable=True),
        sa.Column("following", sa.BigInteger(), nullable=True),
        sa.Column("posts_count", sa.BigInteger(), nullable=True),
        sa.Column("followers_rounded", sa.Boolean(), nullable=False),
        sa.Column("followers_hidden", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "collected_at"),
        # Clustered on the key: half the bytes, and one account's series is one contiguous range.
        sqlite_with_rowid=False,
    )
    op.create_table(
        "flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("dedupe_key", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("flag", schema=None) as batch_op:
        batch_op.create_index("ix_flag_account_status", ["account_id", "status"], unique=False)

    op.create_table(
        "post_snapshot",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=True),
        sa.Column("likes", sa.BigInteger(), nullable=True),
        sa.Column("comments", sa.BigInteger(), nullable=True),
        sa.Column("shares", sa.BigInteger(), nullable=True),
        sa.Column("quotes", sa.BigInteger(), nullable=True),
        sa.Column("saves", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("post_id", "collected_at"),
        sqlite_with_rowid=False,
    )

    create_views_0001()


def downgrade() -> None:
    drop_views_0001()
    op.drop_table("post_snapshot")
    with op.batch_alter_table("flag", schema=None) as batch_op:
        batch_op.drop_index("ix_flag_account_status")

    op.drop_table("flag")
    op.drop_table("profile_snapshot")
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_index("ix_post_account_published")

    op.drop_table("post")
    op.drop_table("payload_error")
    op.drop_table("conversion")
    op.drop_table("campaign_creator")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_index("ix_account_due")
        batch_op.drop_index(batch_op.f("ix_account_creator_id"))

    op.drop_table("account")
    op.drop_table("creator")
    with op.batch_alter_table("collection_run", schema=None) as batch_op:
        batch_op.drop_index("ix_collection_run_platform_started")

    op.drop_table("collection_run")
    op.drop_table("campaign")


def _day(column: str) -> str:
    """The UTC calendar day of a timestamp, in each backend's own spelling."""
    if op.get_bind().dialect.name == "postgresql":
        return f"(({column}) AT TIME ZONE 'UTC')::date"
    return f"date({column})"


# Interactions are likes + comments + shares + saves, each where the platform publishes it;
# NULL (unknown) only when none of them is published. Engagement rate by followers divides a
# post's interactions by the followers at publication: the last profile snapshot at or before
# the post, or the first one after it for posts older than the account's first snapshot.
_VIEWS = {
    "account_latest": """
SELECT a.id AS account_id, a.platform, a.handle, a.platform_id, a.display_name,
       a.status, a.creator_id, c.name AS creator_name,
       a.added_at, a.last_success_at, a.next_due_at,
       ps.collected_at, ps.followers, ps.following, ps.posts_count,
       ps.followers_rounded, ps.followers_hidden
FROM account a
LEFT JOIN creator c ON c.id = a.creator_id
LEFT JOIN profile_snapshot ps ON ps.account_id = a.id
 AND ps.collected_at = (SELECT max(p2.collected_at) FROM profile_snapshot p2
                        WHERE p2.account_id = a.id)
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
  LEFT JOIN post_snapshot s ON s.post_id = p.id
   AND s.collected_at = (SELECT max(s2.collected_at) FROM post_snapshot s2
                         WHERE s2.post_id = p.id)
) q
""",
    "account_daily_engagement": """
SELECT account_id, platform, handle, {day} AS day,
       count(*) AS posts,
       sum(views) AS views, sum(likes) AS likes, sum(comments) AS comments,
       sum(shares) AS shares, sum(saves) AS saves, sum(interactions) AS interactions,
       avg(engagement_rate_by_followers) AS engagement_rate_by_followers,
       CAST(sum(interactions) AS DOUBLE PRECISION) / NULLIF(sum(views), 0)
           AS engagement_rate_by_views
FROM post_latest
GROUP BY account_id, platform, handle, {day}
""",
}


def create_views_0001() -> None:
    for name, body in _VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS " + body.format(day=_day("published_at")))


def drop_views_0001() -> None:
    for name in reversed(list(_VIEWS)):
        op.execute(f"DROP VIEW IF EXISTS {name}")
