"""`/api/v1/posts` and `/api/v1/validate`: the composer's service and permissions, as JSON.

Decisions a client needs to know (also in each operation's description):

- **Times.** `scheduled_at` is an instant with its UTC offset (a time without one is refused), or `local_time` is a
  wall-clock time in `timezone` (your profile's zone when left out): a time skipped by a spring-forward change is
  refused, one that happens twice needs `fold` (0 the first, 1 the second). Responses give `scheduled_at` in UTC
  and `local_time` in the post's `timezone`.
- **Idempotent create.** With an `Idempotency-Key` header the key is claimed (unique per user) in the same
  transaction as the post: a retry with the same key and body answers 200 with that post (and
  `Idempotent-Replayed: true`); the same key with another body is a 422. Two identical requests at once: the
  unique constraint decides, the other waits for it and answers with the winner's post. A create that fails
  does not use up its key.
- **Optimistic locking.** Every post response carries `ETag: "<version>"`; `PATCH` needs `If-Match` with it (428
  without; 412 with the current post when someone saved since).
- **Delete.** 204; a published post is removed from Stella only, so that answer is a 200 whose body says it is
  still live on the platforms; a post being published (`queued`) cannot be deleted (409).
- **Listing.** Newest first by the post's time (when it went out if published, else when it is due, else when it
  was created), then by id; `next` is an opaque cursor for the following page (keyset, so pages never repeat or
  skip a post while others are added).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import inspect
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, TypeVar

import sqlalchemy as sa
from flask import Response
from pydantic import AfterValidator, Field, field_validator
from pydantic.json_schema import JsonDict, SkipJsonSchema
from pydantic_core import PydanticCustomError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from stella.api.errors import API_PREFIX, ApiError
from stella.api.routing import api_route, json_response
from stella.api.schemas import ApiHeaders, ApiQuery, ApiRequest, ApiResponse, ErrorBody, ErrorItem
from stella.extensions import db
from stella.models import ApiIdempotencyKey, MediaAsset, SocialPost, User
from stella.models.media import MEDIA_KINDS
from stella.models.post import APPROVAL_STATUSES, POST_STATUSES
from stella.models.types import UTCDateTime, now_utc
from stella.permissions import Ability
from stella.platforms import PLATFORMS
from stella.services import compose as compose_service
from stella.services.compose import (
    MAX_ALT_TEXT_CHARS,
    MAX_CAMPAIGN_CHARS,
    MAX_CONTENT_CHARS,
    MAX_MEDIA_ITEMS,
    MAX_NOTES_CHARS,
    MAX_THREAD_PARTS,
    MediaRef,
    PostDraft,
    PostProblemsError,
    StaleEditError,
)
from stella.services.errors import DomainError, ValidationError
from stella.services.media import media_url, store_from_url
from stella.services.post_checks import PlatformCheck
from stella.services.posts import MAX_SEARCH_CHARS, PostFilters
from stella.services.schedule_time import AmbiguousTimeError, local_to_utc, require_future, zone_named
from stella.timezones import viewer_zone

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_URL_CHARS = 2048
MAX_IDEMPOTENCY_KEY_CHARS = 255
LOCAL_TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$"
LOCAL_TIME_FORMAT = "%Y-%m-%dT%H:%M"
REPLAYED_HEADER = "Idempotent-Replayed"
FIRST_YEAR, LAST_YEAR = 1970, 2999
OUT_OF_RANGE_MESSAGE = f"Choose a time between the years {FIRST_YEAR} and {LAST_YEAR}."

NAIVE_TIME_MESSAGE = (
    "Give the time with its UTC offset, e.g. 2026-11-24T10:00:00-05:00 (or Z for UTC); a time without one could "
    "mean any zone. To give a wall-clock time, send local_time and timezone instead."
)

_PLATFORM: JsonDict = {"enum": list(PLATFORMS)}


# -- request bodies ----------------------------------------------------------------------------------------------


class MediaChoice(ApiRequest):
    media_id: uuid.UUID = Field(description="A media file already uploaded to Stella.")
    alt_text: str = Field(default="", max_length=MAX_ALT_TEXT_CHARS,
                          description="What the photo or video shows, for people using screen readers.")


def _offset_required(value: datetime) -> datetime:
    """A time with its UTC offset, in a sensible range; a time without an offset is refused, saying why."""
    if value.utcoffset() is None:
        raise PydanticCustomError("naive_datetime", NAIVE_TIME_MESSAGE)
    if not _in_range(value):
        raise PydanticCustomError("datetime_range", OUT_OF_RANGE_MESSAGE)
    return value


def _in_range(moment: datetime) -> bool:
    # Far-off years are typing mistakes, and near year 1 or 9999 converting between zones would overflow.
    try:
        return FIRST_YEAR <= moment.astimezone(UTC).year <= LAST_YEAR
    except OverflowError:
        return False


OffsetDatetime = Annotated[datetime, AfterValidator(_offset_required)]


# Field declarations shared by the create and update bodies (descriptions written once).
_DESCRIPTIONS: dict[str, str] = {
    "content": "The post's text; for a thread, its first part (the rest go in `thread`). Stored exactly as sent "
               "(HTML is text, never markup), line breaks as `\\n`.",
    "platforms": "Where the post goes, e.g. `[\"x\", \"linkedin\"]`. Each must be connected for the post's owner "
                 "before it can be scheduled.",
    "action": "`draft` saves it whatever the platforms would say; `schedule` needs a time and every platform's "
              "checks to pass; `publish_now` schedules it for right away.",
    "scheduled_at": "When to publish, ISO 8601 with a UTC offset (`2026-11-24T10:00:00-05:00`). A time without "
                    "an offset is refused. Send this or `local_time`, not both.",
    "local_time": "When to publish as a wall-clock time `YYYY-MM-DDTHH:MM` in `timezone`.",
    "timezone": "IANA zone (`America/New_York`) for `local_time`, and the zone the post is shown in. Default: "
                "your profile's zone (on update: the post's).",
    "fold": "Only for a `local_time` that happens twice when the clocks go back: 0 the first, 1 the second.",
    "thread": "The parts after the first, in order, for platforms that take threads; `content` is the first part.",
    "variants": "A different text for some platforms: `{\"x\": \"Shorter text\"}`. Others get `content`.",
    "options": "Each platform's own choices (format, title, board, ...): `{\"youtube\": {\"title\": \"…\"}}`.",
    "media": "Media already uploaded to Stella, in order.",
    "media_urls": "Photos or videos to fetch from these addresses (http or https, public servers only) and attach "
                  "after `media`, in order. Each is fetched once.",
    "campaign": "A campaign name to group posts by.",
    "notes": "Notes for the team; never published.",
    "owner_id": "Whose connected accounts publish the post: you (the default) or an active teammate who may "
                "create posts.",
    "approval_required": "Whether an approver must approve the post before it goes out.",
}


def _field(name: str, **kwargs: Any) -> Any:
    return Field(description=_DESCRIPTIONS[name], **kwargs)


def _unset(name: str, **kwargs: Any) -> Any:
    """An update field that may be left out but not sent as null (so its schema has no null default)."""
    return Field(default=None, description=_DESCRIPTIONS[name], json_schema_extra=_optional(), **kwargs)


def _optional(**extra: Any) -> Callable[[JsonDict], None]:
    """The schema of a field or query parameter that may be left out but is never null: no `null` default."""

    def update(schema: JsonDict) -> None:
        schema.pop("default", None)
        schema.update(extra)

    return update


Action = Literal["draft", "schedule", "publish_now"]
# Constraints live in the types, so they stay on the value (not on `null`) when a field also allows None.
Content = Annotated[str, Field(max_length=MAX_CONTENT_CHARS)]
LocalTime = Annotated[str, Field(pattern=LOCAL_TIME_PATTERN, examples=["2026-11-24T10:00"])]
ZoneName = Annotated[str, Field(min_length=1, max_length=64, examples=["America/New_York"])]
Fold = Annotated[int, Field(ge=0, le=1)]
Campaign = Annotated[str, Field(max_length=MAX_CAMPAIGN_CHARS)]
Notes = Annotated[str, Field(max_length=MAX_NOTES_CHARS)]
PlatformList = Annotated[list[str], Field(min_length=1, max_length=len(PLATFORMS),
                                          json_schema_extra={"items": {"type": "string", **_PLATFORM}})]
ThreadList = Annotated[list[Annotated[str, Field(min_length=1, max_length=MAX_CONTENT_CHARS)]],
                       Field(max_length=MAX_THREAD_PARTS - 1)]
MediaList = Annotated[list[MediaChoice], Field(max_length=MAX_MEDIA_ITEMS)]
UrlList = Annotated[list[Annotated[str, Field(min_length=1, max_length=MAX_URL_CHARS)]],
                    Field(max_length=MAX_MEDIA_ITEMS)]


class PostCreate(ApiRequest):
    """A new post. `content` and `platforms` are needed; everything else is optional."""

    content: Content = _field("content")
    platforms: PlatformList = _field("platforms")
    action: Action = _field("action", default="draft")
    scheduled_at: OffsetDatetime | None = _field("scheduled_at", default=None)
    local_time: LocalTime | None = _field("local_time", default=None)
    timezone: ZoneName | None = _field("timezone", default=None)
    fold: Fold | None = _field("fold", default=None)
    thread: ThreadList = _field("thread", default_factory=list)
    variants: dict[str, str] = _field("variants", default_factory=dict)
    options: dict[str, dict[str, Any]] = _field("options", default_factory=dict)
    media: MediaList = _field("media", default_factory=list)
    media_urls: UrlList = _field("media_urls", default_factory=list)
    campaign: Campaign | None = _field("campaign", default=None)
    notes: Notes | None = _field("notes", default=None)
    owner_id: uuid.UUID | None = _field("owner_id", default=None)
    approval_required: bool = _field("approval_required", default=False)


class PostUpdate(ApiRequest):
    """Only the fields sent change; each replaces the saved value whole (`variants`, `options`, `media` and
    `thread` included). `null` clears `scheduled_at`, `campaign` and `notes`. `action` defaults to keeping a
    scheduled post scheduled and anything else as it is. `media_urls` adds media after the post's media."""

    content: Content | SkipJsonSchema[None] = _unset("content")
    platforms: PlatformList | SkipJsonSchema[None] = _unset("platforms")
    action: Action | SkipJsonSchema[None] = _unset("action")
    scheduled_at: OffsetDatetime | None = _field("scheduled_at", default=None)
    local_time: LocalTime | SkipJsonSchema[None] = _unset("local_time")
    timezone: ZoneName | SkipJsonSchema[None] = _unset("timezone")
    fold: Fold | SkipJsonSchema[None] = _unset("fold")
    thread: ThreadList | SkipJsonSchema[None] = _unset("thread")
    variants: dict[str, str] | SkipJsonSchema[None] = _unset("variants")
    options: dict[str, dict[str, Any]] | SkipJsonSchema[None] = _unset("options")
    media: MediaList | SkipJsonSchema[None] = _unset("media")
    media_urls: UrlList | SkipJsonSchema[None] = _unset("media_urls")
    campaign: Campaign | None = _field("campaign", default=None)
    notes: Notes | None = _field("notes", default=None)
    owner_id: uuid.UUID | SkipJsonSchema[None] = _unset("owner_id")
    approval_required: bool | SkipJsonSchema[None] = _unset("approval_required")


# Update fields that may be left out but not sent as null (their schema does not allow it).
_NOT_NULLABLE = tuple(name for name in PostUpdate.model_fields if name not in ("scheduled_at", "campaign", "notes"))


class CreateHeaders(ApiHeaders):
    idempotency_key: str | None = Field(
        default=None, alias="Idempotency-Key", min_length=1, max_length=MAX_IDEMPOTENCY_KEY_CHARS,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID is ideal) to make retrying this create safe: the same key again "
                    "returns the post it created instead of creating another. Keys are per user.",
    )


class IfMatchHeaders(ApiHeaders):
    if_match: str | None = Field(
        default=None, alias="If-Match", max_length=200,
        description="The post's `ETag` (`\"<version>\"`) as you last read it. Required: without it the update is "
                    "refused (428).",
    )


class PostListQuery(ApiQuery):
    status: str | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_optional(enum=list(POST_STATUSES)))
    platform: str | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_optional(enum=list(PLATFORMS)))
    campaign: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=MAX_CAMPAIGN_CHARS,
                                                 description="Posts in exactly this campaign.",
                                                 json_schema_extra=_optional())
    owner: uuid.UUID | SkipJsonSchema[None] = Field(default=None, description="Posts owned by this user.",
                                                    json_schema_extra=_optional())
    date_from: date | SkipJsonSchema[None] = Field(
        default=None, alias="from", description="Posts whose time is on or after this day (in your time zone).",
        json_schema_extra=_optional())
    date_to: date | SkipJsonSchema[None] = Field(
        default=None, alias="to", description="Posts whose time is on or before this day (in your time zone).",
        json_schema_extra=_optional())
    q: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=MAX_SEARCH_CHARS,
                                          description="Words the post's text contains.", json_schema_extra=_optional())
    limit: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Posts per page.")
    cursor: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=400,
                                               description="`next` from the previous page.",
                                               json_schema_extra=_optional())

    @field_validator("date_from", "date_to", mode="before")
    @classmethod
    def _iso_day(cls, value: Any) -> Any:
        # pydantic would also read a number as a Unix time; a day is asked for, so only a day is taken.
        if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise PydanticCustomError("date_format", "Give a day as YYYY-MM-DD.")
        return value

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str | None) -> str | None:
        return _one_of(value, POST_STATUSES, "a post status")

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, value: str | None) -> str | None:
        return _one_of(value, PLATFORMS, "a platform Stella supports")


def _one_of(value: str | None, allowed: Sequence[str], what: str) -> str | None:
    if value is not None and value not in allowed:
        raise PydanticCustomError("enum", "{value} is not {what}: use one of {allowed}.",
                                  {"value": repr(value[:40]), "what": what, "allowed": ", ".join(allowed)})
    return value


# -- responses ---------------------------------------------------------------------------------------------------


class PostTarget(ApiResponse):
    platform: str = Field(json_schema_extra=_PLATFORM)
    connection_id: uuid.UUID | None = Field(description="The connected account it goes out with; null when none.")
    variant: str | None = Field(description="The text this platform gets instead of `content`, if any.")
    options: dict[str, Any]


class PostMedia(ApiResponse):
    id: uuid.UUID
    url: str = Field(description="The public address platforms fetch the file from.")
    kind: str = Field(json_schema_extra={"enum": list(MEDIA_KINDS)})
    mime_type: str
    width: int | None
    height: int | None
    duration_seconds: float | None
    alt_text: str


class Post(ApiResponse):
    id: uuid.UUID
    content: str = Field(description="The text, as typed (the first part of a thread).")
    thread: list[str] = Field(description="The parts after the first; empty for a single post.")
    platforms: list[str] = Field(json_schema_extra={"items": {"type": "string", **_PLATFORM}})
    status: str = Field(json_schema_extra={"enum": list(POST_STATUSES)})
    approval_required: bool
    approval_status: str | None = Field(json_schema_extra={"enum": [*APPROVAL_STATUSES, None]})
    scheduled_at: datetime | None = Field(description="When it is due, in UTC.")
    local_time: str | None = Field(description="`scheduled_at` as a wall-clock time in `timezone` "
                                               "(`YYYY-MM-DDTHH:MM`, seconds only when set).")
    timezone: str = Field(description="The zone the post was scheduled in.")
    posted_at: datetime | None
    failure_reason: str | None
    campaign: str | None
    notes: str | None
    owner_id: uuid.UUID | None
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="Goes up with every change; send it back as `If-Match` to update.")
    targets: list[PostTarget]
    media: list[PostMedia]


class PostList(ApiResponse):
    items: list[Post]
    next: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class StalePost(ErrorBody):
    """The update was refused because the post changed since the `If-Match` version: `current` is the saved post."""

    current: Post


class DeletedPost(ApiResponse):
    """A published post removed from Stella: it stays live on the platforms it went out to."""

    id: uuid.UUID
    message: str
    platforms: list[str] = Field(description="Where the post is still live.")


class ProblemOut(ApiResponse):
    code: str = Field(description="A stable identifier: `too_long`, `not_connected`, `media_required`, ...")
    message: str


class CheckResult(ApiResponse):
    length: int = Field(description="The text's length as the platform counts it (X weighs links as 23, ...).")
    limit: int
    unit: str = Field(description="What `length` counts, in words.")
    ok: bool
    problems: list[ProblemOut]
    part_lengths: list[int] = Field(description="The length of each part of a thread, the first included.")


class ValidationResults(ApiResponse):
    results: dict[str, CheckResult] = Field(description="One entry per chosen platform.")


# -- turning posts into responses ---------------------------------------------------------------------------------


def _local_text(moment: datetime) -> str:
    naive = moment.replace(tzinfo=None)
    if naive.second or naive.microsecond:
        return naive.isoformat()
    return naive.strftime(LOCAL_TIME_FORMAT)


def _assets_of(posts: Sequence[SocialPost]) -> dict[uuid.UUID, MediaAsset]:
    ids = {item.media_id for post in posts for item in post.media}
    if not ids:
        return {}
    return {asset.id: asset for asset in db.session.scalars(sa.select(MediaAsset).where(MediaAsset.id.in_(ids)))}


def _post_out(post: SocialPost, assets: Mapping[uuid.UUID, MediaAsset]) -> Post:
    zone = viewer_zone(post.timezone)
    media = []
    for item in post.media:
        asset = assets[item.media_id]
        media.append(PostMedia(id=asset.id, url=media_url(asset), kind=asset.kind, mime_type=asset.mime_type,
                               width=asset.width, height=asset.height, duration_seconds=asset.duration_seconds,
                               alt_text=item.alt_text))
    return Post(
        id=post.id,
        content=post.content or "",
        thread=list(post.thread_parts or ()),
        platforms=list(post.platforms or ()),
        status=post.status,
        approval_required=bool(post.approval_required),
        approval_status=post.approval_status,
        scheduled_at=post.scheduled_at,
        local_time=_local_text(post.scheduled_at.astimezone(zone)) if post.scheduled_at else None,
        timezone=zone.key,
        posted_at=post.posted_at,
        failure_reason=post.failure_reason,
        campaign=post.campaign,
        notes=post.notes,
        owner_id=post.owner_id,
        created_by=post.created_by,
        created_at=post.created_at,
        updated_at=post.updated_at,
        version=post.version,
        targets=[PostTarget(platform=t.platform, connection_id=t.connection_id, variant=t.content,
                            options=dict(t.options or {})) for t in post.targets],
        media=media,
    )


def post_out(post: SocialPost) -> Post:
    return _post_out(post, _assets_of([post]))


def etag(post: SocialPost) -> str:
    return f'"{post.version}"'


def _post_response(post: SocialPost, status: int = 200, **headers: str) -> Response:
    return json_response(post_out(post), status, {"ETag": etag(post), **headers})


# -- turning requests into drafts ---------------------------------------------------------------------------------


@contextmanager
def _platform_problems() -> Iterator[None]:
    """A refusal by the platforms' rules becomes one error per problem, naming its platform."""
    try:
        yield
    except PostProblemsError as error:
        raise ApiError(422, _problem_items(error.checks)) from None


def _problem_items(checks: Mapping[str, PlatformCheck]) -> list[ErrorItem]:
    return [ErrorItem(field="platforms", platform=name, message=problem.message)
            for name, check in checks.items() for problem in check.problems]


@dataclass(frozen=True)
class _Schedule:
    when: datetime | None
    zone: str
    field: str  # where a problem with `when` is reported: scheduled_at or local_time


def _schedule(body: PostCreate | PostUpdate, *, default_zone: str, saved: datetime | None) -> _Schedule:
    """The instant and zone the body asks for; `saved` (the post's time) when it asks for none."""
    sent = body.model_fields_set
    if body.local_time is not None and "scheduled_at" in sent:
        raise ValidationError("Send scheduled_at or local_time, not both.", field="local_time")
    if body.fold is not None and body.local_time is None:
        raise ValidationError("fold only says which of two identical local times is meant: send it with local_time.",
                              field="fold")
    zone = zone_named(body.timezone, field="timezone") if body.timezone is not None else viewer_zone(default_zone)
    if body.local_time is not None:
        try:
            local = datetime.strptime(body.local_time, LOCAL_TIME_FORMAT)
        except ValueError:
            raise ValidationError(f"“{body.local_time}” is not a date and time: use YYYY-MM-DDTHH:MM.",
                                  field="local_time") from None
        if not FIRST_YEAR <= local.year <= LAST_YEAR:
            raise ValidationError(OUT_OF_RANGE_MESSAGE, field="local_time")
        try:
            when = local_to_utc(local, zone, fold=body.fold, field="local_time")
        except AmbiguousTimeError as error:
            raise ValidationError(f"{error.message} Send fold: 0 for the first, 1 for the second.",
                                  field="local_time") from None
        return _Schedule(when=when, zone=zone.key, field="local_time")
    if "scheduled_at" in sent:
        return _Schedule(when=body.scheduled_at.astimezone(UTC) if body.scheduled_at else None, zone=zone.key,
                         field="scheduled_at")
    return _Schedule(when=saved, zone=zone.key, field="scheduled_at")


def _check_future(schedule: _Schedule, action: str, body: PostCreate | PostUpdate, now: datetime) -> None:
    # The service checks too, but names scheduled_at; a time given as local_time is reported there.
    if action == "schedule" and schedule.when is not None and {"scheduled_at", "local_time"} & body.model_fields_set:
        require_future(schedule.when, now, field=schedule.field)


def _fetched_media(urls: Sequence[str], *, already: int, actor: User, now: datetime) -> list[MediaRef]:
    if already + len(urls) > MAX_MEDIA_ITEMS:
        raise ValidationError(f"A post can hold at most {MAX_MEDIA_ITEMS} media items.", field="media_urls")
    fetched: dict[str, MediaAsset] = {}
    refs = []
    for index, url in enumerate(urls):
        if url not in fetched:
            try:
                fetched[url] = store_from_url(url, actor=actor, now=now)
            except DomainError as error:
                raise ValidationError(error.message, field=f"media_urls.{index}") from None
        refs.append(MediaRef(media_id=fetched[url].id))
    return refs


def _create_draft(body: PostCreate, *, actor: User, now: datetime) -> PostDraft:
    schedule = _schedule(body, default_zone=actor.timezone, saved=None)
    _check_future(schedule, body.action, body, now)
    media = [MediaRef(media_id=item.media_id, alt_text=item.alt_text) for item in body.media]
    media += _fetched_media(body.media_urls, already=len(media), actor=actor, now=now)
    return PostDraft(
        content=body.content,
        platforms=body.platforms,
        action=body.action,
        scheduled_at=schedule.when,
        timezone=schedule.zone,
        thread_parts=body.thread,
        variants=body.variants,
        options=body.options,
        media=media,
        campaign=body.campaign,
        notes=body.notes,
        owner_id=body.owner_id,
        approval_required=body.approval_required,
    )


def _update_draft(post: SocialPost, body: PostUpdate, *, actor: User, now: datetime) -> PostDraft:
    sent = body.model_fields_set
    for name in _NOT_NULLABLE:
        if name in sent and getattr(body, name) is None:
            raise ValidationError("This field cannot be null: leave it out to keep its value.", field=name)
    action = body.action or ("schedule" if post.status == "scheduled" else "draft")
    schedule = _schedule(body, default_zone=post.timezone, saved=post.scheduled_at)
    _check_future(schedule, action, body, now)
    platforms = body.platforms if body.platforms is not None else list(post.platforms or ())
    chosen = {str(name).strip().lower() for name in platforms}
    # Kept per-platform values follow the platforms: those of a platform no longer chosen go with it.
    variants = body.variants if body.variants is not None else {
        t.platform: t.content for t in post.targets if t.content and t.platform in chosen}
    options = body.options if body.options is not None else {
        t.platform: dict(t.options or {}) for t in post.targets if t.platform in chosen}
    if body.media is not None:
        media = [MediaRef(media_id=item.media_id, alt_text=item.alt_text) for item in body.media]
    else:
        media = [MediaRef(media_id=item.media_id, alt_text=item.alt_text) for item in post.media]
    media += _fetched_media(body.media_urls or (), already=len(media), actor=actor, now=now)
    return PostDraft(
        content=body.content if body.content is not None else post.content or "",
        platforms=platforms,
        action=action,
        scheduled_at=schedule.when,
        timezone=schedule.zone,
        thread_parts=body.thread if body.thread is not None else list(post.thread_parts or ()),
        variants=variants,
        options=options,
        media=media,
        campaign=body.campaign if "campaign" in sent else post.campaign,
        notes=body.notes if "notes" in sent else post.notes,
        owner_id=body.owner_id if body.owner_id is not None else post.owner_id,
        approval_required=(body.approval_required if body.approval_required is not None
                           else bool(post.approval_required)),
        expected_version=post.version,
    )


# -- idempotency keys ----------------------------------------------------------------------------------------------


def request_hash(body: PostCreate) -> str:
    """The body's fingerprint: the same fields with the same values hash alike, however the JSON was spaced."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def find_idempotency_key(user_id: uuid.UUID, key: str) -> ApiIdempotencyKey | None:
    return db.session.scalars(
        sa.select(ApiIdempotencyKey).where(ApiIdempotencyKey.user_id == user_id, ApiIdempotencyKey.key == key)
    ).one_or_none()


def _claim_key(user: User, key: str, digest: str) -> ApiIdempotencyKey | Response:
    """The key's new row (to hold the post about to be created), or the answer for a key already used."""
    existing = find_idempotency_key(user.id, key)
    if existing is None:
        row = ApiIdempotencyKey(user_id=user.id, key=key, request_hash=digest)
        try:
            # The unique (user_id, key) constraint decides between two requests racing with one key: the second
            # insert waits for the first transaction and fails once it commits.
            with db.session.begin_nested():
                db.session.add(row)
            return row
        except sa.exc.IntegrityError:
            existing = find_idempotency_key(user.id, key)
            if existing is None:  # the other request gave up; it created nothing
                raise ApiError.single(409, "Another request with this Idempotency-Key was being handled. Retry it.",
                                      field="Idempotency-Key") from None
    return _replay(existing, digest)


def _replay(existing: ApiIdempotencyKey, digest: str) -> Response:
    if existing.request_hash != digest:
        raise ApiError.single(422, "This Idempotency-Key was already used to create a post from a different "
                                   "request. Use a new key for a new post.", field="Idempotency-Key")
    post = db.session.get(SocialPost, existing.post_id) if existing.post_id else None
    if post is None:
        raise ApiError.single(409, "The post created with this Idempotency-Key has since been deleted. Use a new "
                                   "key to create it again.", field="Idempotency-Key")
    return _post_response(post, 200, Location=f"{API_PREFIX}/posts/{post.id}", **{REPLAYED_HEADER: "true"})


# -- listing -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last post's sort key (as the database holds it) and id."""

    key: str
    id: uuid.UUID

    def encode(self) -> str:
        raw = json.dumps({"k": self.key, "i": self.id.hex}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            cursor = cls(key=str(data["k"]), id=uuid.UUID(str(data["i"])))
        except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
            raise ValidationError("This cursor is not one Stella gave out: start again without it.",
                                  field="cursor") from None
        return cursor


def _sort_key() -> sa.ColumnElement[Any]:
    """The time a post is listed by: when it went out if published, else when it is due, else when it was written.

    On SQLite the raw stored text is compared (values written by the server and by Python differ in their
    fractional seconds, and the cursor must round-trip exactly); PostgreSQL compares its timestamps.
    """
    published = sa.and_(SocialPost.status == "published", SocialPost.posted_at.is_not(None))
    key = sa.func.coalesce(sa.case((published, SocialPost.posted_at), else_=SocialPost.scheduled_at),
                           SocialPost.created_at, type_=UTCDateTime())
    return sa.type_coerce(key, sa.Text()) if _sqlite() else key


def _sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def _key_value(cursor: Cursor) -> sa.ColumnElement[Any]:
    if _sqlite():
        return sa.literal(cursor.key, sa.Text())
    try:
        moment = datetime.fromisoformat(cursor.key)
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise ValidationError("This cursor is not one Stella gave out: start again without it.", field="cursor")
    return sa.literal(moment, UTCDateTime())


def _list_filters(query: PostListQuery, user: User) -> PostFilters:
    if query.date_from and query.date_to and query.date_from > query.date_to:
        raise ValidationError("to is before from: swap the two dates.", field="to")
    args = {"status": query.status, "platform": query.platform, "campaign": query.campaign,
            "owner": str(query.owner) if query.owner else None,
            "from": query.date_from.isoformat() if query.date_from else None,
            "to": query.date_to.isoformat() if query.date_to else None, "q": query.q}
    filters = PostFilters.parse({k: v for k, v in args.items() if v}, zone=viewer_zone(user.timezone))
    if filters.rejected:  # the query model refuses what the list page would drop; this is a safety net
        raise ValidationError(" ".join(filters.rejected))
    return filters


# -- routes ----------------------------------------------------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])


def _described(view: F) -> F:
    """Dedent the docstring the OpenAPI description is made from (indented lines would be Markdown code blocks)."""
    view.__doc__ = inspect.cleandoc(view.__doc__ or "")
    return view



@api_route("POST", "/posts", body=PostCreate, headers=CreateHeaders, response=Post, status=201,
           ability=Ability.CREATE_POSTS, responses={200: Post}, errors=(409,), summary="Create a post")
@_described
def create_post(user: User, body: PostCreate, headers: CreateHeaders) -> Response:
    """Save a draft, schedule a post or queue it to publish now, as the composer does. `schedule` and
    `publish_now` need the `schedule_posts` ability and every platform's checks to pass; a refusal lists each
    platform's problems (`field` `platforms`, `platform` naming it).

    Send an `Idempotency-Key` header to make retries safe: the same key with the same body answers 200 with the post
    it created (header `Idempotent-Replayed: true`); with a different body, 422. The answer carries
    `ETag: "<version>"` and `Location`."""
    now = now_utc()
    key_row: ApiIdempotencyKey | None = None
    if headers.idempotency_key is not None:
        claimed = _claim_key(user, headers.idempotency_key, request_hash(body))
        if isinstance(claimed, Response):
            return claimed
        key_row = claimed
    draft = _create_draft(body, actor=user, now=now)
    with _platform_problems():
        saved = compose_service.create_post(draft, actor=user, now=now)
    if key_row is not None:
        key_row.post_id = saved.post.id
    db.session.commit()
    return _post_response(saved.post, 201, Location=f"{API_PREFIX}/posts/{saved.post.id}")


@api_route("GET", "/posts", query=PostListQuery, response=PostList, summary="List posts")
@_described
def list_posts(user: User, query: PostListQuery) -> PostList:
    """Every post of the team, narrowed as on the Posts page: `status`, `platform`, `campaign`, `owner`, the days
    `from`/`to` (in your time zone, both included) and `q` (text contains). Newest first by the post's time
    (when it went out if published, else when it is due, else when it was created), then by id. Follow `next`
    for more: pages never repeat or skip a post."""
    filters = _list_filters(query, user)
    key = _sort_key()
    stmt = sa.select(SocialPost, key).where(*filters.conditions())
    if query.cursor is not None:
        cursor = Cursor.decode(query.cursor)
        value = _key_value(cursor)
        stmt = stmt.where(sa.or_(key < value, sa.and_(key == value, SocialPost.id < cursor.id)))
    stmt = (stmt.order_by(key.desc(), SocialPost.id.desc()).limit(query.limit + 1)
            .options(selectinload(SocialPost.targets), selectinload(SocialPost.media)))
    rows = db.session.execute(stmt).all()
    page = rows[:query.limit]
    posts = [post for post, _ in page]
    following = None
    if len(rows) > query.limit:
        last_post, last_key = page[-1]
        raw = last_key if isinstance(last_key, str) else last_key.isoformat()
        following = Cursor(key=raw, id=last_post.id).encode()
    assets = _assets_of(posts)
    return PostList(items=[_post_out(post, assets) for post in posts], next=following)


@api_route("GET", "/posts/<uuid:post_id>", response=Post, summary="One post")
@_described
def get_post(user: User, post_id: uuid.UUID) -> Response:
    """Any post of the team. The answer carries `ETag: "<version>"`, for `If-Match` when updating."""
    return _post_response(compose_service.get_post(post_id))


@api_route("PATCH", "/posts/<uuid:post_id>", body=PostUpdate, headers=IfMatchHeaders, response=Post,
           ability=Ability.CREATE_POSTS, responses={412: StalePost, 428: ErrorBody}, errors=(409,),
           summary="Change a post")
@_described
def update_post(user: User, post_id: uuid.UUID, body: PostUpdate, headers: IfMatchHeaders) -> Response:
    """Change only the fields sent (see the body's description). Send `If-Match` with the `ETag` you read: without
    it, 428; when the post was saved since, 412 with the current post in `current`. A post being published or
    already published cannot change (409)."""
    post = compose_service.get_post(post_id)
    if headers.if_match is None or headers.if_match.strip() == "*":
        raise ApiError.single(428, "Send If-Match with the post's ETag (its version, e.g. \"3\") so an edit made "
                                   "since you read it is not overwritten.", field="If-Match")
    if not _matches(headers.if_match, post.version):
        return _stale(post)
    now = now_utc()
    draft = _update_draft(post, body, actor=user, now=now)
    try:
        with _platform_problems():
            saved = compose_service.update_post(post, draft, actor=user, now=now)
        db.session.commit()
    except (StaleEditError, StaleDataError):
        # Someone saved between our read and our write (the version column refused the UPDATE).
        db.session.rollback()
        return _stale(compose_service.get_post(post_id))
    return _post_response(saved.post)


def _matches(header: str, version: int) -> bool:
    # Strong comparison (RFC 9110 §13.1.1): a weak tag never matches. A bare number is accepted too.
    tags = (tag.strip() for tag in header.split(","))
    return any(tag.removeprefix('"').removesuffix('"') == str(version) for tag in tags if not tag.startswith("W/"))


def _stale(post: SocialPost) -> Response:
    body = StalePost(
        errors=[ErrorItem(field="If-Match", platform=None,
                          message=f"This post was changed since the version you sent (it is now version "
                                  f"{post.version}). Compare with `current`, then send your change again with "
                                  f"If-Match: \"{post.version}\".")],
        current=post_out(post),
    )
    return json_response(body, 412, {"ETag": etag(post)})


@api_route("DELETE", "/posts/<uuid:post_id>", status=204, ability=Ability.CREATE_POSTS,
           responses={200: DeletedPost}, errors=(409,), summary="Delete a post")
@_described
def delete_post(user: User, post_id: uuid.UUID) -> Response | None:
    """204 when deleted. A published post is deleted from Stella only — it stays live on the platforms — so that
    answer is a 200 whose `message` says so. A post being published right now (`queued`) cannot be deleted
    (409); try again in a minute."""
    post = compose_service.get_post(post_id)
    published = post.status == "published"
    platforms = list(post.platforms or ())
    message = compose_service.delete_post(post, actor=user)
    db.session.commit()
    if published:
        return json_response(DeletedPost(id=post_id, message=message, platforms=platforms), 200)
    return None


@api_route("POST", "/validate", body=PostCreate, response=ValidationResults, ability=Ability.CREATE_POSTS,
           summary="Check a post against each platform's rules")
@_described
def validate_post(user: User, body: PostCreate) -> ValidationResults:
    """The composer's live checks for a post that is not saved: each chosen platform's length (counted the
    platform's way), limit and problems. Takes the same body as creating a post; the time and `action` are not
    looked at, and nothing is saved (media from `media_urls` is fetched to check it, then forgotten)."""
    now = now_utc()
    media = [MediaRef(media_id=item.media_id, alt_text=item.alt_text) for item in body.media]
    media += _fetched_media(body.media_urls, already=len(media), actor=user, now=now)
    draft = PostDraft(content=body.content, platforms=body.platforms, thread_parts=body.thread,
                      variants=body.variants, options=body.options, media=media, owner_id=body.owner_id)
    checks = compose_service.preview_checks(draft, actor=user)
    db.session.rollback()
    return ValidationResults(results={
        name: CheckResult(length=check.length, limit=check.limit, unit=check.unit, ok=check.ok,
                          problems=[ProblemOut(code=p.code, message=p.message) for p in check.problems],
                          part_lengths=list(check.part_lengths))
        for name, check in checks.items()
    })
