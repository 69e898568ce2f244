"""detection: flag.notified_at and the detection_state watermark table

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Expand-only: a nullable column on ``flag`` (when the webhook announced the flag) and a new table
holding, per account, the newest data the detectors have scored, so that the daemon re-scores
only what changed. Readers of 0002 are unaffected.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("flag", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "detection_state",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("profiles_through", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posts_through", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id"),
    )


def downgrade() -> None:
    op.drop_table("detection_state")
    with op.batch_alter_table("flag", schema=None) as batch_op:
        batch_op.drop_column("notified_at")
