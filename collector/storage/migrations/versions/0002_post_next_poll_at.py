"""post.next_poll_at: when a known post's counts are next due for a re-poll

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Expand-only: a nullable column and an index; readers of 0001 are unaffected.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_post_account_next_poll", ["account_id", "next_poll_at"])


def downgrade() -> None:
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_index("ix_post_account_next_poll")
        batch_op.drop_column("next_poll_at")
