"""Platform providers and their registry.

`PROVIDER_CLASSES` is the explicit registry: one class per platform, `name` equal to the stored provider id.
"""

from __future__ import annotations

from stella.providers.base import Provider

# Filled in as each platform module lands; tests check it matches stella.platforms.PLATFORMS.
PROVIDER_CLASSES: tuple[type[Provider], ...] = ()


def provider_class(name: str) -> type[Provider]:
    for cls in PROVIDER_CLASSES:
        if cls.name == name:
            return cls
    raise KeyError(name)
