"""Writing posts: create, edit, schedule, delete — the one service the composer, the API and the CLI call.

A post is saved as a draft whatever its platform problems (work in progress is never lost); scheduling asks that
every chosen platform would accept it. `platforms` (the seed's array) and the target rows are kept in step here.
Services flush; the caller commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from stella.extensions import db
from stella.models import MediaAsset, SocialConnection, SocialPost, SocialPostMedia, SocialPostTarget, User
from stella.permissions import Ability, can
from stella.platforms import PLATFORMS
from stella.services.audit import record_event
from stella.services.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from stella.services.media import media_url
from stella.services.post_checks import MediaChoice, PlatformCheck, PostContent, check_post
from stella.services.schedule_time import require_future

Action = Literal["draft", "schedule", "publish_now"]
ACTIONS: tuple[str, ...] = ("draft", "schedule", "publish_now")
# Statuses whose content may still change. A queued post is being sent; a published one is history.
EDITABLE_STATUSES = frozenset({"draft", "scheduled", "failed"})
MAX_CONTENT_CHARS = 100_000
MAX_THREAD_PARTS = 25
MAX_MEDIA_ITEMS = 20
MAX_CAMPAIGN_CHARS = 120
MAX_NOTES_CHARS = 5_000
MAX_ALT_TEXT_CHARS = 1_500


@dataclass(frozen=True)
class MediaRef:
    media_id: uuid.UUID
    alt_text: str = ""


@dataclass(frozen=True)
class PostDraft:
    """What the composer form or the API body asks for, already parsed into Python values.

    `scheduled_at` is an aware UTC instant (the caller turned a local time into it with `schedule_time`).
    `expected_version` is the version the editor started from; None only when creating.
    """

    content: str
    platforms: Sequence[str]
    action: Action = "draft"
    scheduled_at: datetime | None = None
    timezone: str = "UTC"
    thread_parts: Sequence[str] = ()
    variants: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    media: Sequence[MediaRef] = ()
    campaign: str | None = None
    notes: str | None = None
    owner_id: uuid.UUID | None = None
    approval_required: bool = False
    expected_version: int | None = None


@dataclass(frozen=True)
class SavedPost:
    post: SocialPost
    checks: dict[str, PlatformCheck]
    message: str


class PostProblemsError(ValidationError):
    """Scheduling refused: at least one platform would not accept the post as it is. `checks` says why."""

    def __init__(self, message: str, checks: dict[str, PlatformCheck]) -> None:
        super().__init__(message, field="platforms")
        self.checks = checks


class StaleEditError(ConflictError):
    """Someone saved the post since this editor opened it; `current` is what is saved now."""

    def __init__(self, current: SocialPost) -> None:
        super().__init__(
            "Someone else saved this post while you were editing it, so your changes were not saved. "
            "Compare the two versions below, then save again.",
            field="version",
        )
        self.current = current


# -- reading ----------------------------------------------------------------------------------------------


def get_post(post_id: uuid.UUID | str) -> SocialPost:
    try:
        key = post_id if isinstance(post_id, uuid.UUID) else uuid.UUID(str(post_id))
    except ValueError:
        raise NotFoundError("That post does not exist.") from None
    post = db.session.get(SocialPost, key)
    if post is None:
        raise NotFoundError("That post does not exist.")
    return post


def owner_connections(owner_id: uuid.UUID | None) -> dict[str, SocialConnection]:
    if owner_id is None:
        return {}
    rows = db.session.scalars(sa.select(SocialConnection).where(SocialConnection.user_id == owner_id))
    return {connection.provider: connection for connection in rows}


def content_of(post: SocialPost) -> PostContent:
    """The saved post as `check_post` takes it (what the publisher and the approval hash look at)."""
    return PostContent(
        content=post.content,
        platforms=tuple(post.platforms),
        thread_parts=tuple(post.thread_parts or ()),
        variants={t.platform: t.content for t in post.targets if t.content},
        options={t.platform: dict(t.options or {}) for t in post.targets},
        media=tuple(
            MediaChoice(asset=db.session.get_one(MediaAsset, item.media_id), alt_text=item.alt_text)
            for item in post.media
        ),
    )


def preview_checks(draft: PostDraft, *, actor: User) -> dict[str, PlatformCheck]:
    """The live checks for a draft that is not saved (composer keystrokes, `POST /api/v1/validate`)."""
    owner = _owner(draft, actor)
    platforms = _platforms(draft.platforms)
    return check_post(_content(draft, platforms), owner_connections(owner.id))


# -- writing ----------------------------------------------------------------------------------------------


def create_post(draft: PostDraft, *, actor: User, now: datetime) -> SavedPost:
    """Create a post from `draft` (a draft, a scheduled post, or one due at once)."""
    _require(actor, Ability.CREATE_POSTS)
    # Added to the session by `_apply` once filled in: its checks query the database, and an autoflush of a
    # half-built post would break the NOT NULL columns.
    post = SocialPost(created_by=actor.id, status="draft")
    saved = _apply(post, draft, actor=actor, now=now, creating=True)
    record_event("post.created", subject_type="social_post", subject_id=post.id, actor_id=actor.id,
                 intent=draft.action, platforms=list(post.platforms))
    return saved


def update_post(post: SocialPost, draft: PostDraft, *, actor: User, now: datetime) -> SavedPost:
    """Save an edit. Refused when the post changed since the editor loaded it (`expected_version`)."""
    _require(actor, Ability.CREATE_POSTS)
    if post.status not in EDITABLE_STATUSES:
        raise ConflictError(_not_editable(post), field="status")
    if draft.expected_version is None or draft.expected_version != post.version:
        raise StaleEditError(post)
    before = _fingerprint(post)
    saved = _apply(post, draft, actor=actor, now=now, creating=False)
    changed = sorted(k for k, v in _fingerprint(post).items() if before.get(k) != v)
    record_event("post.updated", subject_type="social_post", subject_id=post.id, actor_id=actor.id,
                 intent=draft.action, changed=changed)
    return saved


def delete_post(post: SocialPost, *, actor: User) -> str:
    """Delete `post` from Stella. A published post stays on the platforms; a queued one cannot be deleted."""
    _require(actor, Ability.CREATE_POSTS)
    if post.status == "queued":
        raise ConflictError("This post is being published right now, so it cannot be deleted. Try again in a "
                            "minute.", field="status")
    message = ("The post was removed from Stella. It is still live on the platforms it was published to: delete it "
               "there if it should go." if post.status == "published" else "The post was deleted.")
    record_event("post.deleted", subject_type="social_post", subject_id=post.id, actor_id=actor.id,
                 status=post.status, platforms=list(post.platforms))
    db.session.delete(post)
    db.session.flush()
    return message


# -- the one place a draft becomes a post -----------------------------------------------------------------


def _apply(post: SocialPost, draft: PostDraft, *, actor: User, now: datetime, creating: bool) -> SavedPost:
    if draft.action not in ACTIONS:
        raise ValidationError("Choose whether to save a draft, schedule or publish now.", field="action")
    owner = _owner(draft, actor)
    platforms = _platforms(draft.platforms)
    content = _content(draft, platforms)
    connections = owner_connections(owner.id)
    checks = check_post(content, connections)
    when = _when(draft, post, now=now)

    if draft.action != "draft":
        _require(actor, Ability.SCHEDULE_POSTS)
        broken = {name: check for name, check in checks.items() if not check.ok}
        if broken:
            names = ", ".join(check.display_name for check in broken.values())
            raise PostProblemsError(
                f"Not scheduled: {names} would not accept this post as it is. Fix what is listed, or save a draft.",
                checks,
            )
    elif post.status == "scheduled" and not creating:
        raise ValidationError(
            "A scheduled post cannot go back to being a draft. Change its time, or delete it.", field="action"
        )

    post.content = content.content
    post.platforms = list(platforms)
    db.session.add(post)
    post.thread_parts = list(content.thread_parts) or None
    post.campaign = _short(draft.campaign, MAX_CAMPAIGN_CHARS, "campaign")
    post.notes = _short(draft.notes, MAX_NOTES_CHARS, "notes")
    post.owner_id = owner.id
    post.approval_required = bool(draft.approval_required)
    post.timezone = draft.timezone or "UTC"
    post.scheduled_at = when
    # Always touched, so the version moves even when only targets or media changed.
    post.updated_at = now
    _sync_targets(post, content, connections)
    _sync_media(post, draft.media)
    # The seed's `media_urls` stays a true list of what the post carries, for programs that read only the seed.
    post.media_urls = [media_url(choice.asset) for choice in content.media] or None
    if draft.action != "draft" and post.status != "scheduled":
        post.move_to("scheduled")
        post.failure_reason = None
    db.session.flush()
    return SavedPost(post=post, checks=checks, message=_saved_message(post, draft.action))


def _sync_targets(post: SocialPost, content: PostContent, connections: Mapping[str, SocialConnection]) -> None:
    existing = {target.platform: target for target in post.targets}
    for name in content.platforms:
        target = existing.pop(name, None)
        if target is None:
            target = SocialPostTarget(platform=name)
            post.targets.append(target)
        connection = connections.get(name)
        target.connection_id = connection.id if connection else None
        variant = content.variants.get(name)
        target.content = variant if variant and variant.strip() else None
        target.options = dict(content.options.get(name, {}))
    for target in existing.values():
        post.targets.remove(target)


def _sync_media(post: SocialPost, refs: Sequence[MediaRef]) -> None:
    post.media.clear()
    db.session.flush()  # the positions are unique per post: old rows go before new ones arrive
    for position, ref in enumerate(refs, start=1):
        post.media.append(SocialPostMedia(media_id=ref.media_id, position=position, alt_text=ref.alt_text))


# -- parsing and checking the draft ---------------------------------------------------------------------


def _content(draft: PostDraft, platforms: tuple[str, ...]) -> PostContent:
    # Browsers send textarea line breaks as CRLF; platforms count (and show) a line break as one character.
    text = _newlines(draft.content or "")
    if len(text) > MAX_CONTENT_CHARS:
        raise ValidationError(f"The text is longer than Stella keeps ({MAX_CONTENT_CHARS:,} characters).",
                              field="content")
    parts = tuple(_newlines(part or "") for part in draft.thread_parts)
    if len(parts) + 1 > MAX_THREAD_PARTS:
        raise ValidationError(f"A thread can have at most {MAX_THREAD_PARTS} parts.", field="thread")
    if any(not part.strip() for part in parts):
        raise ValidationError("A thread part is empty: write it or remove it.", field="thread")
    unknown = sorted(set(draft.variants) - set(platforms))
    if unknown:
        raise ValidationError(f"There is a variant for {', '.join(unknown)}, which is not chosen for this post.",
                              field="variants")
    unknown = sorted(set(draft.options) - set(platforms))
    if unknown:
        raise ValidationError(f"There are options for {', '.join(unknown)}, which is not chosen for this post.",
                              field="options")
    if len(draft.media) > MAX_MEDIA_ITEMS:
        raise ValidationError(f"A post can hold at most {MAX_MEDIA_ITEMS} media items.", field="media")
    choices = []
    for ref in draft.media:
        asset = db.session.get(MediaAsset, ref.media_id)
        if asset is None:
            raise ValidationError("One of the media items no longer exists. Remove it and add it again.",
                                  field="media")
        if len(ref.alt_text or "") > MAX_ALT_TEXT_CHARS:
            raise ValidationError(f"Alt text can be at most {MAX_ALT_TEXT_CHARS:,} characters.", field="media")
        choices.append(MediaChoice(asset=asset, alt_text=(ref.alt_text or "").strip()))
    return PostContent(
        content=text,
        platforms=platforms,
        thread_parts=parts,
        variants={k: _newlines(v) for k, v in draft.variants.items() if v is not None},
        options={k: dict(v) for k, v in draft.options.items()},
        media=tuple(choices),
    )


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _platforms(requested: Sequence[str]) -> tuple[str, ...]:
    chosen = [str(name).strip().lower() for name in requested if str(name).strip()]
    if not chosen:
        raise ValidationError("Choose at least one platform.", field="platforms")
    unknown = [name for name in chosen if name not in PLATFORMS]
    if unknown:
        raise ValidationError(f"Stella does not publish to “{unknown[0][:40]}”.", field="platforms")
    # Keep the order people know the platforms in, whatever order they were ticked in.
    return tuple(name for name in PLATFORMS if name in chosen)


def _owner(draft: PostDraft, actor: User) -> User:
    if draft.owner_id is None or draft.owner_id == actor.id:
        return actor
    owner = db.session.get(User, draft.owner_id)
    if owner is None or not owner.is_active:
        raise ValidationError("Choose an active teammate as the owner.", field="owner_id")
    if not can(owner, Ability.CREATE_POSTS):
        raise ValidationError(f"{owner.display_name or owner.email} cannot own posts (their role is {owner.role}).",
                              field="owner_id")
    return owner


def _when(draft: PostDraft, post: SocialPost, *, now: datetime) -> datetime | None:
    if draft.action == "publish_now":
        return now
    if draft.action == "schedule":
        if draft.scheduled_at is None:
            raise ValidationError("Choose the date and time to publish.", field="scheduled_at")
        require_future(draft.scheduled_at, now)
        return draft.scheduled_at
    # A draft may keep a planned time; a past one is kept as planned but not enforced until it is scheduled.
    return draft.scheduled_at


def _short(value: str | None, limit: int, field_name: str) -> str | None:
    cleaned = (value or "").strip()
    if len(cleaned) > limit:
        raise ValidationError(f"Keep the {field_name} under {limit:,} characters.", field=field_name)
    return cleaned or None


def _require(actor: User, ability: Ability) -> None:
    if not can(actor, ability):
        raise PermissionDeniedError("Your role cannot do that.")


def _not_editable(post: SocialPost) -> str:
    if post.status == "queued":
        return "This post is being published right now, so it cannot be changed."
    return "This post was published, so it cannot be changed. Duplicate it to post something similar."


def _saved_message(post: SocialPost, action: str) -> str:
    if action == "publish_now":
        return "The post is due now and will go out in a moment."
    if action == "schedule":
        return "The post is scheduled."
    return "The draft is saved."


def _fingerprint(post: SocialPost) -> dict[str, Any]:
    return {
        "content": post.content,
        "platforms": list(post.platforms),
        "thread_parts": list(post.thread_parts or ()),
        "scheduled_at": post.scheduled_at.isoformat() if post.scheduled_at else None,
        "campaign": post.campaign,
        "notes": post.notes,
        "owner_id": str(post.owner_id) if post.owner_id else None,
        "targets": sorted((t.platform, t.content or "", repr(sorted((t.options or {}).items()))) for t in post.targets),
        "media": [(str(m.media_id), m.alt_text) for m in post.media],
        "approval_required": post.approval_required,
    }
