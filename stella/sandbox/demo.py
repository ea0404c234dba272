"""Demo media for publishing to the sandbox: the least each platform accepts (tests, benchmarks, screenshots)."""

from __future__ import annotations

from stella.providers.base import MediaItem, PlatformRules

# Small but well-formed enough for the sandbox's checks (JPEG markers, an MP4 `ftyp` box).
DEMO_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 2048 + b"\xff\xd9"
DEMO_MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 4096


def demo_media(rules: PlatformRules) -> tuple[MediaItem, ...]:
    """A video for video platforms, a photo where text alone is refused, nothing otherwise."""
    if rules.requires_video:
        return (MediaItem(url="https://media.harborvine.example/tour.mp4", kind="video", mime_type="video/mp4",
                          size_bytes=len(DEMO_MP4), data=DEMO_MP4),)
    if rules.requires_media:
        return (MediaItem(url="https://media.harborvine.example/porch.jpg", kind="image", mime_type="image/jpeg",
                          size_bytes=len(DEMO_JPEG), alt_text="Front porch", data=DEMO_JPEG),)
    return ()
