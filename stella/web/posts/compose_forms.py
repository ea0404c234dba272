"""The composer's form: its fixed fields, the per-platform option panels declared as data, and the one function that
turns what the browser sent into a `PostDraft`.

Option panels are declarations, not templates: each platform lists its `OptionField`s (a key in the platform's
`options`, a label, a type, choices, required, help). A provider that declares `option_fields` is used as it is;
until then `FALLBACK_OPTION_FIELDS` below holds the obvious ones. A platform that publishes several formats gets a
"format" choice from its `capabilities.formats` without declaring it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

# SelectChoice is WTForms 3.3 (tuple choices are deprecated there); types-WTForms only covers 3.2 so far.
from wtforms import (  # type: ignore[attr-defined]
    BooleanField,
    DateField,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import Optional

from stella.platforms import PLATFORMS
from stella.services.compose import ACTIONS, MAX_CAMPAIGN_CHARS, MediaRef, PostDraft
from stella.services.errors import ValidationError
from stella.services.platforms import provider_class
from stella.services.schedule_time import local_to_utc

# -- option panels ---------------------------------------------------------------------------------------------

OptionType = Literal["text", "textarea", "url", "number", "date", "select", "radio", "checkbox", "note"]


@dataclass(frozen=True)
class OptionField:
    """One input of a platform's option panel; pure data, so a provider can declare it too (`option_fields`).

    `name` is the key in the platform's `options` (a dotted name nests: "event.title" → {"event": {"title": …}}).
    `type` "note" shows `help` as a paragraph and stores nothing. `default` None preselects nothing (TikTok's
    visibility must be the user's own choice). `show_if` shows the field only while another field of the same panel
    holds one of the values (("format", ("offer", "event")): event dates). `account_choices` names a resolver in
    `ACCOUNT_CHOICES` that reads the choices from the connected account (a Pinterest board).
    """

    name: str
    label: str
    type: OptionType = "text"
    choices: tuple[tuple[str, str], ...] = ()
    required: bool = False
    help: str = ""
    default: str | bool | None = None
    max_length: int | None = None
    placeholder: str = ""
    show_if: tuple[str, tuple[str, ...]] | None = None
    account_choices: str | None = None


# How each format a provider declares (`Capabilities.formats`) is named in the composer.
FORMAT_LABELS: dict[str, str] = {
    "post": "Post",
    "image": "Feed post",
    "carousel": "Carousel",
    "reel": "Reel",
    "story": "Story",
    "video": "Video",
    "short": "Short",
    "pin": "Pin",
    "update": "Update",
    "offer": "Offer",
    "event": "Event",
}
FORMAT_HELP: dict[str, str] = {
    "instagram": "A feed post takes one photo; a carousel 2 to 10 photos or videos; a reel one video; a story one "
                 "photo or video shown for 24 hours.",
    "tiktok": "A video, or a photo carousel of up to 35 photos.",
    "youtube": "A Short is a vertical video of up to three minutes.",
    "threads": "A carousel takes 2 to 20 photos or videos.",
    "google_business": "An update is a “What's new” post; offers and events need a title and dates.",
}

_TIKTOK_PRIVACY = (
    ("PUBLIC_TO_EVERYONE", "Everyone"),
    ("MUTUAL_FOLLOW_FRIENDS", "Friends (followers you follow back)"),
    ("FOLLOWER_OF_CREATOR", "Followers"),
    ("SELF_ONLY", "Only me"),
)
_GOOGLE_ACTIONS = (
    ("", "No button"),
    ("LEARN_MORE", "Learn more"),
    ("BOOK", "Book"),
    ("CALL", "Call now"),
    ("SIGN_UP", "Sign up"),
    ("ORDER", "Order online"),
    ("SHOP", "Buy"),
)

FALLBACK_OPTION_FIELDS: dict[str, tuple[OptionField, ...]] = {
    "facebook": (
        OptionField("groups_note", "Facebook Groups", "note",
                    help="Meta removed publishing to Facebook Groups for third-party apps in 2024, so Stella posts to "
                         "your Page only. To share in a Group, ask for a reminder: you will be notified to post it "
                         "there yourself."),
        OptionField("reminder", "Remind me to share it in a Group", "checkbox",
                    help="Stella notifies the post's owner when it goes out on the Page."),
    ),
    "youtube": (
        OptionField("title", "Video title", "text", required=True, max_length=100,
                    placeholder="Tour: 4-bed colonial on Maple Ridge",
                    help="Up to 100 characters, no < or >. The post's text becomes the description."),
        OptionField("privacy_status", "Visibility", "select", required=True, default="public",
                    choices=(("public", "Public"), ("unlisted", "Unlisted"), ("private", "Private"))),
        OptionField("made_for_kids", "Made for kids", "checkbox",
                    help="YouTube requires this declaration for content directed at children."),
    ),
    "pinterest": (
        OptionField("board_id", "Board", "select", account_choices="pinterest_boards",
                    help="The board chosen when Pinterest was connected."),
        OptionField("title", "Pin title", "text", max_length=100, placeholder="Light-filled kitchen ideas"),
        OptionField("link", "Destination link", "url", placeholder="https://…",
                    help="Where the pin leads when someone taps it."),
    ),
    "tiktok": (
        OptionField("privacy_level", "Who can see this video", "radio", required=True, choices=_TIKTOK_PRIVACY,
                    help="TikTok asks you to choose for every post; nothing is preselected."),
        OptionField("disable_comment", "Turn off comments", "checkbox"),
        OptionField("disable_duet", "Turn off Duet", "checkbox"),
        OptionField("disable_stitch", "Turn off Stitch", "checkbox"),
        OptionField("commercial_content", "Disclose commercial content", "checkbox",
                    help="Turn on if this post promotes a brand, product or service."),
        OptionField("brand_organic_toggle", "Your brand — you are promoting yourself or your own business",
                    "checkbox", show_if=("commercial_content", ("on",)),
                    help="TikTok labels the post “Promotional content”."),
        OptionField("brand_content_toggle", "Branded content — you are promoting another brand or a third party",
                    "checkbox", show_if=("commercial_content", ("on",)),
                    help="TikTok labels the post “Paid partnership”; it cannot be private."),
        OptionField("is_aigc", "AI-generated content", "checkbox"),
    ),
    "google_business": (
        OptionField("call_to_action", "Button", "select", choices=_GOOGLE_ACTIONS, default=""),
        OptionField("link", "Button link", "url", placeholder="https://…",
                    show_if=("call_to_action", ("LEARN_MORE", "BOOK", "SIGN_UP", "ORDER", "SHOP"))),
        OptionField("event.title", "Title", "text", max_length=58, show_if=("format", ("offer", "event")),
                    required=True),
        OptionField("event.start_date", "Starts", "date", show_if=("format", ("offer", "event")), required=True),
        OptionField("event.end_date", "Ends", "date", show_if=("format", ("offer", "event")), required=True),
        OptionField("offer.coupon_code", "Coupon code", "text", show_if=("format", ("offer",))),
        OptionField("offer.redeem_online_url", "Link to redeem", "url", show_if=("format", ("offer",))),
        OptionField("offer.terms_conditions", "Terms and conditions", "textarea", show_if=("format", ("offer",))),
    ),
    "mastodon": (
        OptionField("visibility", "Visibility", "select", default="public", choices=(
            ("public", "Public"), ("unlisted", "Quiet public"), ("private", "Followers only"))),
        OptionField("spoiler_text", "Content warning", "text", max_length=200,
                    help="Shown in place of the post until a reader opens it. Leave empty for none."),
    ),
}


def _pinterest_boards(metadata: Mapping[str, Any]) -> list[tuple[str, str]]:
    boards = [(str(b.get("id")), str(b.get("name") or b.get("id")))
              for b in metadata.get("boards") or () if isinstance(b, Mapping) and b.get("id")]
    default = metadata.get("default_board_id")
    if default and all(value != str(default) for value, _ in boards):
        boards.insert(0, (str(default), str(metadata.get("default_board_name") or default)))
    return boards


# Choices read from the owner's connection (`OptionField.account_choices`), given its `auth_metadata`.
ACCOUNT_CHOICES: dict[str, Callable[[Mapping[str, Any]], list[tuple[str, str]]]] = {
    "pinterest_boards": _pinterest_boards,
}


def option_fields(platform: str) -> tuple[OptionField, ...]:
    """The panel of `platform`: the provider's own declaration when it has one, a format choice when it publishes
    several formats, then the fallback declarations."""
    cls = provider_class(platform)
    declared: tuple[Any, ...] = tuple(getattr(cls, "option_fields", None) or FALLBACK_OPTION_FIELDS.get(platform, ()))
    formats = tuple(getattr(getattr(cls, "capabilities", None), "formats", ()) or ())
    if len(formats) > 1 and not any(f.name == "format" for f in declared):
        choice = OptionField(
            "format", "Format", "radio", required=True, default=formats[0], help=FORMAT_HELP.get(platform, ""),
            choices=tuple((name, FORMAT_LABELS.get(name, name.title())) for name in formats),
        )
        declared = (choice, *declared)
    return declared


def field_choices(spec: OptionField, metadata: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    if spec.account_choices:
        resolver = ACCOUNT_CHOICES.get(spec.account_choices)
        return tuple(resolver(metadata or {})) if resolver else ()
    return tuple(spec.choices)


def option_input_name(platform: str, name: str) -> str:
    return f"opt-{platform}-{name}"


def parse_options(data: Mapping[str, str], platforms: Sequence[str],
                  metadata: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each chosen platform's options from the inputs its panel rendered. A choice that is not offered is dropped
    (so a required one then shows as missing); empty text is left out; a ticked box is True."""
    options: dict[str, dict[str, Any]] = {}
    for platform in platforms:
        values: dict[str, Any] = {}
        for spec in option_fields(platform):
            if spec.type == "note":
                continue
            raw = data.get(option_input_name(platform, spec.name))
            value: Any
            if spec.type == "checkbox":
                if raw is None:
                    continue
                value = True
            else:
                value = (raw or "").strip()
                if not value:
                    continue
                if spec.type in ("select", "radio"):
                    allowed = {choice for choice, _ in field_choices(spec, metadata.get(platform))}
                    if value not in allowed:
                        continue
            _put(values, spec.name, value)
        if values:
            options[platform] = values
    return options


def _put(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        child = target.get(key)
        if not isinstance(child, dict):
            child = target[key] = {}
        target = child
    target[leaf] = value


def option_value(options: Mapping[str, Any], dotted: str) -> Any:
    """The stored value of a (dotted) option name, or None."""
    current: Any = options
    for key in dotted.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def options_as_inputs(platform: str, options: Mapping[str, Any]) -> dict[str, str]:
    """A saved post's options as the inputs of its panel (for the edit page)."""
    inputs: dict[str, str] = {}
    for spec in option_fields(platform):
        value = option_value(options, spec.name)
        if value is None or value is False or spec.type == "note":
            continue
        inputs[option_input_name(platform, spec.name)] = "on" if value is True else str(value)
    return inputs


# -- the form --------------------------------------------------------------------------------------------------


class ComposeForm(FlaskForm):
    """The fixed part of the composer. Lists (thread parts, media, variants, options) are read by `build_draft`."""

    content = TextAreaField("Post text")
    platforms = SelectMultipleField("Publish to", choices=[SelectChoice(name, name) for name in PLATFORMS],
                                    validate_choice=False)
    campaign = StringField("Campaign", render_kw={"list": "campaign-options", "autocomplete": "off",
                                                  "maxlength": MAX_CAMPAIGN_CHARS})
    notes = TextAreaField("Notes for the team", render_kw={"rows": 2})
    owner_id = SelectField("Owner", choices=[], validate_choice=True)
    approval_required = BooleanField("Needs approval before it goes out")
    date = DateField("Date", validators=[Optional()], format="%Y-%m-%d")
    time = TimeField("Time", validators=[Optional()], format="%H:%M")
    version = HiddenField()


@dataclass
class Submitted:
    """What the composer sent besides the fixed fields, kept to render the form again."""

    action: str = "draft"
    thread_parts: list[str] = field(default_factory=list)
    variants: dict[str, str] = field(default_factory=dict)
    media: list[MediaRef] = field(default_factory=list)
    option_inputs: dict[str, str] = field(default_factory=dict)
    fold: int | None = None


def read_submitted(data: MultiDict[str, str]) -> Submitted:
    action = data.get("action", "draft")
    fold_raw = data.get("fold")
    return Submitted(
        action=action if action in ACTIONS else "draft",
        thread_parts=list(data.getlist("thread_part")),
        variants={name: data.get(f"variant-{name}", "") for name in PLATFORMS if f"variant-{name}" in data},
        media=_media_refs(data),
        option_inputs={key: value for key, value in data.items() if key.startswith("opt-")},
        fold=int(fold_raw) if fold_raw in ("0", "1") else None,
    )


def _media_refs(data: MultiDict[str, str]) -> list[MediaRef]:
    ids = data.getlist("media_id")
    alts = data.getlist("alt_text")
    refs = []
    for index, raw in enumerate(ids):
        try:
            media_id = uuid.UUID(raw)
        except ValueError:
            continue  # only a hand-edited form sends one; the page never does
        refs.append(MediaRef(media_id=media_id, alt_text=alts[index] if index < len(alts) else ""))
    return refs


def scheduled_instant(day: date | None, clock: time | None, zone: ZoneInfo, *, fold: int | None,
                      required: bool) -> datetime | None:
    """The UTC instant of the date and time typed in `zone`; None when both are empty and none is required."""
    if day is None and clock is None:
        if required:
            raise ValidationError("Choose the date and time to publish.", field="scheduled_at")
        return None
    if day is None:
        raise ValidationError("Choose the date as well as the time.", field="scheduled_at")
    if clock is None:
        raise ValidationError("Choose the time as well as the date.", field="scheduled_at")
    return local_to_utc(datetime.combine(day, clock), zone, fold=fold)


def build_draft(form: ComposeForm, submitted: Submitted, *, zone: ZoneInfo,
                connections_metadata: Mapping[str, Mapping[str, Any]], expected_version: int | None,
                with_schedule: bool = True) -> PostDraft:
    """The `PostDraft` the composer asks for. Raises ValidationError (and the schedule_time errors) for what it
    cannot even parse; every other rule is the service's. Without `with_schedule` (the live checks) the date and
    time are not read."""
    platforms = [name for name in form.platforms.data or [] if name in PLATFORMS]
    action = submitted.action if with_schedule else "draft"
    when = None
    if with_schedule and action != "publish_now":
        when = scheduled_instant(form.date.data, form.time.data, zone, fold=submitted.fold,
                                 required=action == "schedule")
    owner = None
    if form.owner_id.data:
        try:
            owner = uuid.UUID(form.owner_id.data)
        except ValueError:
            raise ValidationError("Choose an active teammate as the owner.", field="owner_id") from None
    return PostDraft(
        content=form.content.data or "",
        platforms=platforms,
        action=action,  # type: ignore[arg-type]  # one of ACTIONS (read_submitted)
        scheduled_at=when,
        timezone=zone.key,
        thread_parts=list(submitted.thread_parts),
        variants={name: text for name, text in submitted.variants.items() if name in platforms and text.strip()},
        options=parse_options(submitted.option_inputs, platforms, connections_metadata),
        media=list(submitted.media),
        campaign=form.campaign.data,
        notes=form.notes.data,
        owner_id=owner,
        approval_required=bool(form.approval_required.data),
        expected_version=expected_version,
    )
