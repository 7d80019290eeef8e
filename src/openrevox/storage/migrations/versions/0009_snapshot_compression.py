"""calls.assistant_snapshot compressed with lz4 on PostgreSQL (issue 6)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 13:40:00.000000

Every call row carries its assistant snapshot (about 2 KB of JSON), which PostgreSQL
compresses before storing; with its default method (pglz) writing the calls of a
100,000-contact campaign spent a third of its time compressing them. lz4 compresses
several times faster. Only where the server was built with lz4 (PostgreSQL 14+); values
already stored keep their method until rewritten. SQLite: nothing to do.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    methods = bind.execute(
        sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar()
    return "lz4" in (methods or ())


def upgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE calls ALTER COLUMN assistant_snapshot SET COMPRESSION lz4")


def downgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE calls ALTER COLUMN assistant_snapshot SET COMPRESSION default")
