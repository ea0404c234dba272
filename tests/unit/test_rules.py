"""The one validate() and its text counters."""

from __future__ import annotations

import time

import pytest

from stella.providers.base import MediaItem, OutboundPost, PlatformRules
from stella.providers.linkedin import LinkedInProvider
from stella.providers.rules import (
    Problem,
    count_chars_emoji_utf8,
    count_graphemes,
    count_utf8_bytes,
    count_utf16,
    count_x_weighted,
    counted_length,
    find_urls,
    is_emoji,
    text_length,
    validate,
)
from stella.providers.threads import ThreadsProvider
from stella.providers.tiktok import TikTokProvider
from stella.providers.x import XProvider
from stella.sandbox.platforms.threads import text_length as sandbox_threads_length

FAMILY = "\U0001F468\u200D\U0001F469\u200D\U0001F467"  # man ZWJ woman ZWJ girl
THUMBS_MEDIUM = "\U0001F44D\U0001F3FD"  # thumbs up + skin tone
FLAG_FR = "\U0001F1EB\U0001F1F7"
KEYCAP_ONE = "1\uFE0F\u20E3"
E_ACUTE_DECOMPOSED = "e\u0301"


def image(mime: str = "image/jpeg", size: int | None = 1000) -> MediaItem:
    return MediaItem(url="https://cdn.example.com/p.jpg", kind="image", mime_type=mime, size_bytes=size)


def video(mime: str = "video/mp4", size: int | None = 1000) -> MediaItem:
    return MediaItem(url="https://cdn.example.com/v.mp4", kind="video", mime_type=mime, size_bytes=size)


def codes(problems: list[Problem]) -> list[str]:
    return [p.code for p in problems]


# -- graphemes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("abc", 3),
        (E_ACUTE_DECOMPOSED, 1),
        (FAMILY, 1),
        (THUMBS_MEDIUM, 1),
        (FLAG_FR, 1),
        (FLAG_FR + FLAG_FR, 2),
        ("\U0001F1EB\U0001F1F7\U0001F1EB", 2),  # a lone regional indicator after a flag is its own cluster
        (KEYCAP_ONE, 1),
        ("\u2764\uFE0F", 1),  # heart + variation selector
        ("\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F", 1),  # England tag flag
        ("\r\n", 1),
        ("\u1100\u1161\u11A8", 1),  # Hangul jamo L V T
        ("a\u200Db", 2),  # ZWJ between letters does not join them
        ("\u0915\u094D\u0937", 1),  # Devanagari KSSA: a conjunct is one cluster since Unicode 15.1 (rule GB9c)
        ("\U0001F9D1\u200D\U0001F9D1\u200D\U0001F9D2", 1),  # a family emoji newer than Unicode 15.0
    ],
)
def test_graphemes_count_user_perceived_characters(text: str, expected: int) -> None:
    assert count_graphemes(text) == expected


def test_utf16_counts_astral_characters_as_two_units() -> None:
    assert count_utf16("a\U0001F600") == 3
    assert count_utf16("é") == 1


def test_utf8_bytes_counts_encoded_length() -> None:
    assert count_utf8_bytes("aé\U0001F600") == 1 + 2 + 4


# -- Threads: characters, emoji by their UTF-8 length ---------------------------------------------------

THREADS_CASES = [
    ("", 0),
    ("Café à vendre", 13),  # accented letters count 1, not their 2 UTF-8 bytes
    ("你好", 2),
    ("\U00020000", 1),  # a CJK Extension B ideograph is astral but no emoji
    ("°C and ©", 8),  # symbols that are not emoji count 1
    (E_ACUTE_DECOMPOSED, 2),  # each code point of a non-emoji cluster counts
    ("\U0001F3E1", 4),
    ("a\U0001F3E1b", 6),
    ("\u2600", 3),  # a Miscellaneous Symbols emoji: 3 bytes
    ("\u2B50", 3),  # default emoji presentation outside the emoji blocks
    ("\u00A9\uFE0F", 5),  # © made an emoji by the presentation selector weighs 2 + 3 bytes
    (FAMILY, 18),  # the whole ZWJ sequence weighs its bytes
    (THUMBS_MEDIUM, 8),
    (FLAG_FR, 8),
    (KEYCAP_ONE, 7),
]


@pytest.mark.parametrize(("text", "expected"), THREADS_CASES)
def test_threads_counts_characters_and_emoji_as_their_utf8_length(text: str, expected: int) -> None:
    assert count_chars_emoji_utf8(text) == expected
    assert text_length(text, "chars_emoji_utf8") == expected


@pytest.mark.parametrize(("text", "_expected"), THREADS_CASES)
def test_threads_sandbox_counts_exactly_like_the_composer(text: str, _expected: int) -> None:
    assert sandbox_threads_length(text) == counted_length(ThreadsProvider.rules, text)


def test_is_emoji_tells_emoji_from_letters_and_plain_symbols() -> None:
    assert all(is_emoji(c) for c in ("\U0001F600", FAMILY, FLAG_FR, KEYCAP_ONE, "\u2764\uFE0F", "\u231A"))
    assert not any(is_emoji(c) for c in ("a", "é", "你", "\u00A9", "\u00B0", "\u2122", "\U00020000"))


def test_threads_limit_accepts_500_accented_letters_and_refuses_126_emoji() -> None:
    rules = ThreadsProvider.rules
    assert validate(rules, OutboundPost(text="é" * 500), platform="Threads") == []
    problems = validate(rules, OutboundPost(text="\U0001F3E1" * 126), platform="Threads")
    assert [p.message for p in problems] == ["Threads allows 500 characters; this post has 504."]


# -- X weighted counting ---------------------------------------------------------------------------------


def test_x_weighted_counts_latin_as_one_and_cjk_as_two() -> None:
    assert count_x_weighted("hello") == 5
    assert count_x_weighted("你好") == 4


def test_x_weighted_counts_any_emoji_sequence_as_two() -> None:
    assert count_x_weighted(FAMILY) == 2
    assert count_x_weighted(THUMBS_MEDIUM) == 2
    assert count_x_weighted(FLAG_FR) == 2
    assert count_x_weighted("\U0001F600") == 2


def test_x_weighted_counts_every_url_as_23() -> None:
    long_url = "https://harborvine.example.com/listings/2024/lakeside-cottage-with-dock?ref=x"
    assert count_x_weighted(f"See {long_url}") == 4 + 23
    assert count_x_weighted("Visit harborvine.com today") == len("Visit ") + 23 + len(" today")
    assert count_x_weighted("http://a.co") == 23


def test_x_weighted_honours_another_link_length() -> None:
    assert count_x_weighted("Hi http://test.co", url_length=30) == 3 + 30


def test_x_weighted_survives_a_lone_surrogate() -> None:
    # JSON can carry one ("\ud800"); it weighs 2, as U+FFFD does, rather than breaking the counter.
    assert count_x_weighted("a\ud800b") == 4


def test_x_weighted_stays_fast_on_host_like_junk() -> None:
    # twitter-text's link pattern alone takes about 30 s on this; its dots are counted as plain characters instead.
    started = time.perf_counter()
    assert count_x_weighted("a." * 2000) == 4000
    assert count_x_weighted(("a-" * 15 + "a.") * 8 + " x") == 256 + 2
    assert time.perf_counter() - started < 5


def test_x_weighted_still_counts_long_real_links_as_23() -> None:
    maps = (
        "https://www.google.com/maps/place/Harbor+%26+Vine+Realty/@40.7127753,-74.0059728,17z/data="
        + "!3m1!4b1!4m6!3m5!1s0x89c25a316e5b7c5d:0x2c5b8c5e4a6b7c8d!8m2!3d40.7127753!4d-74.0059728" * 8
    )
    assert count_x_weighted(f"Tour {maps} today") == len("Tour ") + 23 + len(" today")
    slug = "https://harborvine.example.com/listings/" + "lakeside-cottage-" * 20 + "v1.2.3.final.html"
    assert count_x_weighted(slug) == 23


def test_x_weighted_normalises_to_nfc_first() -> None:
    assert count_x_weighted(E_ACUTE_DECOMPOSED) == 1


def test_x_weighted_light_punctuation_ranges_weigh_one() -> None:
    assert count_x_weighted("\u2014\u201C") == 2  # em dash and curly quote are in the light ranges
    assert count_x_weighted("\u2026") == 2  # the ellipsis is not


def test_url_spans_leave_trailing_punctuation_out() -> None:
    text = "Tour it (https://hv.example.com/a), today."
    spans = find_urls(text)
    assert [text[s:e] for s, e in spans] == ["https://hv.example.com/a"]


def test_url_reservation_applies_to_other_countings() -> None:
    assert text_length("go https://example.com/very/long/path", "chars", url_length=23) == 3 + 23
    assert text_length("go https://example.com/very/long/path", "chars") == 37


# -- validate: text --------------------------------------------------------------------------------------


def test_x_over_limit_gets_a_plain_message() -> None:
    problems = validate(XProvider.rules, OutboundPost(text="a" * 301), platform="X")
    assert problems == [Problem("text_too_long", "X allows 280 characters; this post has 301.")]


def test_x_at_exactly_the_limit_is_fine() -> None:
    assert validate(XProvider.rules, OutboundPost(text="a" * 280), platform="X") == []


def test_x_url_makes_a_post_fit_that_raw_length_would_not() -> None:
    text = "a" * 250 + " https://example.com/" + "p" * 60
    assert len(text) > 280
    assert counted_length(XProvider.rules, text) == 250 + 1 + 23
    assert validate(XProvider.rules, OutboundPost(text=text), platform="X") == []


def test_bluesky_style_rules_count_emoji_sequences_as_one_grapheme() -> None:
    rules = PlatformRules(max_chars=300, counting="graphemes", max_bytes=3000)
    text = FAMILY * 150  # 150 graphemes, 2,700 bytes, 750 code points
    assert len(text) > 300
    assert validate(rules, OutboundPost(text=text), platform="Bluesky") == []


def test_bluesky_style_rules_report_the_byte_limit() -> None:
    rules = PlatformRules(max_chars=300, counting="graphemes", max_bytes=3000)
    problems = validate(rules, OutboundPost(text=FAMILY * 200), platform="Bluesky")
    assert codes(problems) == ["text_too_many_bytes"]
    assert "3,000 bytes" in problems[0].message and "3,600" in problems[0].message
    problems = validate(rules, OutboundPost(text="a" * 301), platform="Bluesky")
    assert codes(problems) == ["text_too_long"]


def test_utf8_byte_counting_names_bytes() -> None:
    rules = PlatformRules(max_chars=10, counting="utf8_bytes")
    problems = validate(rules, OutboundPost(text="ééééééé"), platform="YouTube")
    assert problems[0].message == "YouTube allows 10 bytes; this post has 14."


def test_tiktok_counts_utf16_units() -> None:
    rules = TikTokProvider.rules
    text = "\U0001F600" * 1101  # 2202 UTF-16 units
    problems = validate(rules, OutboundPost(text=text, media=(video(),)), platform="TikTok")
    assert codes(problems) == ["text_too_long"]
    assert "2,202" in problems[0].message


def test_empty_post_without_media_is_refused() -> None:
    assert codes(validate(LinkedInProvider.rules, OutboundPost(text="  "), platform="LinkedIn")) == ["empty"]


def test_title_limit() -> None:
    post = OutboundPost(text="Open house", title="t" * 91, media=(image(),))
    problems = validate(TikTokProvider.rules, post, platform="TikTok")
    assert codes(problems) == ["title_too_long"]


# -- validate: media -------------------------------------------------------------------------------------


def test_tiktok_requires_media() -> None:
    problems = validate(TikTokProvider.rules, OutboundPost(text="Just listed!"), platform="TikTok")
    assert problems == [Problem("media_required", "TikTok needs at least one photo or video; this post has none.")]


def test_requires_video() -> None:
    rules = PlatformRules(max_chars=100, requires_video=True, max_images=1, max_videos=1)
    problems = validate(rules, OutboundPost(text="x", media=(image(),)), platform="YouTube")
    assert codes(problems) == ["video_required"]


def test_too_many_images() -> None:
    post = OutboundPost(text="Gallery", media=tuple(image() for _ in range(5)))
    problems = validate(XProvider.rules, post, platform="X")
    assert problems == [Problem("too_many_images", "X allows 4 photos per post; this post has 5.")]


def test_too_many_videos_and_mixing() -> None:
    post = OutboundPost(text="Tour", media=(video(), video(), image()))
    assert codes(validate(XProvider.rules, post, platform="X")) == ["too_many_videos", "mixed_media"]


def test_media_not_accepted_at_all() -> None:
    rules = PlatformRules(max_chars=100)
    post = OutboundPost(text="x", media=(image(), video()))
    assert codes(validate(rules, post, platform="Text-only")) == [
        "images_not_allowed", "videos_not_allowed", "mixed_media",
    ]


def test_wrong_media_type() -> None:
    post = OutboundPost(text="x", media=(image("image/png"),))
    problems = validate(TikTokProvider.rules, post, platform="TikTok")
    assert problems == [Problem("media_type", "Photo 1 is PNG; TikTok accepts JPG, WEBP.")]


def test_media_too_large() -> None:
    post = OutboundPost(text="x", media=(image(size=6 * 1024 * 1024),))
    problems = validate(XProvider.rules, post, platform="X")
    assert problems == [Problem("media_too_large", "Photo 1 is 6 MB; X accepts files up to 5 MB.")]


def test_unknown_sizes_and_types_are_not_guessed() -> None:
    post = OutboundPost(text="x", media=(MediaItem(url="https://e.com/a", kind="image"),))
    assert validate(XProvider.rules, post, platform="X") == []


def test_default_platform_name_in_messages() -> None:
    problems = validate(PlatformRules(max_chars=5), OutboundPost(text="123456"))
    assert problems[0].message == "This platform allows 5 characters; this post has 6."
