"""`/platforms.css`: each platform's brand colour as a class, generated from the provider registry.

Templates write `class="platform-x"` instead of `style="--platform-color: …"`, so the Content-Security-Policy
can keep `style-src 'self'` (no inline styles). The stylesheet is the same for everyone: public and cacheable,
its URL versioned by its content.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from flask import Flask, Response, request

from stella.providers import PROVIDER_CLASSES
from stella.providers.base import Provider

NAME_PATTERN = re.compile(r"[a-z0-9_]+")
COLOR_PATTERN = re.compile(r"#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})")


def platform_stylesheet(providers: Iterable[type[Provider]] = PROVIDER_CLASSES) -> str:
    """One rule per platform: `.platform-<name> { --platform-color: <color>; }`."""
    rules = ["/* Generated from stella.providers.PROVIDER_CLASSES: each platform's brand colour. */"]
    for cls in providers:
        # Both go into CSS unescaped: a registry typo must fail at start-up, never reach a page.
        if not NAME_PATTERN.fullmatch(cls.name) or not COLOR_PATTERN.fullmatch(cls.color):
            raise ValueError(f"provider {cls.name!r}: a lowercase name and a #rgb/#rrggbb color, not {cls.color!r}")
        rules.append(f".platform-{cls.name} {{ --platform-color: {cls.color}; }}")
    return "\n".join(rules) + "\n"


def register_platform_styles(app: Flask) -> None:
    css = platform_stylesheet()
    version = hashlib.sha256(css.encode()).hexdigest()[:12]

    @app.get("/platforms.css", endpoint="platform_styles")
    def platform_styles() -> Response:
        response = Response(css, mimetype="text/css")
        response.set_etag(version)
        # Its URL carries the version (see `platform_styles_version`), so a new registry is a new URL.
        response.cache_control.public = True
        response.cache_control.max_age = 31_536_000 if request.args.get("v") == version else 3600
        response.make_conditional(request)  # 304 when the browser already has this version
        return response

    @app.context_processor
    def platform_styles_version() -> dict[str, Any]:
        # base.html links `url_for('platform_styles', v=platform_styles_version)`.
        return {"platform_styles_version": version}
