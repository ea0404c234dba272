"""What a user does in a real browser: sign in, move around, sign out."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.liveserver import LiveServer


def test_signing_in_through_the_login_form_lands_on_the_dashboard(page: Any, live: LiveServer, make_account: Any,
                                                                  sign_in: Any) -> None:
    email, password = make_account("marketing", display_name="Morgan Lee")
    sign_in(email, password)
    expect(page).to_have_url(f"{live.url}/")
    expect(page.locator("h1.page-title")).to_contain_text("Morgan")
    expect(page.locator(".kpi-card")).to_have_count(4)
    expect(page.get_by_text("Connect your first account")).to_be_visible()


def test_an_anonymous_visit_is_sent_to_sign_in_without_the_sidebar(page: Any, live: LiveServer) -> None:
    page.goto(f"{live.url}/posts/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator("input[name='email']")).to_be_visible()
    expect(page.locator("aside.sidebar")).to_have_count(0)


def test_the_sidebar_reaches_every_section(page: Any, live: LiveServer, make_account: Any, sign_in: Any) -> None:
    sign_in(*make_account("staff"))
    expect(page).to_have_url(f"{live.url}/")
    for label, path, heading in [
        ("Posts", "/posts/", "Posts"),
        ("Calendar", "/calendar/", "Calendar"),
        ("Approvals", "/approvals/", "Approvals"),
        ("Analytics", "/analytics/", "Analytics"),
        ("Dashboard", "/", "Good"),
    ]:
        page.locator("aside.sidebar").get_by_role("link", name=label, exact=True).click()
        expect(page).to_have_url(f"{live.url}{path}")
        expect(page.locator("h1.page-title")).to_contain_text(heading)
        expect(page.locator("aside.sidebar .nav-link.active")).to_contain_text(label)


def test_signing_out_from_the_user_menu_posts_with_csrf(page: Any, live: LiveServer, make_account: Any,
                                                        sign_in: Any) -> None:
    sign_in(*make_account("admin", display_name="Avery Admin"))
    expect(page).to_have_url(f"{live.url}/")
    page.locator(".user-menu-toggle").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(f"{live.url}/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_the_mobile_menu_opens_the_navigation(page: Any, live: LiveServer, make_account: Any, sign_in: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(*make_account("staff"))
    expect(page).to_have_url(f"{live.url}/")
    expect(page.locator("aside.sidebar .nav-link", has_text="Calendar")).not_to_be_visible()
    page.get_by_role("button", name="Open menu").click()
    page.locator("aside.sidebar").get_by_role("link", name="Calendar", exact=True).click()
    expect(page).to_have_url(f"{live.url}/calendar/")
