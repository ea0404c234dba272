"""Stella driven against a running platform sandbox: shared fixtures, a browser-like connect helper, and the
sandbox clock that publishing waits on (publishing itself is `stella.services.publishing`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask

from stella.config import CONFIG_KEY
from stella.providers.http import HttpClient
from stella.services.platforms import HTTP_CLIENT_KEY

SANDBOX_MASTODON = "https://mastodon.example"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    """The platform sandbox served on a loopback port (its registered redirect URIs point at the test app)."""
    from stella.sandbox.core import SandboxSettings, create_sandbox_app
    from stella.sandbox.server import serve_in_thread

    sandbox_app = create_sandbox_app(sandbox_settings=SandboxSettings(stella_public_url="http://127.0.0.1:5000"))
    running = serve_in_thread(sandbox_app)
    try:
        yield running.url
    finally:
        running.stop()


@pytest.fixture()
def sandboxed(app: Flask, sandbox: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Stella in sandbox mode: no client credentials, every request and redirect routed to the sandbox."""
    config = app.extensions[CONFIG_KEY]
    monkeypatch.setitem(app.extensions, CONFIG_KEY,
                        config.with_overrides(sandbox_url=sandbox, provider_credentials={}))
    monkeypatch.setitem(app.extensions, HTTP_CLIENT_KEY, HttpClient(sandbox_url=sandbox, allow_private_hosts=True))
    return sandbox


def connect_through_sandbox(client: Any, name: str) -> list[str]:
    """Drive connect → consent (Allow) → callback → (pick the first target) like a browser; returns the
    secrets seen on the way (authorization codes) so callers can look for them elsewhere."""
    seen: list[str] = []
    if name == "bluesky":
        from stella.sandbox.platforms.bluesky import DEMO

        response = client.post("/connections/bluesky/connect", data={
            "handle": DEMO["handle"], "app_password": DEMO["app_password"], "service": "https://bsky.social"})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        return [str(DEMO["app_password"])]
    query = {"instance": SANDBOX_MASTODON} if name == "mastodon" else {}
    response = client.post(f"/connections/{name}/connect", data=query)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    consent_url = response.headers["Location"]
    page = requests.get(consent_url, timeout=10)
    assert page.status_code == 200, page.text[:2000]
    decision = requests.post(consent_url, data={"decision": "allow"}, allow_redirects=False, timeout=10)
    assert decision.status_code in (302, 303), decision.text[:2000]
    back = urlsplit(decision.headers["Location"])
    assert back.path == f"/connections/{name}/callback", decision.headers["Location"]
    seen += parse_qs(back.query).get("code", [])
    response = client.get(back.path, query_string=back.query)
    assert response.status_code == 302
    if response.headers["Location"].endswith(f"/connections/{name}/select"):
        page_html = client.get(f"/connections/{name}/select").get_data(as_text=True)
        choices = re.findall(r'name="target" value="([^"]+)"', page_html)
        assert choices, page_html[:2000]
        response = client.post(f"/connections/{name}/select", data={"target": choices[0]})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return seen


def sandbox_clock(sandbox_url: str) -> Callable[[float], None]:
    """Move the running sandbox's clock (processing delays, expiry) instead of sleeping."""

    def advance(seconds: float) -> None:
        requests.post(f"{sandbox_url}/_sandbox/clock", json={"advance_seconds": seconds}, timeout=5)

    return advance
