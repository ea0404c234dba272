"""What each chosen platform will make of a post: its length counted the platform's way, and every rule it breaks.

One function, `check_post`, serves the composer's live checks, the server's check on save, `POST /api/v1/validate`
and the publisher's last look before sending. It reads the owner's connections (a Mastodon instance has its own
limits) but never calls a platform.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stella.models import MediaAsset, SocialConnection
from stella.providers.base import OutboundPost, Provider
from stella.providers.rules import Problem, counted_length, unit_of, validate
from stella.services.media import media_item
from stella.services.platforms import provider_class


@dataclass(frozen=True)
class MediaChoice:
    """A media item as the post uses it: the stored asset and the alt text written for it in this post."""

    asset: MediaAsset
    alt_text: str = ""


@dataclass(frozen=True)
class PostContent:
    """Everything about a post that decides what reaches the platforms."""

    content: str
    platforms: tuple[str, ...]
    thread_parts: tuple[str, ...] = ()
    variants: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    media: tuple[MediaChoice, ...] = ()

    def text_for(self, platform: str) -> str:
        """The caption `platform` gets: its variant when one was written, else the post's text."""
        variant = self.variants.get(platform)
        return variant if variant is not None and variant.strip() else self.content

    def parts_for(self, platform: str) -> list[str]:
        """The thread as `platform` would publish it (a single part where it takes no threads)."""
        return [self.text_for(platform), *self.thread_parts]


@dataclass(frozen=True)
class PlatformCheck:
    platform: str
    display_name: str
    length: int
    limit: int
    unit: str
    problems: tuple[Problem, ...]
    # Length of each thread part, first part included (one entry for a single post).
    part_lengths: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def remaining(self) -> int:
        return self.limit - self.length


def check_post(post: PostContent, connections: Mapping[str, SocialConnection]) -> dict[str, PlatformCheck]:
    """Check `post` for each of its platforms; `connections` are the owner's, keyed by platform."""
    return {name: check_platform(post, name, connections.get(name)) for name in post.platforms}


def check_platform(post: PostContent, name: str, connection: SocialConnection | None) -> PlatformCheck:
    cls = provider_class(name)
    rules = cls.account_rules(connection.auth_metadata if connection else {})
    media = tuple(media_item(choice.asset, choice.alt_text) for choice in post.media)
    parts = post.parts_for(name)
    problems: list[Problem] = list(_connection_problems(cls, connection))
    if len(parts) > 1 and not cls.capabilities.supports_threads:
        problems.append(Problem(
            "threads_not_supported",
            f"{cls.display_name} does not take threads: remove {cls.display_name} or write a single part.",
        ))
    lengths = []
    for index, text in enumerate(parts):
        # Media goes with the first part of a thread; later parts are text only.
        outbound = OutboundPost(text=text, media=media if index == 0 else (),
                                title=_option_text(post, name, "title"), options=post.options.get(name, {}))
        found = validate(rules, outbound, platform=cls.display_name)
        if index > 0:
            found = [_in_part(problem, index + 1) for problem in found if problem.code != "media_required"]
        problems.extend(found)
        lengths.append(counted_length(rules, text))
    problems.extend(cls.option_problems(post.options.get(name, {}), media))
    return PlatformCheck(
        platform=name,
        display_name=cls.display_name,
        length=lengths[0],
        limit=rules.max_chars,
        unit=unit_of(rules),
        problems=tuple(_unique(problems)),
        part_lengths=tuple(lengths),
    )


def _connection_problems(cls: type[Provider], connection: SocialConnection | None) -> Sequence[Problem]:
    if connection is None:
        return (Problem("not_connected",
                        f"{cls.display_name} is not connected for this post's owner. Connect it first."),)
    if connection.status == "error":
        return (Problem("reconnect", f"{cls.display_name} needs reconnecting before Stella can publish to it."),)
    if connection.status != "connected":
        return (Problem("not_connected", f"Connecting {cls.display_name} was not finished. Finish it first."),)
    return ()


def _option_text(post: PostContent, platform: str, key: str) -> str | None:
    value = post.options.get(platform, {}).get(key)
    return str(value) if value else None


def _in_part(problem: Problem, number: int) -> Problem:
    return Problem(problem.code, f"Part {number}: {problem.message}")


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for problem in problems:
        if (problem.code, problem.message) not in seen:
            seen.add((problem.code, problem.message))
            kept.append(problem)
    return kept
