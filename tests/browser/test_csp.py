"""Every main page under the real Content-Security-Policy in Chromium: no violation, no console error.

The policy allows no inline script or style, so anything left inline (a `style=` attribute, an `onclick`, htmx's
indicator <style>) shows up here as a violation; a broken avatar or a missing file shows up as a console error.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from stella.extensions import db
from stella.models import SocialAccountToken, SocialAnalytics, SocialConnection, SocialPost, User
from tests.browser.liveserver import LiveServer, live_server

PAGES = ["/", "/posts/", "/calendar/", "/approvals/", "/analytics/", "/connections", "/profile", "/admin/users",
         "/admin/users/new"]

# Runs before any page script; the listener sees what CSP refuses, including what never reaches the console.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " @ "
                              + event.sourceFile + ":" + event.lineNumber);
});
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A Stella and sandbox of this module's own: the posts and connections seeded here must not show up in other
    modules' journeys (which expect an empty team)."""
    with live_server(tmp_path_factory.mktemp("live-csp")) as server:
        yield server


def seed(live: LiveServer, email: str) -> None:
    """Posts on every page (chips, calendar icons, a chart) and a connection whose avatar the sandbox serves."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with live.app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        assert user is not None
        connection = SocialConnection(user_id=user.id, provider="x", status="connected", connected_at=now)
        connection.tokens = SocialAccountToken(
            access_token="not-a-real-token", account_handle="harborvine", display_name="Harbor & Vine Realty",
            profile_image_url=f"{live.sandbox_url}/_sandbox/avatars/x/harbor-vine-realty.svg",
        )
        db.session.add(connection)
        db.session.add(SocialConnection(user_id=user.id, provider="tiktok", status="error", connected_at=now))
        for n, (status, platforms) in enumerate([
            ("scheduled", ["x", "instagram", "linkedin"]),
            ("published", ["facebook", "bluesky"]),
            ("draft", ["mastodon"]),
        ]):
            when = now + timedelta(days=1 - n)
            post = SocialPost(content=f"Open house number {n} on Elm Street", platforms=platforms, status=status,
                              scheduled_at=when, posted_at=when if status == "published" else None,
                              created_by=user.id, owner_id=user.id, approval_required=status == "draft",
                              approval_status="pending" if status == "draft" else None)
            db.session.add(post)
            db.session.flush()
            if status == "published":
                for platform in platforms:
                    db.session.add(SocialAnalytics(post_id=post.id, platform=platform,
                                                   platform_post_id=f"csp-{platform}", impressions=1200,
                                                   engagement=90, likes=60, comments=5, shares=3, fetched_at=now))
        db.session.commit()


def test_the_main_pages_raise_no_csp_violation_or_console_error(page: Any, live: LiveServer, make_account: Any,
                                                                 sign_in: Any) -> None:
    problems: list[str] = []
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text} @ {page.url}")
            if message.type == "error" or "Content Security Policy" in message.text else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error} @ {page.url}"))
    page.context.add_init_script(RECORD_VIOLATIONS)

    email, password = make_account("admin", display_name="Casey Csp")
    seed(live, email)
    sign_in(email, password)
    expect(page).to_have_url(f"{live.url}/")
    headers = page.request.get(f"{live.url}/").headers
    assert "script-src 'self'" in headers["content-security-policy"]

    for path in ["/login", *PAGES]:
        page.goto(f"{live.url}{path}")
        page.wait_for_load_state("networkidle")
        problems += [f"violation: {v}" for v in page.evaluate("window.__cspViolations || []")]
        if path == "/":
            # Bootstrap's dropdown (Popper positions it through element.style, which the policy allows).
            page.locator(".user-menu-toggle").click()
            expect(page.locator(".sidebar-footer .dropdown-menu")).to_be_visible()
            problems += [f"violation: {v}" for v in page.evaluate("window.__cspViolations || []")]
        if path == "/connections":
            avatar = page.locator("img.account-avatar").first
            avatar.scroll_into_view_if_needed()
            expect(avatar).to_have_attribute("src", f"{live.sandbox_url}/_sandbox/avatars/x/harbor-vine-realty.svg")
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=avatar.element_handle())
        if path == "/analytics/":
            assert page.locator("canvas#platform-chart").count() == 1

    assert not problems, "\n".join(problems)
