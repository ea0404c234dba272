"""The composer: write one post for several platforms, see every platform's checks and preview as you type, then save
a draft, schedule it or publish it now. Rules live in `stella.services.compose`; this module reads the form, calls one
service, commits, and renders what the user needs next.

Routes on the `posts` blueprint (views.py imports this module): `posts.compose` (/posts/new), `posts.edit`, and two
htmx fragments: `posts.checks` (the live checks and previews) and `posts.picker` (the accounts of another owner).
Deleting is `posts.delete`, in views.py.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

# SelectChoice is WTForms 3.3; types-WTForms only covers 3.2 so far.
from wtforms import SelectChoice  # type: ignore[attr-defined]

from stella.extensions import db
from stella.models import MediaAsset, SocialConnection, SocialPost, User
from stella.models.types import now_utc
from stella.permissions import Ability, can, requires
from stella.platforms import PLATFORMS
from stella.providers.rules import find_urls, graphemes
from stella.services import media as media_service
from stella.services.compose import (
    EDITABLE_STATUSES,
    MediaRef,
    PostDraft,
    PostProblemsError,
    StaleEditError,
    create_post,
    get_post,
    owner_connections,
    preview_checks,
    update_post,
)
from stella.services.errors import DomainError, NotFoundError, settle
from stella.services.platforms import provider_class
from stella.services.post_checks import PlatformCheck
from stella.services.schedule_time import AmbiguousTimeError, ZonedChoice
from stella.services.users import list_users
from stella.timezones import viewer_zone
from stella.web.posts.compose_forms import (
    FORMAT_LABELS,
    ComposeForm,
    OptionField,
    Submitted,
    build_draft,
    field_choices,
    option_fields,
    option_input_name,
    options_as_inputs,
    read_submitted,
)
from stella.web.posts.views import bp

# Where each section of the page shows a service's message, by the `field` the service names.
SECTION_OF: dict[str, str] = {
    "content": "content", "variants": "content", "platforms": "platforms", "thread": "thread",
    "options": "options", "media": "media", "file": "media", "scheduled_at": "schedule", "timezone": "schedule",
    "campaign": "details", "notes": "details", "owner_id": "owner", "approval_required": "details",
}
# Feeds cut long captions after about this many characters (or lines) behind a "more" link.
FEED_TRUNCATION: dict[str, tuple[int, int, str]] = {
    "instagram": (125, 2, "more"),
    "linkedin": (210, 3, "see more"),
    "facebook": (480, 5, "See more"),
}
# Platforms that turn the first link of a text post into a card.
LINK_CARD_PLATFORMS = frozenset({"x", "linkedin", "facebook", "bluesky", "mastodon", "threads"})
# A counter turns amber at this share of the limit.
NEAR_LIMIT = 0.9
_TAG_OR_MENTION = re.compile(r"(?<![\w#@])(#\w+|@\w[\w.]*\w(?:@[\w.-]+\w)?|@\w)")


# -- what the page shows -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountChoice:
    """A platform in the picker, as the owner's connection makes it: ready, in error, unfinished or missing."""

    platform: str
    display_name: str
    icon: str
    state: str  # connected | error | pending | missing
    chosen: bool
    supports_threads: bool
    name: str | None = None
    handle: str | None = None
    avatar_url: str | None = None
    kind_label: str | None = None

    @property
    def initial(self) -> str:
        return (self.name or self.handle or self.display_name)[:1].upper()

    @property
    def selectable(self) -> bool:
        # A platform whose connection went away stays ticked (and untickable) on a post that already uses it.
        return self.state != "missing" or self.chosen


@dataclass(frozen=True)
class PanelField:
    spec: OptionField
    input_name: str
    input_id: str
    value: str
    choices: tuple[tuple[str, str], ...]
    hidden: bool


@dataclass(frozen=True)
class Panel:
    platform: str
    display_name: str
    icon: str
    fields: tuple[PanelField, ...]
    account_note: str | None
    chosen: bool


@dataclass(frozen=True)
class Segment:
    kind: str  # text | url | tag
    text: str


@dataclass(frozen=True)
class PreviewPart:
    segments: tuple[Segment, ...]
    truncated: bool
    more_label: str


@dataclass(frozen=True)
class PreviewMedia:
    thumbnail_url: str
    kind: str
    count: int


@dataclass(frozen=True)
class Preview:
    account: AccountChoice
    title: str | None
    parts: tuple[PreviewPart, ...]
    media: PreviewMedia | None
    link_domain: str | None
    format_label: str | None
    note: str | None


@dataclass(frozen=True)
class PlatformResult:
    """One chosen platform's counter, problems and preview."""

    check: PlatformCheck
    preview: Preview
    state: str  # ok | near | over
    part_states: tuple[tuple[int, str], ...]

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.check.length / self.check.limit)) if self.check.limit else 0


@dataclass
class PageErrors:
    """A refused save's message, under the section it concerns (or at the top)."""

    sections: dict[str, list[str]] = field(default_factory=dict)
    top: list[str] = field(default_factory=list)

    def add(self, error: DomainError) -> None:
        section = SECTION_OF.get(error.field or "")
        if section:
            self.sections.setdefault(section, []).append(error.message)
        else:
            self.top.append(error.message)

    def __bool__(self) -> bool:
        return bool(self.sections or self.top)


# -- routes ------------------------------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@requires(Ability.CREATE_POSTS)
def compose() -> Any:
    """A new post; `?date=YYYY-MM-DD` (a calendar day) fills the date in, at 09:00."""
    form = _form()
    if request.method == "GET":
        form.owner_id.data = str(current_user.id)
        day = _date_arg(request.args.get("date"))
        if day is not None and day < now_utc().astimezone(_zone()).date():
            flash(f"{day:%A} {day.day} {day:%B} has passed, so no date is filled in. Choose today or a later day.",
                  "info")
        elif day is not None:
            form.date.data, form.time.data = day, time(9, 0)
        return _page(form, Submitted(), post=None, defaults_for=set(PLATFORMS))
    return _save(form, post=None)


@bp.route("/<uuid:post_id>/edit", methods=["GET", "POST"])
@requires(Ability.CREATE_POSTS)
def edit(post_id: uuid.UUID) -> Any:
    post = _post_or_404(post_id)
    if post.status not in EDITABLE_STATUSES:
        flash("This post was published, so it cannot be changed." if post.status == "published"
              else "This post is being published right now, so it cannot be changed.", "error")
        return redirect(url_for("posts.index"))
    if request.method == "GET":
        form, submitted = _form_for(post)
        # Platforms the post does not use yet show their panels' defaults, should they be ticked.
        return _page(form, submitted, post=post, defaults_for=set(PLATFORMS) - set(post.platforms))
    return _save(_form(post), post=post)


@bp.post("/checks")
@requires(Ability.CREATE_POSTS)
def checks() -> str:
    """htmx: every chosen platform's counter, problems and preview for the form as it is now (nothing is saved)."""
    form = _form()
    submitted = read_submitted(request.form)
    return render_template("posts/_checks.html", **_checks_context(form, submitted), oob=True)


@bp.post("/picker")
@requires(Ability.CREATE_POSTS)
def picker() -> str:
    """htmx: the accounts (and option panels) of the owner now chosen in the form."""
    form = _form()
    submitted = read_submitted(request.form)
    connections = owner_connections(_owner_id(form))
    chosen = _chosen(form)
    return render_template(
        "posts/_platform_picker.html",
        accounts=_accounts(connections, chosen),
        owner=_owner(form),
        panels=_panels(connections, submitted.option_inputs, chosen, defaults_for=set()),
        panels_oob=True,
    )


# -- saving ------------------------------------------------------------------------------------------------------


def _save(form: ComposeForm, *, post: SocialPost | None) -> Any:
    submitted = read_submitted(request.form)
    errors = PageErrors()
    checks: dict[str, PlatformCheck] | None = None
    fold_choices: tuple[ZonedChoice, ...] = ()
    stale: SocialPost | None = None
    if not form.validate_on_submit():
        for name, messages in form.errors.items():
            for message in messages:
                errors.add(DomainError(str(message), field="owner_id" if name == "owner_id" else _schedule_field(name)))
        return _page(form, submitted, post=post, errors=errors, status=422)
    actor = current_user._get_current_object()
    try:
        draft = build_draft(form, submitted, zone=_zone(),
                            connections_metadata=_metadata(owner_connections(_owner_id(form))),
                            expected_version=_int(form.version.data) if post else None)
        if post is None:
            saved = create_post(draft, actor=actor, now=now_utc())
        else:
            saved = update_post(post, draft, actor=actor, now=now_utc())
    except AmbiguousTimeError as error:
        settle(error)
        errors.add(error)
        fold_choices = error.choices
    except PostProblemsError as error:
        settle(error)
        errors.top.append(error.message)
        checks = error.checks
    except StaleEditError as error:
        settle(error)
        errors.top.append(error.message)
        stale = error.current
        # The form now carries the saved version: saving again, after comparing, replaces it on purpose.
        form.version.data = str(stale.version)
    except DomainError as error:
        settle(error)
        errors.add(error)
    else:
        settle()
        flash(saved.message, "success")
        return redirect(url_for("posts.index"))
    return _page(form, submitted, post=post, errors=errors, checks=checks, fold_choices=fold_choices,
                 stale=stale, status=409 if stale is not None else 422)


def _schedule_field(name: str) -> str:
    return "scheduled_at" if name in ("date", "time") else name


# -- rendering ---------------------------------------------------------------------------------------------------


def _page(form: ComposeForm, submitted: Submitted, *, post: SocialPost | None, defaults_for: set[str] | None = None,
          errors: PageErrors | None = None,
          checks: dict[str, PlatformCheck] | None = None, fold_choices: Sequence[ZonedChoice] = (),
          stale: SocialPost | None = None, status: int = 200) -> tuple[str, int]:
    connections = owner_connections(_owner_id(form))
    chosen = _chosen(form)
    context = _checks_context(form, submitted, checks=checks) if chosen else {"results": [], "message": None}
    zone = _zone()
    return render_template(
        "posts/compose.html",
        form=form,
        post=post,
        submitted=submitted,
        accounts=_accounts(connections, chosen),
        owner=_owner(form),
        panels=_panels(connections, submitted.option_inputs, chosen, defaults_for=defaults_for or set()),
        media_items=_media_items(submitted),
        errors=errors or PageErrors(),
        fold_choices=fold_choices,
        stale=stale,
        stale_yours=_yours(form, submitted) if stale is not None else None,
        zone=zone,
        zone_label=_zone_label(zone, form.date.data),
        campaigns=_campaigns(),
        thread_platforms=[n for n in PLATFORMS if provider_class(n).capabilities.supports_threads],
        **context,
    ), status


def _checks_context(form: ComposeForm, submitted: Submitted, *,
                    checks: dict[str, PlatformCheck] | None = None) -> dict[str, Any]:
    """The live checks for the form as it is, with a preview per platform; a message instead when there is
    nothing to check yet (no platform) or the form cannot be read."""
    connections = owner_connections(_owner_id(form))
    try:
        draft = build_draft(form, submitted, zone=_zone(), connections_metadata=_metadata(connections),
                            expected_version=None, with_schedule=False)
        if checks is None:
            checks = preview_checks(draft, actor=current_user._get_current_object())
    except DomainError as error:
        settle(error)
        return {"results": [], "message": error.message}
    accounts = {a.platform: a for a in _accounts(connections, draft.platforms)}
    assets = _assets(draft)
    results = [_result(check, draft, accounts[name], assets) for name, check in checks.items() if name in accounts]
    return {"results": results, "message": None}


def _result(check: PlatformCheck, draft: PostDraft, account: AccountChoice,
            assets: Sequence[MediaAsset]) -> PlatformResult:
    return PlatformResult(
        check=check,
        preview=_preview(check.platform, draft, account, assets),
        state=_counter_state(check.length, check.limit),
        part_states=tuple((length, _counter_state(length, check.limit)) for length in check.part_lengths),
    )


def _counter_state(length: int, limit: int) -> str:
    if limit and length > limit:
        return "over"
    if limit and length >= NEAR_LIMIT * limit:
        return "near"
    return "ok"


def _preview(platform: str, draft: PostDraft, account: AccountChoice, assets: Sequence[MediaAsset]) -> Preview:
    cls = provider_class(platform)
    variant = draft.variants.get(platform)
    text = variant if variant and variant.strip() else draft.content
    texts = [text, *draft.thread_parts] if cls.capabilities.supports_threads else [text]
    truncation = FEED_TRUNCATION.get(platform)
    parts = tuple(_part(t, truncation if index == 0 else None) for index, t in enumerate(texts))
    options = draft.options.get(platform, {})
    title = options.get("title") or (options.get("event") or {}).get("title")
    media = None
    if assets:
        media = PreviewMedia(thumbnail_url=url_for("media.thumbnail", media_id=assets[0].id), kind=assets[0].kind,
                             count=len(assets))
    urls = find_urls(text)
    link_domain = None
    if urls and not media and platform in LINK_CARD_PLATFORMS:
        link_domain = _domain(text[urls[0][0]:urls[0][1]])
    note = "Links in Instagram captions are not clickable." if urls and platform == "instagram" else None
    chosen_format = options.get("format")
    return Preview(
        account=account,
        title=str(title) if title else None,
        parts=parts,
        media=media,
        link_domain=link_domain,
        format_label=FORMAT_LABELS.get(str(chosen_format)) if chosen_format else None,
        note=note,
    )


def _part(text: str, truncation: tuple[int, int, str] | None) -> PreviewPart:
    shown, truncated = text, False
    if truncation is not None:
        limit, max_lines, _label = truncation
        lines = shown.split("\n")
        if len(lines) > max_lines:
            shown, truncated = "\n".join(lines[:max_lines]), True
        clusters = graphemes(shown)
        if len(clusters) > limit:
            cut = "".join(clusters[:limit])
            space = cut.rfind(" ")
            # Cut at a word when one ends near the limit, as the feeds do.
            shown, truncated = (cut[:space] if space > limit - 25 else cut).rstrip(), True
        if truncated:
            shown = shown.rstrip() + "…"
    return PreviewPart(segments=tuple(_segments(shown)), truncated=truncated,
                       more_label=truncation[2] if truncation else "")


def _segments(text: str) -> list[Segment]:
    """The text cut into plain runs, links and hashtags/mentions (shown in the platform's link colour). Every
    segment is escaped by the template: nothing here is markup."""
    found: list[Segment] = []
    last = 0
    for start, end in find_urls(text):
        found.extend(_tags(text[last:start]))
        found.append(Segment("url", text[start:end]))
        last = end
    found.extend(_tags(text[last:]))
    return found


def _tags(text: str) -> list[Segment]:
    pieces = []
    for index, piece in enumerate(_TAG_OR_MENTION.split(text)):
        if piece:
            pieces.append(Segment("tag" if index % 2 else "text", piece))
    return pieces


def _domain(url: str) -> str:
    host = urlsplit(url if "://" in url else f"https://{url}").hostname or url
    return host.removeprefix("www.")


# -- pieces of the page ------------------------------------------------------------------------------------------


def _form(post: SocialPost | None = None) -> ComposeForm:
    form = ComposeForm()
    form.owner_id.choices = _owner_choices(post)
    if not form.owner_id.data:
        form.owner_id.data = str(post.owner_id if post is not None and post.owner_id else current_user.id)
    return form


def _form_for(post: SocialPost) -> tuple[ComposeForm, Submitted]:
    zone = _zone()
    local = post.scheduled_at.astimezone(zone) if post.scheduled_at else None
    form = ComposeForm(data={
        "content": post.content,
        "platforms": list(post.platforms),
        "campaign": post.campaign or "",
        "notes": post.notes or "",
        "owner_id": str(post.owner_id or current_user.id),
        "approval_required": post.approval_required,
        "date": local.date() if local else None,
        "time": local.time().replace(second=0, microsecond=0) if local else None,
        "version": str(post.version),
    })
    form.owner_id.choices = _owner_choices(post)
    submitted = Submitted(
        action="schedule" if post.status == "scheduled" else "draft",
        thread_parts=list(post.thread_parts or ()),
        variants={t.platform: t.content for t in post.targets if t.content},
        media=[MediaRef(media_id=item.media_id, alt_text=item.alt_text) for item in post.media],
        option_inputs=_saved_options(post),
    )
    return form, submitted


def _saved_options(post: SocialPost) -> dict[str, str]:
    inputs: dict[str, str] = {}
    for target in post.targets:
        inputs.update(options_as_inputs(target.platform, target.options or {}))
    return inputs


def _accounts(connections: Mapping[str, SocialConnection], chosen: Sequence[str]) -> list[AccountChoice]:
    accounts = []
    for name in PLATFORMS:
        cls = provider_class(name)
        connection = connections.get(name)
        token = connection.tokens if connection is not None else None
        metadata = (connection.auth_metadata if connection is not None else None) or {}
        state = "missing" if connection is None else (
            connection.status if connection.status in ("connected", "error", "pending") else "pending")
        handle = token.account_handle if token is not None else None
        if metadata.get("locality"):
            handle = str(metadata["locality"])  # a business location has no handle: its town instead
        elif handle and not handle.startswith("@"):
            handle = f"@{handle}"
        accounts.append(AccountChoice(
            platform=name,
            display_name=cls.display_name,
            icon=cls.icon,
            state=state,
            chosen=name in chosen,
            supports_threads=cls.capabilities.supports_threads,
            name=(token.display_name or token.account_handle) if token is not None else None,
            handle=handle,
            avatar_url=token.profile_image_url if token is not None else None,
            kind_label=_kind_label(name, metadata),
        ))
    return accounts


def _kind_label(platform: str, metadata: Mapping[str, Any]) -> str | None:
    if platform == "linkedin":
        return "Page" if metadata.get("kind") == "organization" else "Profile"
    if platform == "pinterest" and metadata.get("default_board_name"):
        return f"Board: {metadata['default_board_name']}"
    if platform == "facebook":
        return "Page"
    return None


def _panels(connections: Mapping[str, SocialConnection], inputs: Mapping[str, str], chosen: Sequence[str], *,
            defaults_for: set[str]) -> list[Panel]:
    panels = []
    for name in PLATFORMS:
        cls = provider_class(name)
        connection = connections.get(name)
        metadata = (connection.auth_metadata if connection is not None else None) or {}
        specs = option_fields(name)
        values: dict[str, str] = {}
        for spec in specs:
            key = option_input_name(name, spec.name)
            if name in defaults_for:
                if spec.default is True:
                    values[spec.name] = "on"
                elif spec.default not in (None, False):
                    values[spec.name] = str(spec.default)
            elif key in inputs:
                values[spec.name] = inputs[key]
        built = tuple(
            PanelField(
                spec=spec,
                input_name=option_input_name(name, spec.name),
                input_id=option_input_name(name, spec.name).replace(".", "-"),
                value=values.get(spec.name, ""),
                choices=field_choices(spec, metadata),
                hidden=spec.show_if is not None and values.get(spec.show_if[0], "") not in spec.show_if[1],
            )
            for spec in specs
        )
        panels.append(Panel(platform=name, display_name=cls.display_name, icon=cls.icon, fields=built,
                            account_note=_account_note(name, connection, metadata), chosen=name in chosen))
    return panels


def _account_note(platform: str, connection: SocialConnection | None, metadata: Mapping[str, Any]) -> str | None:
    if connection is None or connection.tokens is None:
        return None
    label = connection.tokens.display_name or connection.tokens.account_handle or ""
    if platform == "linkedin":
        if metadata.get("kind") == "organization":
            return f"Posts as the company page {label}."
        return f"Posts on the personal profile of {label}."
    if platform == "facebook":
        return f"Posts on the Page {label}."
    return None


def _media_items(submitted: Submitted) -> list[tuple[MediaAsset, Any, str]]:
    items = []
    for ref in submitted.media:
        try:
            asset = media_service.get_media(ref.media_id)
        except NotFoundError:
            continue
        items.append((asset, media_service.describe_media(asset), ref.alt_text))
    return items


def _assets(draft: PostDraft) -> list[MediaAsset]:
    found = (db.session.get(MediaAsset, ref.media_id) for ref in draft.media)
    return [asset for asset in found if asset is not None]


def _yours(form: ComposeForm, submitted: Submitted) -> dict[str, Any]:
    """The unsaved edit, for the side-by-side comparison with the saved post."""
    when = None
    if form.date.data and form.time.data:
        day, clock = form.date.data, form.time.data
        # As the `localtime('weekday')` filter shows the saved one.
        when = f"{day:%a} {day.day} {day:%b} · {clock.hour % 12 or 12}:{clock:%M} {'AM' if clock.hour < 12 else 'PM'}"
    return {
        "content": form.content.data or "",
        "platforms": _chosen(form),
        "thread_parts": [p for p in submitted.thread_parts if p.strip()],
        "when": when,
        "campaign": form.campaign.data or "",
        "notes": form.notes.data or "",
    }


def _owner_choices(post: SocialPost | None) -> list[Any]:
    """You first, then every active teammate who may own posts (and the post's current owner, whoever they are,
    so the service can say why they no longer may)."""
    me = current_user._get_current_object()
    teammates = [u for u in list_users() if u.is_active and can(u, Ability.CREATE_POSTS) and u.id != me.id]
    pairs = [(str(me.id), f"You ({me.label})")]
    pairs += [(str(u.id), u.label) for u in sorted(teammates, key=lambda u: u.label.lower())]
    if post is not None and post.owner_id and all(value != str(post.owner_id) for value, _ in pairs):
        owner = db.session.get(User, post.owner_id)
        pairs.append((str(post.owner_id), owner.label if owner else "A former teammate"))
    return [SelectChoice(value, label) for value, label in pairs]


def _owner_id(form: ComposeForm) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(form.owner_id.data)) if form.owner_id.data else current_user.id
    except ValueError:
        return None


def _owner(form: ComposeForm) -> User | None:
    owner_id = _owner_id(form)
    return db.session.get(User, owner_id) if owner_id else None


def _chosen(form: ComposeForm) -> list[str]:
    return [name for name in PLATFORMS if name in (form.platforms.data or [])]


def _metadata(connections: Mapping[str, SocialConnection]) -> dict[str, Mapping[str, Any]]:
    return {name: connection.auth_metadata or {} for name, connection in connections.items()}


def _campaigns() -> list[str]:
    # Suggestions only: the campaigns used most recently first.
    latest = sa.func.max(SocialPost.updated_at)
    rows = db.session.execute(
        sa.select(SocialPost.campaign).where(SocialPost.campaign.is_not(None))
        .group_by(SocialPost.campaign).order_by(latest.desc()).limit(50)
    )
    return [campaign for (campaign,) in rows if campaign]


def _zone() -> ZoneInfo:
    return viewer_zone(getattr(current_user, "timezone", None))


def _zone_label(zone: ZoneInfo, day: date | None) -> str:
    moment = datetime.combine(day, time(12, 0), tzinfo=zone) if day else now_utc().astimezone(zone)
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds()) // 60 if offset else 0
    sign = "+" if minutes >= 0 else "-"
    name = moment.tzname() or ""
    utc = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return f"{name}, {utc}" if name and not name.startswith(("+", "-")) and name != "UTC" else utc


def _date_arg(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _int(raw: Any) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _post_or_404(post_id: uuid.UUID) -> SocialPost:
    try:
        return get_post(post_id)
    except NotFoundError:
        abort(404)
