"""Security headers on every answer, pages the Content-Security-Policy can hold to, and no server banner."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
import requests
from werkzeug.serving import make_server

import stella.providers as registry
from stella import create_app
from stella.config import CONFIG_KEY
from stella.devserver import QuietRequestHandler
from stella.models import SocialConnection
from stella.web.platform_styles import platform_stylesheet
from stella.web.security_headers import content_security_policy, security_headers
from tests.conftest import make_test_config
from tests.factories import make_post

PAGES = ["/", "/posts/", "/calendar/", "/approvals/", "/analytics/", "/connections", "/profile", "/admin/users"]


def csp(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {name: sources for name, *sources in (part.split() for part in policy.split(";"))}


def assert_security_headers(response) -> None:
    policy = csp(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
    # A connect form posts, then Stella redirects to another origin: form-action would block that in Chrome.
    assert "form-action" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]


def test_a_signed_in_page_carries_the_headers_and_is_never_stored(client, login):
    login("admin")
    response = client.get("/")
    assert response.status_code == 200
    assert_security_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_the_sign_in_page_carries_the_headers(client, db):
    response = client.get("/login")
    assert response.status_code == 200
    assert_security_headers(response)


def test_a_not_found_page_carries_the_headers(client, login):
    login("staff")
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert_security_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_the_health_check_carries_the_headers(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert_security_headers(response)


def test_an_htmx_fragment_for_a_signed_out_visitor_carries_the_headers(client, db):
    response = client.post("/admin/users/00000000-0000-0000-0000-000000000001/role", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")
    assert_security_headers(response)


@pytest.mark.parametrize("path", PAGES)
def test_every_signed_in_page_is_never_stored(client, login, path):
    login("admin")
    response = client.get(path, follow_redirects=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_keep_normal_caching(client, login):
    login("admin")
    response = client.get("/static/css/stella.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_no_hsts_over_plain_http(client, db):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers


def test_hsts_when_the_public_url_is_https(database_url, tmp_path):
    config = make_test_config(database_url, tmp_path).with_overrides(public_url="https://stella.example.com")
    app = create_app(config)
    response = app.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" in security_headers(config)


def test_images_may_come_from_platform_cdns_and_the_sandbox(app):
    config = app.extensions[CONFIG_KEY]
    without = content_security_policy(config)
    assert "img-src 'self' data: https:;" in without
    with_sandbox = content_security_policy(config.with_overrides(sandbox_url="http://127.0.0.1:5055"))
    assert "img-src 'self' data: https: http://127.0.0.1:5055;" in with_sandbox


def test_the_dev_server_sends_no_version_banner(app):
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        response = requests.get(f"http://127.0.0.1:{server.server_port}/healthz", timeout=5)
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert response.status_code == 200
    assert response.headers["Server"] == "Stella"
    assert "Werkzeug" not in str(response.headers) and "Python" not in str(response.headers)


# -- pages the policy can hold to ---------------------------------------------------------------------------


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<[^>]+\sstyle\s*=|<style", re.I)


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_script_handler_or_style(client, login, path):
    user = login("admin")
    now = datetime.now(UTC)
    make_post(user, status="scheduled", scheduled_at=now + timedelta(hours=2),
              platforms=["x", "instagram", "mastodon"])
    make_post(user, status="published", posted_at=now - timedelta(days=1), scheduled_at=now - timedelta(days=1))
    body = client.get(path, follow_redirects=True).get_data(as_text=True)
    assert not INLINE_SCRIPT.findall(body)
    assert not INLINE_HANDLER.findall(body)
    assert not INLINE_STYLE.findall(body)
    assert 'name="htmx-config"' in body and '"includeIndicatorStyles": false' in body


def test_the_generated_password_page_copies_without_an_inline_handler(client, login):
    login("admin")
    response = client.post("/admin/users/new", data={"email": "new.person@example.com", "role": "staff",
                                                      "display_name": "New Person"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="generated-password"' in body, body[:2000]
    assert 'data-copy-target="generated-password"' in body and "onclick" not in body
    assert response.headers["Cache-Control"] == "no-store"


def test_the_connections_page_draws_colours_and_progress_without_style_attributes(client, login, db):
    user = login("marketing")
    db.session.add(SocialConnection(user_id=user.id, provider="x", status="connected"))
    db.session.flush()
    body = client.get("/connections").get_data(as_text=True)
    assert re.search(r'<progress class="connection-progress[^"]*" value="1" max="\d+"', body)
    assert 'class="card h-100 connection-card status-connected platform-x"' in body


# -- the platforms stylesheet -------------------------------------------------------------------------------


def test_the_platforms_stylesheet_gives_each_platform_its_colour(client, db):
    response = client.get("/platforms.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    css = response.get_data(as_text=True)
    for cls in registry.PROVIDER_CLASSES:
        assert f".platform-{cls.name} {{ --platform-color: {cls.color}; }}" in css
    assert response.headers["Cache-Control"].startswith("public")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_every_page_links_the_versioned_stylesheet_and_it_can_be_cached_for_long(client, login):
    login("staff")
    body = client.get("/").get_data(as_text=True)
    link = re.search(r'<link rel="stylesheet" href="(/platforms\.css\?v=[0-9a-f]+)">', body)
    assert link, "platforms.css is not linked"
    response = client.get(link.group(1))
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert client.get(link.group(1), headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_a_chip_names_its_platform_class_instead_of_an_inline_colour(client, login):
    user = login("staff")
    make_post(user, platforms=["bluesky"])
    body = client.get("/posts/").get_data(as_text=True)
    assert re.search(r'class="platform-chip[^"]*platform-bluesky"', body)


def test_a_registry_colour_that_is_not_a_colour_fails_at_start_up():
    broken = type("Broken", (registry.PROVIDER_CLASSES[0],), {"color": "red; } body { display: none"})
    with pytest.raises(ValueError, match="color"):
        platform_stylesheet([broken])
