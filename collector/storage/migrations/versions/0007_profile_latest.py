"""profile_latest: each account's newest profile snapshot; account_latest reads it

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22

``account_latest`` sought each account's newest snapshot in ``profile_snapshot``: one
primary-key seek per account, over index and heap pages spread across a table of millions of
rows, for every read of the latest state. ``profile_latest`` holds that newest row, one per
account, written by Collector in the same transaction as the snapshots (only when the incoming
``collected_at`` is not older), and the view now joins it: a scan of one small table.

Expand-only: a new table, filled here from the snapshots already stored, and ``account_latest``
redefined with the same columns, names, types and rows (``CREATE OR REPLACE VIEW`` on
PostgreSQL, so views built on it stay; SQLite has no dependency tracking to keep). Downgrade
restores the 0006 definitions (LATERAL on PostgreSQL, 0001's on SQLite) and drops the table.
Types and SQL are spelled out here so that this migration never changes after it ships.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    "account_id, collected_at, followers, following, posts_count, "
    "followers_rounded, followers_hidden"
)
_PS_COLUMNS = (
    "ps.account_id, ps.collected_at, ps.followers, ps.following, ps.posts_count, "
    "ps.followers_rounded, ps.followers_hidden"
)

# Each account's newest snapshot with one backward primary-key seek per account: PostgreSQL
# through LATERAL (its planner hashes the whole table for the max() form), SQLite through max().
_BACKFILL = {
    "postgresql": f"""
INSERT INTO profile_latest ({_COLUMNS})
SELECT {_PS_COLUMNS} FROM account a
CROSS JOIN LATERAL (
  SELECT * FROM profile_snapshot p WHERE p.account_id = a.id
  ORDER BY p.collected_at DESC LIMIT 1) ps
""",
    "sqlite": f"""
INSERT INTO profile_latest ({_COLUMNS})
SELECT {_PS_COLUMNS} FROM account a
JOIN profile_snapshot ps ON ps.account_id = a.id
 AND ps.collected_at = (SELECT max(p.collected_at) FROM profile_snapshot p
                        WHERE p.account_id = a.id)
""",
}

# The column list of 0001's account_latest, in its order; only the source of the snapshot
# columns changes.
_ACCOUNT_LATEST = """
SELECT a.id AS account_id, a.platform, a.handle, a.platform_id, a.display_name,
       a.status, a.creator_id, c.name AS creator_name,
       a.added_at, a.last_success_at, a.next_due_at,
       pl.collected_at, pl.followers, pl.following, pl.posts_count,
       pl.followers_rounded, pl.followers_hidden
FROM account a
LEFT JOIN creator c ON c.id = a.creator_id
LEFT JOIN profile_latest pl ON pl.account_id = a.id
"""


def _replace_account_latest(body: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE OR REPLACE VIEW account_latest AS {body}")
    else:
        op.execute("DROP VIEW IF EXISTS account_latest")
        op.execute(f"CREATE VIEW account_latest AS {body}")


def upgrade() -> None:
    op.create_table(
        "profile_latest",
        sa.Column("account_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("followers", sa.BigInteger(), nullable=True),
        sa.Column("following", sa.BigInteger(), nullable=True),
        sa.Column("posts_count", sa.BigInteger(), nullable=True),
        sa.Column("followers_rounded", sa.Boolean(), nullable=False),
        sa.Column("followers_hidden", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id"),
    )
    dialect = op.get_bind().dialect.name
    op.execute(_BACKFILL[dialect])
    if dialect == "postgresql":
        # Statistics now, not at autovacuum's leisure: the first reads plan with real sizes.
        op.execute("ANALYZE profile_latest")
    _replace_account_latest(_ACCOUNT_LATEST)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        previous = importlib.import_module("collector.storage.migrations.versions.0006_performance")
        body = previous._LATERAL_VIEWS["account_latest"]
    else:
        initial = importlib.import_module(
            "collector.storage.migrations.versions.0001_initial_schema"
        )
        body = initial._VIEWS["account_latest"]
    _replace_account_latest(body)
    op.drop_table("profile_latest")
