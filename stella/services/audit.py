"""Audit trail: who did what to which object."""

from __future__ import annotations

import uuid
from typing import Any

from stella.extensions import db
from stella.models import AuditLog


def record_event(
    action: str,
    *,
    subject_type: str,
    subject_id: uuid.UUID | str | None = None,
    actor_id: uuid.UUID | None = None,
    **details: Any,
) -> AuditLog:
    """Add an audit row (flushed with the caller's transaction). Details hold ids and reasons, never secrets."""
    entry = AuditLog(
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        details=details,
    )
    db.session.add(entry)
    return entry
