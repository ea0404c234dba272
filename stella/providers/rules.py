"""The one pure check of a post against a platform's rules, and the text counters behind it.

The composer, the live counter and the publisher all call `validate()`; each platform declares its
`PlatformRules` on its provider class. Nothing here does I/O, so it is cheap to run on every keystroke.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

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


# -- grapheme clusters (UAX #29, approximated without a dependency) -----------------------------------

_ZWJ = 0x200D
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)
_SKIN_TONES = range(0x1F3FB, 0x1F400)


def _is_extend(cp: int) -> bool:
    """Code points that attach to the previous one: combining marks, variation selectors, ZWJ, tags, tones."""
    if cp == _ZWJ or 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF or 0xE0020 <= cp <= 0xE007F:
        return True
    if cp in _SKIN_TONES:
        return True
    return unicodedata.category(chr(cp)) in ("Mn", "Me", "Mc")


def _is_pictographic(cp: int) -> bool:
    """Roughly Unicode's Extended_Pictographic: what may follow a ZWJ inside one emoji."""
    return (
        0x1F000 <= cp <= 0x1FAFF
        or 0x2600 <= cp <= 0x27BF
        or 0x2300 <= cp <= 0x23FF
        or 0x2B00 <= cp <= 0x2BFF
        or cp in (0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, 0x3030, 0x303D, 0x3297, 0x3299)
        or unicodedata.category(chr(cp)) == "So"
    )


def _hangul_kind(cp: int) -> str | None:
    if 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97F:
        return "L"
    if 0x1160 <= cp <= 0x11A7 or 0xD7B0 <= cp <= 0xD7C6:
        return "V"
    if 0x11A8 <= cp <= 0x11FF or 0xD7CB <= cp <= 0xD7FB:
        return "T"
    if 0xAC00 <= cp <= 0xD7A3:
        return "LV" if (cp - 0xAC00) % 28 == 0 else "LVT"
    return None


def _joins(prev: int, cp: int, cluster: list[int], ri_run: int) -> bool:
    """Whether `cp` continues the cluster that ends with `prev` (the grapheme break rules, simplified)."""
    if prev == 0x0D and cp == 0x0A:  # GB3: CR LF
        return True
    if prev in (0x0A, 0x0D) or cp in (0x0A, 0x0D):  # GB4/GB5
        return False
    hp, hc = _hangul_kind(prev), _hangul_kind(cp)
    if hp == "L" and hc in ("L", "V", "LV", "LVT"):  # GB6
        return True
    if hp in ("LV", "V") and hc in ("V", "T"):  # GB7
        return True
    if hp in ("LVT", "T") and hc == "T":  # GB8
        return True
    if _is_extend(cp):  # GB9/GB9a
        return True
    if prev == _ZWJ and _is_pictographic(cp) and any(_is_pictographic(c) for c in cluster):  # GB11
        return True
    if prev in _REGIONAL_INDICATORS and cp in _REGIONAL_INDICATORS:  # GB12/13: flags pair up
        return ri_run % 2 == 1
    return False


def graphemes(text: str) -> Iterator[str]:
    """Extended grapheme clusters of `text`: what a reader sees as one character."""
    cluster: list[int] = []
    ri_run = 0
    for ch in text:
        cp = ord(ch)
        if cluster and _joins(cluster[-1], cp, cluster, ri_run):
            cluster.append(cp)
        else:
            if cluster:
                yield "".join(map(chr, cluster))
            cluster = [cp]
            ri_run = 0
        ri_run = ri_run + 1 if cp in _REGIONAL_INDICATORS else 0
    if cluster:
        yield "".join(map(chr, cluster))


def count_graphemes(text: str) -> int:
    return sum(1 for _ in graphemes(text))


# -- counters ------------------------------------------------------------------------------------------

# X's counting-characters rules (twitter-text config v3): these ranges weigh 1, everything else 2; an emoji
# sequence weighs 2 however many code points it has; text is NFC-normalised first; every URL weighs 23.
_X_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
X_URL_LENGTH = 23


def _x_weight(cp: int) -> int:
    return 1 if any(lo <= cp <= hi for lo, hi in _X_LIGHT_RANGES) else 2


def _is_emoji_cluster(cluster: str) -> bool:
    cps = [ord(c) for c in cluster]
    if any(cp in _REGIONAL_INDICATORS or cp in _SKIN_TONES or cp == 0xFE0F for cp in cps):
        return True
    return any(cp >= 0x1F000 and _is_pictographic(cp) for cp in cps) or (
        len(cps) > 1 and _is_pictographic(cps[0]) and cps[0] > 0x2000
    )


def count_x_weighted(text: str, *, url_length: int = X_URL_LENGTH) -> int:
    """X's weighted length: Latin 1, CJK and emoji 2, each link `url_length`."""
    rest, links = _split_urls(unicodedata.normalize("NFC", text))
    total = links * url_length
    for cluster in graphemes(rest):
        if _is_emoji_cluster(cluster):
            total += 2
        else:
            total += sum(_x_weight(ord(c)) for c in cluster)
    return total


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
    """Threads' count (meta-linkedin-x-tiktok.md §3.3): characters, but an emoji weighs its UTF-8 byte length.

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
