"""Security headers on every response, from one after-request hook built from the `Config`.

A small hook rather than Flask-Talisman: Talisman's last release is from 2023, it redirects to HTTPS and marks
the session cookie secure on its own (the factory already sets the cookie flags from the config, and the dev
server and the sandbox speak plain HTTP), and it has nothing for the two rules Stella needs most: `no-store` on
signed-in pages and the sandbox's origin in `img-src`.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from flask import Flask, Response, request

from stella.config import Config

# Endpoints whose answers may be cached: the same for everyone and holding nothing of the user's.
# Public files whose URL changes with their content (a version or an unguessable token per upload).
CACHEABLE_ENDPOINTS = frozenset({"static", "platform_styles", "media.public_file"})

HSTS = "max-age=31536000; includeSubDomains"

# Browser features Stella never uses, switched off for the page and anything it embeds. Only names Chromium
# and Firefox know: an unknown one is logged as a console error on every page.
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "camera", "display-capture", "geolocation", "gyroscope", "hid", "magnetometer",
    "microphone", "midi", "payment", "serial", "usb",
))


def content_security_policy(config: Config) -> str:
    """Our own scripts and styles only: no inline script, no inline style, no eval.

    `form-action` is left out on purpose: a connect form posts to Stella, which redirects to the platform's (or a
    Mastodon server's) authorization page, and Chrome applies `form-action` to that redirect too.
    """
    images = ["'self'", "data:", "https:"]  # data: Bootstrap's icons in CSS; https: platform avatars on their CDNs
    if config.sandbox_url:
        images.append(_origin(config.sandbox_url))  # the sandbox serves its avatars over plain http
    directives: Mapping[str, list[str]] = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": images,
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def security_headers(config: Config) -> dict[str, str]:
    """The headers every response carries."""
    headers = {
        "Content-Security-Policy": content_security_policy(config),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        # Full URLs stay inside Stella; other sites (a permalink's platform) learn nothing, not even our host.
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": PERMISSIONS_POLICY,
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if urlsplit(config.public_url).scheme == "https":
        headers["Strict-Transport-Security"] = HSTS
    return headers


def register_security_headers(app: Flask, config: Config) -> None:
    headers = security_headers(config)

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        if request.endpoint not in CACHEABLE_ENDPOINTS:
            # A signed-in page (a generated password, a queue of drafts) must not outlive the session in a cache.
            # Every dynamic answer gets it, signed in or not: the others (sign-in, errors) lose nothing by it, and
            # the hook never has to load the user, so it still works when the database is what failed.
            response.headers["Cache-Control"] = "no-store"
        return response


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
