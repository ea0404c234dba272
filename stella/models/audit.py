from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from stella.extensions import Model
from stella.models.types import JsonDocument, UTCDateTime, new_uuid, utc_now


class AuditLog(Model):
    """Who did what to which object. Details hold ids and reasons, never tokens or content."""

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_created_at", "created_at"),
        sa.Index("ix_audit_log_subject", "subject_type", "subject_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=new_uuid())
    actor_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.Text)
    subject_type: Mapped[str] = mapped_column(sa.Text)
    subject_id: Mapped[str | None] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any]] = mapped_column(JsonDocument, server_default=sa.text("'{}'"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=utc_now())
