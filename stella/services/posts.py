"""Reading posts: the filtered, sorted, paged list; the count per status; one post with everything its page shows;
and its history. Nothing here writes (writing is `services.compose`).

Times come back as `LocalTime` in the zone the caller names (the viewer's), so pages show them with the zone named.
Filtering, sorting and paging happen in SQL, on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute, selectinload

from stella.extensions import db
from stella.models import (
    AuditLog,
    MediaAsset,
    SocialAccountToken,
    SocialConnection,
    SocialPost,
    SocialPostMedia,
    User,
)
from stella.models.post import POST_STATUSES
from stella.platforms import PLATFORMS
from stella.providers import PROVIDERS_BY_NAME
from stella.services.compose import EDITABLE_STATUSES, get_post
from stella.services.media import describe_media
from stella.services.post_queries import PostRow, count_posts, post_rows, posts_with_owner
from stella.timezones import UTC_ZONE, viewer_zone

PER_PAGE = 20
MAX_SEARCH_CHARS = 200
MAX_HISTORY_ENTRIES = 200
SORTS: dict[str, str] = {"scheduled": "Scheduled time", "created": "Date created", "updated": "Last updated"}
DEFAULT_SORT = "scheduled"
DIRECTIONS: dict[str, str] = {"desc": "Newest first", "asc": "Oldest first"}
DEFAULT_DIRECTION = "desc"

# What a published post's delete button warns, and what `compose.delete_post` says afterwards.
DELETE_PUBLISHED_WARNING = (
    "This removes the post from Stella only. It stays live on the platforms it was published to: delete it there "
    "if it should go."
)
DELETE_WARNING = "The post and its history will be removed from Stella. This cannot be undone."


# -- times as people read them ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalTime:
    """An instant in one zone, with the words pages show for it."""

    at: datetime  # aware, in `zone`
    zone: str  # the IANA name, "America/New_York"

    @property
    def iso(self) -> str:
        return self.at.isoformat()

    @property
    def abbreviation(self) -> str:
        """"EST"; zones without a lettered abbreviation get their offset ("UTC+04")."""
        name = self.at.tzname() or self.zone
        return f"UTC{name}" if name[:1] in "+-" else name

    @property
    def date_text(self) -> str:
        return f"{self.at:%b} {self.at.day}, {self.at.year}"

    @property
    def day_text(self) -> str:
        return f"{self.at:%a}, {self.date_text}"

    @property
    def time_text(self) -> str:
        return f"{self.at.hour % 12 or 12}:{self.at:%M} {'AM' if self.at.hour < 12 else 'PM'}"

    @property
    def text(self) -> str:
        """"Tue, Nov 24, 2026 · 10:00 AM EST"."""
        return f"{self.day_text} · {self.time_text} {self.abbreviation}"


def local_time(value: datetime | None, zone: ZoneInfo) -> LocalTime | None:
    if value is None:
        return None
    return LocalTime(at=value.astimezone(zone), zone=zone.key)


# -- the list's filters ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnerChoice:
    id: uuid.UUID
    label: str
    active: bool


@dataclass(frozen=True)
class FilterChoices:
    """What the campaign and owner selects offer: campaigns posts use, and people who own posts or may."""

    campaigns: tuple[str, ...]
    owners: tuple[OwnerChoice, ...]

    def owner_label(self, owner_id: uuid.UUID | None) -> str | None:
        return next((owner.label for owner in self.owners if owner.id == owner_id), None)


def filter_choices() -> FilterChoices:
    campaigns = db.session.scalars(
        sa.select(SocialPost.campaign).where(SocialPost.campaign.is_not(None), SocialPost.campaign != "")
        .distinct().order_by(SocialPost.campaign)
    ).all()
    owns_posts = sa.select(SocialPost.owner_id).where(SocialPost.owner_id.is_not(None))
    users = db.session.execute(
        sa.select(User.id, User.display_name, User.email, User.is_active)
        .where(sa.or_(User.id.in_(owns_posts), sa.and_(User.is_active, User.role != "staff")))
        .order_by(sa.func.lower(sa.func.coalesce(sa.func.nullif(User.display_name, ""), User.email)))
    ).all()
    return FilterChoices(
        campaigns=tuple(c for c in campaigns if c),
        owners=tuple(OwnerChoice(id=row.id, label=row.display_name or row.email, active=bool(row.is_active))
                     for row in users),
    )


def _quoted(value: str) -> str:
    shown = value if len(value) <= 40 else value[:39] + "…"
    return f"“{shown}”"


def _parse_date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a local day begins (a day whose midnight a DST change skips begins at the first valid time)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class PostFilters:
    """What the list is narrowed and ordered by. Values that could not be used are in `rejected`, worded for the
    page: they are reported, never silently dropped, and never applied."""

    status: str | None = None
    platform: str | None = None
    campaign: str | None = None
    owner_id: uuid.UUID | None = None
    date_from: date | None = None
    date_to: date | None = None
    # The range as UTC bounds, [starts_at, ends_before), from the local days in the viewer's zone.
    starts_at: datetime | None = None
    ends_before: datetime | None = None
    # The dates as typed when they were dates, applied or not: the form shows them again so a reversed range can
    # be put right rather than typed again.
    entered_from: str = ""
    entered_to: str = ""
    search: str | None = None
    sort: str = DEFAULT_SORT
    direction: str = DEFAULT_DIRECTION
    rejected: tuple[str, ...] = ()

    @classmethod
    def parse(cls, args: Mapping[str, str], *, zone: ZoneInfo = UTC_ZONE,
              choices: FilterChoices | None = None) -> PostFilters:
        """Read the list's query string. Dates are local days in `zone`; `choices` (when given) is what campaign and
        owner must be one of."""
        rejected: list[str] = []

        def arg(name: str) -> str:
            return (args.get(name) or "").strip()

        status = arg("status").lower() or None
        if status is not None and status not in POST_STATUSES:
            rejected.append(f"{_quoted(status)} is not a post status, so all statuses are shown.")
            status = None
        platform = arg("platform").lower() or None
        if platform is not None and platform not in PLATFORMS:
            rejected.append(f"{_quoted(platform)} is not a platform Stella supports, so all platforms are shown.")
            platform = None
        campaign = arg("campaign") or None
        if campaign is not None and choices is not None and campaign not in choices.campaigns:
            rejected.append(f"No post is in the campaign {_quoted(campaign)}, so all campaigns are shown.")
            campaign = None

        owner_id: uuid.UUID | None = None
        raw_owner = arg("owner")
        if raw_owner:
            try:
                owner_id = uuid.UUID(raw_owner)
            except ValueError:
                owner_id = None
            if owner_id is None or (choices is not None and choices.owner_label(owner_id) is None):
                rejected.append("That owner is not on the team any more, so posts of every owner are shown.")
                owner_id = None

        date_from, date_to, starts_at, ends_before = cls._parse_range(arg("from"), arg("to"), zone, rejected)

        search = arg("q") or None
        if search is not None and len(search) > MAX_SEARCH_CHARS:
            rejected.append(f"Search looks at the first {MAX_SEARCH_CHARS} characters you type; the rest was left "
                            "out.")
            search = search[:MAX_SEARCH_CHARS].strip()

        sort = arg("sort").lower() or DEFAULT_SORT
        if sort not in SORTS:
            rejected.append(f"{_quoted(sort)} is not a way to sort posts, so they are sorted by scheduled time.")
            sort = DEFAULT_SORT
        direction = arg("dir").lower() or DEFAULT_DIRECTION
        if direction not in DIRECTIONS:
            rejected.append(f"{_quoted(direction)} is not a sort direction, so the newest come first.")
            direction = DEFAULT_DIRECTION

        entered = {name: arg(name) if _parse_date(arg(name)) else "" for name in ("from", "to")}
        return cls(status=status, platform=platform, campaign=campaign, owner_id=owner_id, date_from=date_from,
                   date_to=date_to, starts_at=starts_at, ends_before=ends_before, entered_from=entered["from"],
                   entered_to=entered["to"], search=search, sort=sort, direction=direction, rejected=tuple(rejected))

    @staticmethod
    def _parse_range(raw_from: str, raw_to: str, zone: ZoneInfo, rejected: list[str]
                     ) -> tuple[date | None, date | None, datetime | None, datetime | None]:
        day_from = _parse_date(raw_from) if raw_from else None
        day_to = _parse_date(raw_to) if raw_to else None
        bad = [raw for raw, day in ((raw_from, day_from), (raw_to, day_to)) if raw and day is None]
        if bad:
            rejected.append(f"{_quoted(bad[0])} is not a date (use the date picker, or YYYY-MM-DD), so the date "
                            "range is not applied.")
            return None, None, None, None
        if day_from and day_to and day_from > day_to:
            rejected.append(f"The range starts on {day_from:%b} {day_from.day}, {day_from.year}, after it ends on "
                            f"{day_to:%b} {day_to.day}, {day_to.year}, so it is not applied. Swap the two dates.")
            return None, None, None, None
        starts_at = _day_start(day_from, zone) if day_from else None
        ends_before = _day_start(day_to + timedelta(days=1), zone) if day_to else None
        return day_from, day_to, starts_at, ends_before

    @property
    def active(self) -> bool:
        """Whether anything narrows the list (sorting does not)."""
        return any(value is not None for value in (
            self.status, self.platform, self.campaign, self.owner_id, self.date_from, self.date_to, self.search))

    @property
    def has_range(self) -> bool:
        return self.date_from is not None or self.date_to is not None

    def query_args(self, **changes: Any) -> dict[str, str]:
        """The query string for these filters (what links keep across pages and tabs); `changes` replace or, with
        None, drop a value. Defaults are left out, so links stay short."""
        args: dict[str, Any] = {
            "status": self.status,
            "platform": self.platform,
            "campaign": self.campaign,
            "owner": str(self.owner_id) if self.owner_id else None,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "q": self.search,
            "sort": None if self.sort == DEFAULT_SORT else self.sort,
            "dir": None if self.direction == DEFAULT_DIRECTION else self.direction,
        }
        args.update(changes)
        return {name: str(value) for name, value in args.items() if value not in (None, "")}

    def conditions(self, *, with_status: bool = True) -> list[sa.ColumnElement[bool]]:
        """The WHERE clauses, for the list, its count and (without the status) the count per status."""
        conditions: list[sa.ColumnElement[bool]] = []
        if self.status and with_status:
            conditions.append(SocialPost.status == self.status)
        if self.platform:
            conditions.append(has_platform(self.platform))
        if self.campaign:
            conditions.append(SocialPost.campaign == self.campaign)
        if self.owner_id:
            conditions.append(SocialPost.owner_id == self.owner_id)
        if self.starts_at or self.ends_before:
            conditions.append(_shown_time_between(self.starts_at, self.ends_before))
        if self.search:
            conditions.append(SocialPost.content.ilike(f"%{_escape_like(self.search)}%", escape="\\"))
        return conditions


def _escape_like(text: str) -> str:
    """`text` matched literally by LIKE: its own %, _ and the escape character are escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def has_platform(platform: str) -> sa.ColumnElement[bool]:
    """`platforms` contains `platform`, on either engine (TEXT[] on PostgreSQL, a JSON array on SQLite)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return SocialPost.platforms.op("@>")(sa.cast([platform], SocialPost.platforms.type))
    # On SQLite the array is JSON text; ask json_each so spacing or escaping in hand-written rows cannot fool us.
    items = sa.func.json_each(SocialPost.platforms).table_valued("value")
    return sa.exists(sa.select(1).select_from(items).where(items.c.value == platform))


def _published() -> sa.ColumnElement[bool]:
    return sa.and_(SocialPost.status == "published", SocialPost.posted_at.is_not(None))


def _shown_time() -> sa.ColumnElement[datetime]:
    """The time each row shows (`PostRow.when`): when it went out if published, otherwise when it is due."""
    return sa.case((_published(), SocialPost.posted_at), else_=SocialPost.scheduled_at)


def _shown_time_between(start: datetime | None, end: datetime | None) -> sa.ColumnElement[bool]:
    # Spelled per column rather than on the CASE, so each side can use the index on its own column.
    def within(column: QueryableAttribute[datetime | None]) -> sa.ColumnElement[bool]:
        bounds: list[sa.ColumnElement[bool]] = [column.is_not(None)]
        if start is not None:
            bounds.append(column >= start)
        if end is not None:
            bounds.append(column < end)
        return sa.and_(*bounds)

    return sa.or_(sa.and_(_published(), within(SocialPost.posted_at)),
                  sa.and_(sa.not_(_published()), within(SocialPost.scheduled_at)))


# -- the list --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedPost:
    """One row of the list."""

    post: SocialPost
    owner_label: str | None
    when: LocalTime | None  # the time shown, in the viewer's zone
    sent: bool  # `when` is when it went out (otherwise when it is due)


@dataclass(frozen=True)
class PostPage:
    rows: list[ListedPost]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.per_page)

    @property
    def page_numbers(self) -> list[int | None]:
        """The page links to show: first, last and two either side of this one; None where pages are skipped."""
        shown = [n for n in range(1, self.pages + 1) if n in (1, self.pages) or abs(n - self.page) <= 2]
        numbers: list[int | None] = []
        for n in shown:
            if numbers and n - (numbers[-1] or 0) > 1:
                numbers.append(None)
            numbers.append(n)
        return numbers


def _listed(row: PostRow, zone: ZoneInfo) -> ListedPost:
    post = row.post
    return ListedPost(post=post, owner_label=row.owner_label, when=local_time(row.when, zone),
                      sent=post.status == "published" and post.posted_at is not None)


def list_posts(filters: PostFilters, *, zone: ZoneInfo = UTC_ZONE, page: int = 1, per_page: int = PER_PAGE
               ) -> PostPage:
    """One page of posts matching `filters`, in their order; a page past the end shows the last page.

    Posts without a time (undated drafts) come after dated ones whichever the direction; ties go to the most
    recently edited.
    """
    conditions = filters.conditions()
    total = count_posts(*conditions)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    key: sa.SQLColumnExpression[Any] = {
        "scheduled": _shown_time(),
        "created": SocialPost.created_at,
        "updated": SocialPost.updated_at,
    }[filters.sort]
    stmt = (
        posts_with_owner()
        .where(*conditions)
        .options(selectinload(SocialPost.media))  # the row's media count, in one query for the page
        .order_by(key.is_(None), key.asc() if filters.direction == "asc" else key.desc(),
                  SocialPost.updated_at.desc(), SocialPost.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return PostPage(rows=[_listed(row, zone) for row in post_rows(stmt)], page=page, per_page=per_page, total=total)


def status_counts(filters: PostFilters | None = None) -> dict[str, int]:
    """How many posts are in each status (every status present, zero when none), under `filters` but its status:
    the numbers on the status tabs."""
    counts = dict.fromkeys(POST_STATUSES, 0)
    conditions = filters.conditions(with_status=False) if filters else []
    for status, number in db.session.execute(
        sa.select(SocialPost.status, sa.func.count()).where(*conditions).group_by(SocialPost.status)
    ).all():
        counts[status] = int(number)
    return counts


# -- one post --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """The account a target publishes with, as its connection's token row describes it."""

    name: str
    handle: str | None  # "@harborvine"
    avatar_url: str | None
    status: str  # the connection's: connected, pending, error

    @property
    def initial(self) -> str:
        return (self.name.lstrip("@")[:1] or "?").upper()


@dataclass(frozen=True)
class TargetView:
    platform: str
    display_name: str
    account: Account | None
    # Why there is no account: "removed" (the connection it was saved with is gone) or "none" (nothing connected).
    account_problem: str | None
    variant: str | None  # None: it uses the main text
    options: tuple[tuple[str, str], ...]
    # Where sending stands for this platform. Until deliveries are kept per platform it follows the post.
    delivery: str


@dataclass(frozen=True)
class MediaView:
    media_id: uuid.UUID
    position: int
    kind: str
    alt_text: str
    label: str  # "JPEG photo"
    dimensions: str | None
    duration: str | None
    size: str
    filename: str | None


@dataclass(frozen=True)
class HistoryEntry:
    at: LocalTime
    actor: str
    action: str
    summary: str  # "Created the post as a draft"
    details: tuple[str, ...]
    icon: str  # bootstrap-icons name
    tone: str  # neutral, accent, info, success, warning, danger


@dataclass(frozen=True)
class PostDetail:
    """Everything a post's page shows. Text fields are as stored: the page escapes them."""

    id: uuid.UUID
    content: str
    status: str
    version: int
    platforms: tuple[str, ...]
    approval_required: bool
    approval_status: str | None
    failure_reason: str | None
    campaign: str | None
    notes: str | None
    zone: str  # the viewer's
    post_zone: str  # the post's own (`timezone`)
    scheduled: LocalTime | None  # in the viewer's zone
    scheduled_in_post_zone: LocalTime | None  # only when the post's zone differs from the viewer's
    posted: LocalTime | None
    created: LocalTime
    updated: LocalTime
    owner: str | None
    author: str | None
    targets: tuple[TargetView, ...]
    thread: tuple[str, ...]  # every part in order, the main text first; empty when the post is not a thread
    media: tuple[MediaView, ...]
    media_urls: tuple[str, ...]  # media given by address (the seed's column)
    history: tuple[HistoryEntry, ...]
    editable: bool
    deletable: bool
    delete_warning: str
    delete_refusal: str | None  # why it cannot be deleted now


def _display_name(platform: str) -> str:
    provider = PROVIDERS_BY_NAME.get(platform)
    return provider.display_name if provider else platform.replace("_", " ").title()


def _user_labels(*ids: uuid.UUID | None) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = db.session.execute(sa.select(User.id, User.display_name, User.email).where(User.id.in_(wanted)))
    return {row.id: row.display_name or row.email for row in rows}


def _accounts(stmt: sa.Select[tuple[SocialConnection, SocialAccountToken | None]]) -> dict[Any, Account]:
    """Accounts keyed by connection id and by provider (the caller knows which it asked for)."""
    found: dict[Any, Account] = {}
    for connection, token in db.session.execute(stmt).all():
        handle = token.account_handle if token else None
        if handle and not handle.startswith("@") and connection.provider != "google_business":
            handle = f"@{handle}"
        name = (token.display_name if token else None) or handle or f"{_display_name(connection.provider)} account"
        account = Account(name=name, handle=handle if handle != name else None,
                          avatar_url=token.profile_image_url if token else None, status=connection.status)
        found[connection.id] = account
        found[connection.provider] = account
    return found


def _with_tokens() -> sa.Select[tuple[SocialConnection, SocialAccountToken | None]]:
    stmt = sa.select(SocialConnection, SocialAccountToken).outerjoin(
        SocialAccountToken, SocialAccountToken.connection_id == SocialConnection.id)
    return stmt  # type: ignore[return-value]  # the outer join makes the token optional


def _option_text(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value is None or value == "":
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(_option_text(item) for item in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{_option_label(k)}: {_option_text(v)}" for k, v in value.items()) or "—"
    return str(value)


def _option_label(key: Any) -> str:
    return str(key).replace("_", " ").strip().capitalize()


def _targets(post: SocialPost) -> tuple[TargetView, ...]:
    by_platform = {target.platform: target for target in post.targets}
    saved_ids = [t.connection_id for t in post.targets if t.connection_id is not None]
    accounts = _accounts(_with_tokens().where(SocialConnection.id.in_(saved_ids))) if saved_ids else {}
    # Posts written by other programs have no target rows until they are claimed: they would go out with the
    # owner's connection for the platform, so that is the account shown.
    unsaved = [name for name in post.platforms if name not in by_platform]
    if unsaved and post.owner_id is not None:
        accounts |= _accounts(_with_tokens().where(SocialConnection.user_id == post.owner_id,
                                                   SocialConnection.provider.in_(unsaved)))
    views = []
    for name in post.platforms:
        target = by_platform.get(name)
        if target is not None:
            account = accounts.get(target.connection_id) if target.connection_id else None
            problem = None if account else ("removed" if target.connection_id is None else "none")
            variant = target.content if target.content and target.content.strip() else None
            options = tuple((_option_label(k), _option_text(v)) for k, v in (target.options or {}).items())
        else:
            account = accounts.get(name)
            problem = None if account else "none"
            variant, options = None, ()
        views.append(TargetView(platform=name, display_name=_display_name(name), account=account,
                                account_problem=problem, variant=variant, options=options, delivery=post.status))
    return tuple(views)


def _media(post_id: uuid.UUID) -> tuple[MediaView, ...]:
    rows = db.session.execute(
        sa.select(SocialPostMedia, MediaAsset).join(MediaAsset, MediaAsset.id == SocialPostMedia.media_id)
        .where(SocialPostMedia.post_id == post_id).order_by(SocialPostMedia.position)
    ).all()
    views = []
    for item, asset in rows:
        info = describe_media(asset)
        views.append(MediaView(media_id=asset.id, position=item.position, kind=asset.kind, alt_text=item.alt_text,
                               label=info.label, dimensions=info.dimensions, duration=info.duration, size=info.size,
                               filename=asset.original_filename))
    return tuple(views)


def post_detail(post_id: uuid.UUID | str, zone: ZoneInfo = UTC_ZONE) -> PostDetail:
    """Everything the post's page shows, times in `zone`. Raises NotFoundError for an unknown id.

    Every signed-in role may read every post: the team shares them.
    """
    post = get_post(post_id)
    post_zone = viewer_zone(post.timezone)
    labels = _user_labels(post.owner_id, post.created_by)
    created = local_time(post.created_at, zone)
    updated = local_time(post.updated_at, zone)
    assert created is not None and updated is not None  # both have server defaults
    refusal = ("This post is being published right now, so it cannot be deleted. Try again in a minute."
               if post.status == "queued" else None)
    return PostDetail(
        id=post.id,
        content=post.content or "",
        status=post.status,
        version=post.version,
        platforms=tuple(post.platforms or ()),
        approval_required=bool(post.approval_required),
        approval_status=post.approval_status,
        failure_reason=post.failure_reason,
        campaign=post.campaign,
        notes=post.notes,
        zone=zone.key,
        post_zone=post_zone.key,
        scheduled=local_time(post.scheduled_at, zone),
        scheduled_in_post_zone=local_time(post.scheduled_at, post_zone) if post_zone.key != zone.key else None,
        posted=local_time(post.posted_at, zone),
        created=created,
        updated=updated,
        owner=labels.get(post.owner_id) if post.owner_id else None,
        author=labels.get(post.created_by) if post.created_by else None,
        targets=_targets(post),
        thread=(post.content or "", *post.thread_parts) if post.thread_parts else (),
        media=_media(post.id),
        media_urls=tuple(post.media_urls or ()),
        history=post_history(post.id, zone, created_at=post.created_at, author=labels.get(post.created_by)
                             if post.created_by else None),
        editable=post.status in EDITABLE_STATUSES,
        deletable=refusal is None,
        delete_warning=DELETE_PUBLISHED_WARNING if post.status == "published" else DELETE_WARNING,
        delete_refusal=refusal,
    )


# -- history ---------------------------------------------------------------------------------------------------

# What the composer's `changed` list names, in words.
_CHANGED_WORDS = {
    "content": "text", "platforms": "platforms", "thread_parts": "thread", "scheduled_at": "schedule",
    "campaign": "campaign", "notes": "notes", "owner_id": "owner", "targets": "platform versions",
    "media": "media", "approval_required": "approval",
}
# Actions other services record on a post (or will): their sentence, icon and tone.
_ACTIONS: dict[str, tuple[str, str, str]] = {
    "post.approval_requested": ("Asked for approval", "hourglass", "warning"),
    "post.approved": ("Approved the post", "hand-thumbs-up", "success"),
    "post.rejected": ("Rejected the post", "x-octagon", "danger"),
    "post.queued": ("Started publishing", "hourglass-split", "info"),
    "post.published": ("Published the post", "check-circle", "success"),
    "post.failed": ("Publishing failed", "exclamation-triangle", "danger"),
    "post.retried": ("Scheduled a retry", "arrow-repeat", "accent"),
    "post.deleted": ("Deleted the post", "trash", "danger"),
}
# Detail keys whose values are words meant for people (reasons, comments); anything else in `details` is ids.
_SAID_KEYS = ("reason", "comment", "message", "error")


def _join_words(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _describe(entry: AuditLog) -> tuple[str, tuple[str, ...], str, str]:
    details = entry.details if isinstance(entry.details, dict) else {}
    lines: list[str] = []
    platforms = [p for p in details.get("platforms") or () if isinstance(p, str)]
    # How the composer saved it: draft, schedule or publish_now.
    mode = details.get("intent") or ""
    if entry.action == "post.created":
        summary = {"schedule": "Created and scheduled the post",
                   "publish_now": "Created the post to publish right away"}.get(mode,
                                                                                "Created the post as a draft")
        if platforms:
            lines.append("For " + _join_words([_display_name(p) for p in platforms]))
        return summary, tuple(lines), "plus-circle", "accent"
    if entry.action == "post.updated":
        summary = {"schedule": "Edited and scheduled the post",
                   "publish_now": "Edited the post to publish right away"}.get(mode,
                                                                               "Edited the post")
        changed = [_CHANGED_WORDS.get(str(key), str(key).replace("_", " ")) for key in details.get("changed") or ()]
        lines.append(f"Changed the {_join_words(changed)}" if changed else "Saved without changes")
        return summary, tuple(lines), "pencil", "neutral"
    summary, icon, tone = _ACTIONS.get(entry.action, ("", "dot", "neutral"))
    if not summary:
        summary = entry.action.removeprefix("post.").replace("_", " ").replace(".", " ").capitalize()
    if platforms:
        lines.append("On " + _join_words([_display_name(p) for p in platforms]))
    elif isinstance(details.get("platform"), str):
        lines.append("On " + _display_name(details["platform"]))
    lines.extend(f"“{details[key]}”" for key in _SAID_KEYS if isinstance(details.get(key), str) and details[key])
    return summary, tuple(lines), icon, tone


def post_history(post_id: uuid.UUID | str, zone: ZoneInfo = UTC_ZONE, *, created_at: datetime | None = None,
                 author: str | None = None) -> tuple[HistoryEntry, ...]:
    """What happened to the post, newest first, from the audit log (who, what, when in `zone`).

    A post added before history was kept, or by another program, has no "created" row: given its `created_at`,
    one is shown from the post itself.
    """
    stmt = (
        sa.select(AuditLog, User.display_name, User.email)
        .outerjoin(User, User.id == AuditLog.actor_id)
        .where(AuditLog.subject_type == "social_post", AuditLog.subject_id == str(post_id))
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .limit(MAX_HISTORY_ENTRIES)
    )
    entries: list[HistoryEntry] = []
    for entry, display_name, email in db.session.execute(stmt).all():
        summary, lines, icon, tone = _describe(entry)
        at = local_time(entry.created_at, zone)
        assert at is not None  # created_at has a server default
        entries.append(HistoryEntry(at=at, actor=display_name or email or "Stella", action=entry.action,
                                    summary=summary, details=lines, icon=icon, tone=tone))
    if created_at is not None and not any(e.action == "post.created" for e in entries) \
            and len(entries) < MAX_HISTORY_ENTRIES:
        at = local_time(created_at, zone)
        assert at is not None
        entries.append(HistoryEntry(at=at, actor=author or "Outside Stella", action="post.added",
                                    summary="Added the post", details=(), icon="plus-circle", tone="neutral"))
    return tuple(entries)
