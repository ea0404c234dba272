"""The sandbox's platform stand-ins: an explicit tuple, one module per platform."""

from __future__ import annotations

from stella.sandbox.platforms import (
    bluesky,
    facebook,
    google_business,
    instagram,
    linkedin,
    mastodon,
    pinterest,
    threads,
    tiktok,
    x,
    youtube,
)

SANDBOX_PLATFORMS = (
    instagram.PLATFORM,
    facebook.PLATFORM,
    linkedin.PLATFORM,
    x.PLATFORM,
    tiktok.PLATFORM,
    youtube.PLATFORM,
    threads.PLATFORM,
    pinterest.PLATFORM,
    bluesky.PLATFORM,
    mastodon.PLATFORM,
    google_business.PLATFORM,
)
