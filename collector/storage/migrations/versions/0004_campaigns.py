"""campaigns: campaign_post (attributed and hand-assigned posts), campaign.removed_at

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Expand-only: a new table and a nullable column; readers of earlier revisions are unaffected.
``campaign_post`` holds one row per (campaign, post): ``source`` is ``auto`` (the caption carries
a campaign marker; ``matched`` lists which) or ``manual`` (set with ``collector campaigns
assign|unassign``); a post belongs to the campaign when ``included`` is true. ``removed_at`` marks
a campaign that left the watchlist, whose posts and conversions are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "campaign_post",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("included", sa.Boolean(), nullable=False),
        sa.Column("matched", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "post_id"),
    )
    op.create_index("ix_campaign_post_post", "campaign_post", ["post_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_campaign_post_post", table_name="campaign_post")
    op.drop_table("campaign_post")
    # Not in batch mode: rebuilding ``campaign`` with foreign keys on would cascade-delete its
    # creators' costs and conversions. SQLite has dropped plain columns in place since 3.35.
    op.drop_column("campaign", "removed_at")
