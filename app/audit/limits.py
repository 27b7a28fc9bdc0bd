"""The bulk-lookup limit: how many distinct children one person may be shown in a rolling hour.

Counted from the audit itself (every disclosure is an audit row, indexed by child), so the count
is the same in every worker and survives restarts. It is checked where every disclosure is
recorded, the audit append, under the chain lock: two workers cannot both let the 61st child
through, and a new read endpoint is limited the moment it audits what it shows.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from app.audit.models import AuditEvent, AuditEventChild
from app.db import JSONArrayLength

# Execution option carrying the limit to the append (``Database.configured``); absent: no limit
# (the command line's bulk import, tests that build rows directly).
READ_LIMIT_OPTION = "shield_read_limit"
WINDOW = timedelta(hours=1)
# Not lookups: machine clients post records and are never shown a child; the briefing, the
# meeting's actions, the navigator's follow-up queue and the steward's review list show the
# children the service puts in front of a role for its daily work (a night's incidents can involve
# hundreds, and the chair records an action for each child the meeting discusses), not children
# the reader chose to look up. The limit is on looking children up, the pattern of misuse.
NOT_LOOKUPS = (
    "ingest",
    "read_briefing",
    "read_meeting_actions",
    "create_meeting_action",
    "update_meeting_action",
    "read_follow_ups",
    "review_identity",
)


def discloses(outcome: str, action: str, children: list[str], field_groups: list[str]) -> bool:
    """Does this audit row show a person data about children? (The SQL twin is ``_DISCLOSED``.)

    Rows that only name children (the privacy officer's lists, notifications, a break-glass grant
    before its read) disclose no field group and do not count.
    """
    return outcome == "ALLOW" and action not in NOT_LOOKUPS and bool(children) and bool(field_groups)


_DISCLOSED = (
    select(AuditEventChild.child_id, func.max(AuditEvent.occurred_at))
    .join(AuditEvent, AuditEvent.seq == AuditEventChild.audit_seq)
    .where(
        AuditEvent.actor_sub == bindparam("sub"),
        AuditEvent.occurred_at > bindparam("since"),
        AuditEvent.outcome == "ALLOW",
        AuditEvent.action.notin_(NOT_LOOKUPS),
        JSONArrayLength(AuditEvent.field_groups) > 0,
    )
    .group_by(AuditEventChild.child_id)
)


# Has this person been shown this one child in the window? Newest first on the person's index, so a
# child they are reading again (the usual case: a worker returns to a record) is found in the first
# rows instead of grouping every disclosure of their hour.
_SHOWN_ALREADY = (
    _DISCLOSED.with_only_columns(AuditEventChild.child_id)
    .group_by(None)
    .where(AuditEventChild.child_id == bindparam("child_id"))
    .order_by(AuditEvent.actor_sub.desc(), AuditEvent.occurred_at.desc())
    .limit(1)
)


class ReadLimitExceeded(Exception):
    """Showing these children would take the person past the limit. Raised inside the read's
    transaction, so the read rolls back and nothing is shown; the refusal is audited apart."""

    def __init__(self, entry: Any, children: list[str], limit: int, already: int, retry_after: int) -> None:
        super().__init__("read limit exceeded")
        self.entry, self.children, self.limit = entry, children, limit
        self.already, self.retry_after = already, retry_after


def seconds_until_allowed(latest_reads: list[datetime], wanted: int, limit: int, now: datetime) -> int:
    """How long until ``wanted`` more children fit: the oldest reads must leave the window first."""
    if wanted > limit:
        return int(WINDOW.total_seconds())  # more than the limit in one request: never; say an hour
    must_expire = len(latest_reads) + wanted - limit
    leaving = sorted(latest_reads)[must_expire - 1]
    return max(1, math.ceil((leaving + WINDOW - now).total_seconds()))


def check(conn: Connection, entry: Any, children: list[str], limit: int, now: datetime) -> None:
    """Refuse (raise ``ReadLimitExceeded``) if ``children`` would make ``entry``'s person exceed ``limit``
    distinct children shown in the last hour. Children already shown in the window are free."""
    if len(children) == 1:
        shown = {"sub": entry.actor.sub, "since": now - WINDOW, "child_id": uuid.UUID(children[0])}
        if conn.execute(_SHOWN_ALREADY, shown).first() is not None:
            return
    seen = {str(child): at for child, at in conn.execute(_DISCLOSED, {"sub": entry.actor.sub, "since": now - WINDOW})}
    new = [c for c in children if c not in seen]
    if not new or len(seen) + len(new) <= limit:
        return
    retry = seconds_until_allowed(list(seen.values()), len(new), limit, now)
    raise ReadLimitExceeded(entry, children, limit, len(seen), retry)
