"""The one pure check of a post against a platform's rules, and the text counters behind it.

The composer, the live counter and the publisher all call `validate()`; each platform declares its
`PlatformRules` on its provider class. Nothing here does I/O, so it is cheap to run on every keystroke.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

import regex

# twitter-text-parser loads its emoji list through pkg_resources, which warns that it is deprecated on every start;
# the pinned setuptools still ships it (requirements.txt), so the warning says nothing we can act on.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    from twitter_text import parse_tweet
    from twitter_text.config import config as twitter_text_config
    from twitter_text.regexp.valid_domain_chars import valid_domain_chars

from stella.providers.base import MediaItem, OutboundPost, PlatformRules, TextCounting

# -- problems -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One reason a post cannot go out as it is; `message` is written for a marketing user."""

    code: str
    message: str


# -- URLs ------------------------------------------------------------------------------------------------

# Top-level domains recognised without a scheme ("harborvine.com"); the common ones are enough for a counter,
# since X and Mastodon only shorten what they recognise as links.
_BARE_TLDS = (
    "com|net|org|io|co|us|uk|ca|au|de|fr|es|it|nl|info|biz|me|app|dev|ai|ly|gl|tv|realty|realestate|"
    "homes|house|property|properties|estate|land|city|nyc|la"
)
_URL_RE = re.compile(
    r"(?:https?://[^\s<>\"']+|www\.[^\s<>\"']+|(?<![@\w.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:"
    + _BARE_TLDS
    + r")\b(?:/[^\s<>\"']*)?)",
    re.IGNORECASE,
)
_TRAILING_PUNCTUATION = ".,;:!?)]}'\"…"


def find_urls(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the links in `text`, without the punctuation that usually follows a link."""
    spans = []
    for match in _URL_RE.finditer(text):
        start, end = match.span()
        while end > start and text[end - 1] in _TRAILING_PUNCTUATION:
            # Keep a closing bracket that belongs to the URL itself (Wikipedia-style links).
            if text[end - 1] == ")" and text[start:end].count("(") >= text[start:end].count(")"):
                break
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def _split_urls(text: str) -> tuple[str, int]:
    """The text with its links removed, and how many links there were."""
    spans = find_urls(text)
    if not spans:
        return text, 0
    pieces, last = [], 0
    for start, end in spans:
        pieces.append(text[last:start])
        last = end
    pieces.append(text[last:])
    return "".join(pieces), len(spans)


# -- grapheme clusters (UAX #29) ----------------------------------------------------------------------

# The `regex` module's \X follows Unicode's extended grapheme cluster rules with its own, current Unicode data;
# tests/unit/test_counting_conformance.py checks it against Unicode's GraphemeBreakTest.txt.
_GRAPHEME = regex.compile(r"\X")


def graphemes(text: str) -> list[str]:
    """Extended grapheme clusters of `text`: what a reader sees as one character."""
    return [str(cluster) for cluster in _GRAPHEME.findall(text)]


def count_graphemes(text: str) -> int:
    return len(_GRAPHEME.findall(text))


# -- counters ------------------------------------------------------------------------------------------

# X counts with twitter-text's v3 configuration (https://github.com/twitter/twitter-text/blob/master/config/v3.json):
# ranges of Latin, General Punctuation and the like weigh 1, everything else 2, an emoji sequence 2 however many
# code points it has, text is NFC-normalised first and every link weighs the t.co length. twitter-text-parser ports
# it and passes its conformance suite (tests/unit/test_counting_conformance.py). The configuration is named rather
# than left to the library's default so that a new default cannot change our counts unnoticed.
_X_CONFIG: dict[str, Any] = twitter_text_config["version3"]
X_URL_LENGTH: int = _X_CONFIG["transformed_url_length"]
# A lone surrogate (possible in JSON input) cannot be encoded, and twitter-text-parser encodes to measure UTF-16.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# twitter-text's link pattern backtracks on a long host-like run such as "a.b.c.d…": its time grows with about the
# cube of the run (0.1 s for 280 characters, 140 s for 10,000), so pasted junk could stall every request that
# counts it. A real host has at most 253 characters and rarely more than a few dots, so in a run the pattern could
# read as a host that is longer than that or has more than 10 dots, the dots are counted as the plain characters
# they are (weight 1, as a comma is) and no link is looked for there.
_HOST_LIKE = re.compile(f"(?:{valid_domain_chars.pattern}|[-_.])+")
_MAX_HOST_DOTS, _MAX_HOST_LENGTH = 10, 253


def _without_host_like_runs(text: str) -> str:
    if text.count(".") <= _MAX_HOST_DOTS and len(text) <= _MAX_HOST_LENGTH:
        return text
    return _HOST_LIKE.sub(
        lambda m: m[0].replace(".", ",")
        if m[0].count(".") > _MAX_HOST_DOTS or len(m[0]) > _MAX_HOST_LENGTH
        else m[0],
        text,
    )


def count_x_weighted(text: str, *, url_length: int = X_URL_LENGTH) -> int:
    """X's weighted length: Latin 1, CJK and emoji 2, each link `url_length`."""
    options = _X_CONFIG if url_length == X_URL_LENGTH else {**_X_CONFIG, "transformed_url_length": url_length}
    # U+FFFD weighs 2, as much as anything X could make of the broken character.
    text = _without_host_like_runs(_LONE_SURROGATE.sub("\ufffd", text))
    return int(parse_tweet(text, options).weightedLength)


def count_utf16(text: str) -> int:
    return sum(2 if ord(c) > 0xFFFF else 1 for c in text)


def count_utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


# Emoji blocks: Mahjong to Symbols and Pictographs Extended-A (flags' regional indicators and skin tones included),
# then Miscellaneous Symbols and Dingbats.
_EMOJI_BLOCKS = ((0x1F000, 0x1FAFF), (0x2600, 0x27BF))
# The emoji presentation selector and the keycap mark make an emoji of what precedes them ("©️", "1️⃣").
_EMOJI_MARKS = frozenset({0xFE0F, 0x20E3})
# Emoji shown as emoji by default although they sit outside those blocks (⌚ ⌛ ⏩ ⏰ ⏳ ◽ ⬛ ⭐ ⭕ ...).
_EMOJI_PRESENTATION = frozenset(
    {0x231A, 0x231B, 0x23E9, 0x23EA, 0x23EB, 0x23EC, 0x23F0, 0x23F3, 0x25FD, 0x25FE, 0x2B1B, 0x2B1C, 0x2B50, 0x2B55}
)


def is_emoji(cluster: str) -> bool:
    """Whether a grapheme cluster is an emoji (a pictograph, a flag, a keycap, a ZWJ or skin-tone sequence)."""
    return any(
        ord(ch) in _EMOJI_MARKS
        or ord(ch) in _EMOJI_PRESENTATION
        or any(lo <= ord(ch) <= hi for lo, hi in _EMOJI_BLOCKS)
        for ch in cluster
    )


def count_chars_emoji_utf8(text: str) -> int:
    """Threads' count: characters, but an emoji weighs its UTF-8 byte length.

    Source: https://developers.facebook.com/docs/threads/posts ("Emojis are counted as the number of UTF-8 bytes").

    An emoji is the whole grapheme cluster, so a family or a flag weighs every byte of its sequence; any other
    cluster counts its code points (a decomposed "é" is 2, as Threads' server would see it), never fewer.
    """
    return sum(len(cluster.encode("utf-8")) if is_emoji(cluster) else len(cluster) for cluster in graphemes(text))


def text_length(text: str, counting: TextCounting = "chars", *, url_length: int | None = None) -> int:
    """The length a platform sees: counted its way, each link counted as `url_length` when it reserves one."""
    if counting == "x_weighted":
        return count_x_weighted(text, url_length=url_length or X_URL_LENGTH)
    links = 0
    if url_length is not None:
        text, links = _split_urls(text)
    counter = {
        "chars": len,
        "utf16": count_utf16,
        "utf8_bytes": count_utf8_bytes,
        "chars_emoji_utf8": count_chars_emoji_utf8,
        "graphemes": count_graphemes,
    }[counting]
    return counter(text) + links * (url_length or 0)


def unit_of(rules: PlatformRules) -> str:
    """What the live counter counts for `rules`: "characters" or "bytes"."""
    return _UNIT[rules.counting]


def counted_length(rules: PlatformRules, text: str) -> int:
    """The length of `text` as `rules` count it (what the live counter shows)."""
    return text_length(text, rules.counting, url_length=rules.url_length)


_UNIT = {
    "chars": "characters",
    "x_weighted": "characters",
    "utf16": "characters",
    "graphemes": "characters",
    "chars_emoji_utf8": "characters",
    "utf8_bytes": "bytes",
}


# -- validation ----------------------------------------------------------------------------------------


def _mb(size: int) -> str:
    megabytes = size / (1024 * 1024)
    return f"{megabytes:.0f} MB" if megabytes >= 10 or megabytes == int(megabytes) else f"{megabytes:.1f} MB"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _type_label(mime: str) -> str:
    return mime.split("/")[-1].upper().replace("QUICKTIME", "MOV").replace("JPEG", "JPG")


def _media_problems(rules: PlatformRules, media: tuple[MediaItem, ...], name: str) -> list[Problem]:
    problems: list[Problem] = []
    images = [m for m in media if m.kind == "image"]
    videos = [m for m in media if m.kind == "video"]
    if rules.requires_video and not videos:
        problems.append(Problem("video_required", f"{name} needs a video for every post."))
    elif rules.requires_media and not media:
        problems.append(Problem("media_required", f"{name} needs at least one photo or video; this post has none."))
    if images and rules.max_images == 0:
        problems.append(Problem("images_not_allowed", f"{name} does not accept photos in a post."))
    elif len(images) > rules.max_images:
        problems.append(
            Problem(
                "too_many_images",
                f"{name} allows {_plural(rules.max_images, 'photo')} per post; this post has {len(images)}.",
            )
        )
    if videos and rules.max_videos == 0:
        problems.append(Problem("videos_not_allowed", f"{name} does not accept videos in a post."))
    elif len(videos) > rules.max_videos:
        problems.append(
            Problem(
                "too_many_videos",
                f"{name} allows {_plural(rules.max_videos, 'video')} per post; this post has {len(videos)}.",
            )
        )
    if images and videos and not rules.mixed_media:
        problems.append(Problem("mixed_media", f"{name} cannot mix photos and videos in one post."))
    for position, item in enumerate(media, start=1):
        label = f"{'Photo' if item.kind == 'image' else 'Video'} {position}"
        allowed = rules.image_types if item.kind == "image" else rules.video_types
        if item.mime_type and item.mime_type.lower() not in allowed:
            kinds = ", ".join(_type_label(t) for t in allowed)
            problems.append(
                Problem(
                    "media_type",
                    f"{label} is {_type_label(item.mime_type)}; {name} accepts {kinds}.",
                )
            )
        limit = rules.max_image_bytes if item.kind == "image" else rules.max_video_bytes
        if limit is not None and item.size_bytes is not None and item.size_bytes > limit:
            problems.append(
                Problem(
                    "media_too_large",
                    f"{label} is {_mb(item.size_bytes)}; {name} accepts files up to {_mb(limit)}.",
                )
            )
    return problems


def validate(rules: PlatformRules, post: OutboundPost, *, platform: str = "This platform") -> list[Problem]:
    """Every reason `post` breaks `rules`; an empty list means it can be published.

    `platform` is the display name used in messages ("X allows 280 characters; this post has 301.").
    """
    problems: list[Problem] = []
    text = post.text or ""
    if not text.strip() and not post.media:
        problems.append(Problem("empty", "The post is empty: write some text or add media."))
    length = counted_length(rules, text)
    if length > rules.max_chars:
        unit = _UNIT[rules.counting]
        problems.append(
            Problem(
                "text_too_long",
                f"{platform} allows {rules.max_chars:,} {unit}; this post has {length:,}.",
            )
        )
    if rules.max_bytes is not None:
        size = count_utf8_bytes(text)
        if size > rules.max_bytes:
            problems.append(
                Problem(
                    "text_too_many_bytes",
                    f"{platform} allows {rules.max_bytes:,} bytes of text (emoji and accents take several); "
                    f"this post has {size:,}.",
                )
            )
    if rules.max_title_chars is not None and post.title and len(post.title) > rules.max_title_chars:
        problems.append(
            Problem(
                "title_too_long",
                f"{platform} allows titles of {rules.max_title_chars:,} characters; "
                f"this title has {len(post.title):,}.",
            )
        )
    problems.extend(_media_problems(rules, post.media, platform))
    return problems
