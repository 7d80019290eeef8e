"""indexes for campaign statistics (issue 6)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 09:10:00.000000

- ``ix_calls_campaign_stats``: the narrow columns the statistics read for every call of
  a campaign (``status`` for the campaign's own tally), so that they come from the index
  and not from the table rows (a ``calls`` row carries the assistant snapshot: on SQLite
  reading a column after it walks its overflow pages, about 2.5 us a row; on PostgreSQL
  it makes the heap large). ``direction`` then ``to_phone_number``: a campaign's
  outbound numbers come in order (the repeated-number check groups without sorting).
- ``ix_call_attempts_activity``: an attempt's times next to its call id, so that the
  activity span of a campaign reads them from the index.
- ``ix_call_attempts_joined``: only the attempts a person joined (``handled_by_human``),
  few, found without reading a campaign's every attempt.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CAMPAIGN_STATS_COLUMNS = [
    "campaign_id",
    "direction",
    "to_phone_number",
    "status",
    "from_phone_number",
    "outcome",
    "result",
    "calls_count",
    "created_at",
    "updated_at",
    "id",
]


def upgrade() -> None:
    op.create_index("ix_calls_campaign_stats", "calls", CAMPAIGN_STATS_COLUMNS)
    op.create_index(
        "ix_call_attempts_activity",
        "call_attempts",
        ["call_id", "started_at", "answered_at", "ended_at"],
    )
    op.create_index(
        "ix_call_attempts_joined",
        "call_attempts",
        ["call_id"],
        postgresql_where=sa.text("handled_by_human = true"),
        sqlite_where=sa.text("handled_by_human = 1"),
    )


def downgrade() -> None:
    op.drop_index("ix_call_attempts_joined", table_name="call_attempts")
    op.drop_index("ix_call_attempts_activity", table_name="call_attempts")
    op.drop_index("ix_calls_campaign_stats", table_name="calls")
