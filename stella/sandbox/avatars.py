"""Profile pictures the sandbox serves itself: a square in the platform's colour with the account's initials.

The platforms' own pictures live on their CDNs, which a sandboxed Stella (offline, or in CI) cannot reach: the
stand-ins hand out `core.avatar_url(...)` instead, which points here.
"""

from __future__ import annotations

import re

from flask import Response

# What `core.avatar_url` accepts as a picture name: it is drawn into the SVG, so nothing that needs escaping.
NAME_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
COLOR_PATTERN = re.compile(r"#[0-9A-Fa-f]{6}")
FALLBACK_COLOR = "#334155"

SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200" viewBox="0 0 200 200">
<rect width="200" height="200" fill="{color}"/>
<text x="100" y="100" dy="0.35em" text-anchor="middle" fill="#ffffff" font-size="80" font-weight="700"
 font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif">{initials}</text>
</svg>
"""


def avatar_name(label: str) -> str:
    """`Harbor & Vine Realty` → `harbor-vine-realty`: a picture name for an account's label."""
    return "-".join(re.findall(r"[a-z0-9]+", label.lower())) or "account"


def initials(name: str) -> str:
    """`harbor-vine-realty` → `HV`: the first letters of the first two words."""
    return "".join(word[0] for word in name.split("-")[:2]).upper()


def avatar_svg(color: str, name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(f"avatar names are lowercase words joined by dashes, not {name!r}")
    return SVG.format(color=color if COLOR_PATTERN.fullmatch(color) else FALLBACK_COLOR, initials=initials(name))


def avatar_response(color: str, name: str) -> Response:
    response = Response(avatar_svg(color, name), mimetype="image/svg+xml")
    # Like a CDN's picture: cacheable, and inert if opened on its own (an SVG document could otherwise run script).
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
