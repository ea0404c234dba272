"""Platform providers and their registry.

`PROVIDER_CLASSES` is the explicit registry: one class per platform, `name` equal to the stored provider id.
"""

from __future__ import annotations

from stella.providers.base import Provider
from stella.providers.bluesky import BlueskyProvider
from stella.providers.facebook import FacebookProvider
from stella.providers.google_business import GoogleBusinessProvider
from stella.providers.instagram import InstagramProvider
from stella.providers.linkedin import LinkedInProvider
from stella.providers.mastodon import MastodonProvider
from stella.providers.pinterest import PinterestProvider
from stella.providers.threads import ThreadsProvider
from stella.providers.tiktok import TikTokProvider
from stella.providers.x import XProvider
from stella.providers.youtube import YouTubeProvider

PROVIDER_CLASSES: tuple[type[Provider], ...] = (
    InstagramProvider,
    FacebookProvider,
    LinkedInProvider,
    XProvider,
    TikTokProvider,
    YouTubeProvider,
    ThreadsProvider,
    PinterestProvider,
    BlueskyProvider,
    MastodonProvider,
    GoogleBusinessProvider,
)

PROVIDERS_BY_NAME: dict[str, type[Provider]] = {cls.name: cls for cls in PROVIDER_CLASSES}


def provider_class(name: str) -> type[Provider]:
    """The provider class for a stored provider id; KeyError for an unknown one.

    Looked up in PROVIDERS_BY_NAME at call time, so a test that swaps an entry (tests/fake_providers.py) is seen
    everywhere, including by `stella.services.platforms`, which re-exports this function.
    """
    return PROVIDERS_BY_NAME[name]
