"""The sandbox's platform stand-ins: an explicit tuple, one module per platform."""

from __future__ import annotations

from stella.sandbox.platforms import instagram
from stella.sandbox.platforms import facebook
from stella.sandbox.platforms import linkedin
from stella.sandbox.platforms import x
from stella.sandbox.platforms import tiktok
from stella.sandbox.platforms import youtube
from stella.sandbox.platforms import threads
from stella.sandbox.platforms import pinterest
from stella.sandbox.platforms import bluesky
from stella.sandbox.platforms import mastodon
from stella.sandbox.platforms import google_business

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
