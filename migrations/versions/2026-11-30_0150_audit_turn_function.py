"""The audit chain's turn and head in one round trip (PostgreSQL).

Every audited write waits its turn on the chain (a transaction-scoped advisory lock) and then reads
the chain's head, and holds the turn until it commits: each round trip made while holding it holds
up every other writer. ``shield_audit_turn(lock_key)`` does both in one call. It is VOLATILE, so its
query takes a fresh snapshot after the lock is granted and sees the head the previous holder
committed. SQLite needs nothing: its writers already take turns on the database's write lock.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 01:50:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# ``lock_key``: app.audit.chain's lock, the one every turn-taker takes.
_FUNCTION = """
CREATE FUNCTION shield_audit_turn(lock_key bigint) RETURNS TABLE (seq bigint, entry_hash text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    RETURN QUERY SELECT a.seq, a.entry_hash::text FROM audit_event AS a ORDER BY a.seq DESC LIMIT 1;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION shield_audit_turn(bigint)')
