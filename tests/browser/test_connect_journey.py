"""Steps 2–3 in a real browser: a marketing user connects all 11 platforms through the running sandbox.

Every click is one a person makes: Connect on Stella, Allow (or Deny) on the platform's consent page, then, where
the login reaches several accounts, pick one and confirm. Mastodon asks for a server first; Bluesky is a form.
Connect is a button that posts the CSRF token; a link to the connect URL only shows a page asking first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

import stella.providers as registry
from stella.sandbox.platforms.bluesky import DEMO as BLUESKY_DEMO
from stella.sandbox.platforms.mastodon import DEMO_ACCOUNT as MASTODON_DEMO
from stella.sandbox.platforms.mastodon import DEMO_INSTANCE
from tests.browser.liveserver import LiveServer, live_server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A Stella and sandbox of this module's own: the dashboard counts the team's connections, so the accounts
    connected here must not show up in other modules' journeys (which expect a team with none)."""
    with live_server(tmp_path_factory.mktemp("live-connect")) as server:
        yield server


@dataclass(frozen=True)
class Step:
    """How one platform connects in the sandbox, and what its card then shows."""

    pick: str | None  # the target to choose on the pick step; None = the platform has no pick step here
    shows: str  # text the Connected card must show (the account's handle or the chosen target's name)


# The sandbox's demo accounts (stella/sandbox/platforms/*.py). Instagram and YouTube logins reach one business
# account / channel there, and LinkedIn's default (member-only) scopes reach just the member, so Stella connects
# those without asking; Facebook, Pinterest and Google Business offer several and we pick one that is not the first.
JOURNEY: dict[str, Step] = {
    "instagram": Step(pick=None, shows="@harborvine.realty"),
    "facebook": Step(pick="Harbor & Vine Property Management", shows="@harborvinepm"),
    "linkedin": Step(pick=None, shows="Maya Chen"),
    "x": Step(pick=None, shows="@harborvine"),
    "tiktok": Step(pick=None, shows="@harborvinerealty"),
    "youtube": Step(pick=None, shows="@harborvinerealty"),
    "threads": Step(pick=None, shows="@harborvine.realty"),
    "pinterest": Step(pick="Home Staging Ideas", shows="Home Staging Ideas"),
    "bluesky": Step(pick=None, shows=f"@{BLUESKY_DEMO['handle']}"),
    "mastodon": Step(pick=None, shows=f"@{MASTODON_DEMO['username']}@{DEMO_INSTANCE}"),
    "google_business": Step(pick="Harbor & Vine Realty — Beacon Hill", shows="Harbor & Vine Realty — Beacon Hill"),
}


def card(page: Any, name: str) -> Any:
    return page.locator(f"#platform-{name}")


def open_connections(page: Any, live: LiveServer) -> None:
    page.locator("aside.sidebar").get_by_role("link", name="Connections", exact=True).click()
    expect(page).to_have_url(f"{live.url}/connections")
    expect(page.locator("h1.page-title")).to_have_text("Connections")


def consent(page: Any, live: LiveServer, name: str, decision: str) -> None:
    """On the sandbox's consent page for `name`, click Allow or Deny."""
    assert live.sandbox_url
    expect(page).to_have_url(re.compile("^" + re.escape(live.sandbox_url) + "/"))
    display_name = registry.provider_class(name).display_name
    expect(page.get_by_text("wants to access your")).to_contain_text(display_name)
    page.get_by_role("button", name=decision, exact=True).click()


def connect(page: Any, live: LiveServer, name: str, step: Step) -> None:
    """Connect one platform from the Connections page, as a person would, and land back on that page."""
    display_name = registry.provider_class(name).display_name
    card(page, name).get_by_test_id("connect").click()
    if name == "bluesky":
        expect(page.locator("h1.page-title")).to_have_text("Connect Bluesky")
        page.get_by_label("Handle").fill(str(BLUESKY_DEMO["handle"]))
        page.get_by_label("App password").fill(str(BLUESKY_DEMO["app_password"]))
        page.locator("main form").get_by_role("button", name="Connect").click()
    else:
        if name == "mastodon":
            expect(page.locator("h1.page-title")).to_have_text("Connect Mastodon")
            page.get_by_label("Your server").fill(DEMO_INSTANCE)
            page.get_by_role("button", name="Continue").click()
        consent(page, live, name, "Allow")
        if step.pick is not None:
            expect(page).to_have_url(re.compile(rf"/connections/{name}/select"))
            expect(page.locator("h1.page-title")).to_have_text("Choose where to publish")
            option = page.get_by_role("radio", name=re.compile(re.escape(step.pick)))
            option.check()
            expect(option).to_be_checked()
            page.get_by_role("button", name="Use this account").click()
    # Back at the top of the page (no jump to the card), so the message saying what happened is in view. The
    # browser keeps the fragment Meta adds to its redirects (Facebook `#_=_`, Threads `#_`); it names no element.
    expect(page).to_have_url(re.compile(rf"^{re.escape(live.url)}/connections(#_(=_)?)?$"))
    expect(page.locator(".alert", has_text=f"{display_name} connected as")).to_be_in_viewport()
    expect(card(page, name).get_by_test_id("status")).to_have_text("Connected")
    expect(card(page, name)).to_contain_text(step.shows)


def test_a_marketing_user_connects_all_eleven_platforms_through_the_sandbox(
    page: Any, live: LiveServer, make_account: Any, sign_in: Any
) -> None:
    assert set(JOURNEY) == {cls.name for cls in registry.PROVIDER_CLASSES}, "a platform is missing from JOURNEY"
    sign_in(*make_account("marketing", display_name="Morgan Lee"))
    expect(page).to_have_url(f"{live.url}/")
    open_connections(page, live)
    expect(page.locator(".connection-card")).to_have_count(len(JOURNEY))
    expect(page.locator('.connection-card[data-status="disconnected"]')).to_have_count(len(JOURNEY))

    for name, step in JOURNEY.items():
        connect(page, live, name, step)

    # A fresh load: every card says Connected, with the account it publishes to, and offers Disconnect.
    page.goto(f"{live.url}/connections")
    expect(page.locator('.connection-card[data-status="connected"]')).to_have_count(len(JOURNEY))
    for name, step in JOURNEY.items():
        expect(card(page, name).get_by_test_id("status")).to_have_text("Connected")
        expect(card(page, name)).to_contain_text(step.shows)
        expect(card(page, name).get_by_test_id("disconnect")).to_be_visible()
        expect(card(page, name).get_by_test_id("connect")).to_have_count(0)
    # A card reached from a link (#platform-…) keeps its title clear of the sticky top bar.
    page.goto(f"{live.url}/connections#platform-google_business")
    title = card(page, "google_business").locator("h2").bounding_box()
    topbar = page.locator("header.topbar").bounding_box()
    assert title and topbar and title["y"] >= topbar["y"] + topbar["height"]
    # The dashboard no longer invites a first connection.
    page.locator("aside.sidebar").get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.get_by_text("Connect your first account")).to_have_count(0)


def test_denying_on_the_consent_page_says_so_and_leaves_the_platform_unconnected(
    page: Any, live: LiveServer, make_account: Any, sign_in: Any
) -> None:
    sign_in(*make_account("marketing"))
    expect(page).to_have_url(f"{live.url}/")
    open_connections(page, live)
    card(page, "linkedin").get_by_test_id("connect").click()
    consent(page, live, "linkedin", "Deny")

    expect(page).to_have_url(f"{live.url}/connections")
    expect(page.locator(".alert", has_text="You declined access on LinkedIn")).to_be_in_viewport()
    expect(card(page, "linkedin").get_by_test_id("status")).to_have_text("Not connected")
    expect(card(page, "linkedin").get_by_test_id("connect")).to_be_visible()
    expect(card(page, "linkedin").get_by_test_id("disconnect")).to_have_count(0)
    page.reload()
    expect(card(page, "linkedin")).to_have_attribute("data-status", "disconnected")

    # Declining once changes nothing for the next try: Allow now connects.
    connect(page, live, "linkedin", JOURNEY["linkedin"])


def connected_to_x(page: Any, live: LiveServer, make_account: Any, sign_in: Any) -> None:
    """A new marketing user who has just connected X, on the Connections page."""
    sign_in(*make_account("marketing"))
    expect(page).to_have_url(f"{live.url}/")
    open_connections(page, live)
    connect(page, live, "x", JOURNEY["x"])


def test_a_link_to_reconnect_asks_first_and_says_what_it_replaces(
    page: Any, live: LiveServer, make_account: Any, sign_in: Any
) -> None:
    connected_to_x(page, live, make_account, sign_in)

    # What the Reconnect link in the banner (or any link) leads to: a page that changes nothing by itself.
    page.goto(f"{live.url}/connections/x/connect")
    expect(page.locator("h1.page-title")).to_have_text("Reconnect X")
    expect(page.get_by_test_id("replaces")).to_contain_text(JOURNEY["x"].shows)
    page.get_by_role("link", name="Cancel").click()
    expect(card(page, "x").get_by_test_id("status")).to_have_text("Connected")

    page.goto(f"{live.url}/connections/x/connect")
    page.get_by_test_id("continue").click()
    consent(page, live, "x", "Allow")
    expect(page).to_have_url(f"{live.url}/connections")
    expect(page.locator(".alert", has_text="X connected as")).to_be_in_viewport()
    expect(card(page, "x").get_by_test_id("status")).to_have_text("Connected")


def test_disconnect_asks_first_then_returns_the_card_to_not_connected(
    page: Any, live: LiveServer, make_account: Any, sign_in: Any
) -> None:
    connected_to_x(page, live, make_account, sign_in)

    # Dismissing the confirmation keeps the connection.
    page.once("dialog", lambda dialog: dialog.dismiss())
    card(page, "x").get_by_test_id("disconnect").click()
    expect(card(page, "x").get_by_test_id("status")).to_have_text("Connected")

    prompts: list[str] = []

    def accept(dialog: Any) -> None:
        prompts.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    card(page, "x").get_by_test_id("disconnect").click()
    expect(card(page, "x").get_by_test_id("status")).to_have_text("Not connected")
    expect(card(page, "x")).to_contain_text("X was disconnected")
    expect(card(page, "x")).not_to_contain_text(JOURNEY["x"].shows)
    expect(card(page, "x").get_by_test_id("connect")).to_be_visible()
    assert prompts and "Disconnect X?" in prompts[0]
    page.reload()
    expect(card(page, "x")).to_have_attribute("data-status", "disconnected")


def test_bad_input_on_the_bluesky_and_mastodon_forms_explains_and_keeps_what_was_typed(
    page: Any, live: LiveServer, make_account: Any, sign_in: Any
) -> None:
    sign_in(*make_account("marketing"))
    expect(page).to_have_url(f"{live.url}/")
    page.goto(f"{live.url}/connections/bluesky/connect")
    page.get_by_label("Handle").fill(str(BLUESKY_DEMO["handle"]))
    page.get_by_label("App password").fill("wrong-wrong-wrong-wrong")
    page.locator("main form").get_by_role("button", name="Connect").click()
    expect(page.locator("main")).to_contain_text(re.compile(r"password", re.I))
    expect(page.get_by_label("Handle")).to_have_value(str(BLUESKY_DEMO["handle"]))
    expect(page.get_by_label("App password")).to_have_value("")  # never echoed back

    page.goto(f"{live.url}/connections/mastodon/connect")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("main")).to_contain_text("Type the address of your server")
    page.goto(f"{live.url}/connections")
    expect(card(page, "bluesky")).to_have_attribute("data-status", "disconnected")
    expect(card(page, "mastodon")).to_have_attribute("data-status", "disconnected")


def test_the_sandbox_badge_on_the_dashboard_opens_the_sandbox_index(
    page: Any, live: LiveServer, make_account: Any, sign_in: Any
) -> None:
    sign_in(*make_account("staff"))
    expect(page).to_have_url(f"{live.url}/")
    badge = page.locator("header.topbar a.sandbox-badge")
    expect(badge).to_contain_text("Sandbox — posts go to the built-in test platforms")
    expect(badge).to_have_attribute("href", f"{live.sandbox_url}/")
    badge.click()
    expect(page).to_have_url(f"{live.sandbox_url}/")
    expect(page.locator("h1")).to_have_text("Stella sandbox")
    for cls in registry.PROVIDER_CLASSES:
        expect(page.locator("section.card h2", has_text=cls.display_name).first).to_be_visible()
