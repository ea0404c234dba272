"""The composer in a real browser, as a marketer uses it: accounts connected through the sandbox, one post for X,
Bluesky and LinkedIn with an X variant and a photo, counters turning red and green while typing, scheduled for
tomorrow 09:00 in Europe/Berlin, found in the list at that time and edited; then a 3-part thread and an Instagram
carousel. No CSP violation or console error on the way. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from stella.config import PROJECT_ROOT
from stella.extensions import db
from stella.models import SocialPost, User
from tests.browser.liveserver import LiveServer, live_server
from tests.browser.test_connect_journey import JOURNEY, connect, open_connections

SHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
BERLIN = ZoneInfo("Europe/Berlin")
LONG_TEXT = (
    "Just listed on Maple Ridge: a 4-bed colonial with a chef's kitchen, a sunlit family room, a half-acre lot "
    "backing onto the nature reserve and a brand-new roof. Walk to the elementary school, the farmers market and "
    "the train into the city. Open house Saturday 11–2, coffee from Rosie's Bakery. Details: harborvine.com/maple"
)
SHORT_TEXT = "Just listed: a 4-bed colonial on Maple Ridge. Open house Saturday 11–2! #OpenHouse harborvine.com/maple"
RILEYS_TEXT = "Just listed on Maple Ridge, and the price improved! Open house Saturday 11–2. harborvine.com/maple"
X_VARIANT = "Just listed on Maple Ridge 🏡 4 beds, half-acre lot. Open house Sat 11–2. harborvine.com/maple"

# A refused save answers its page with 422 (409 for a stale edit), which Chromium logs as a failed load.
REFUSED = re.compile(r"status of (422|409)")
# Runs before any page script: what the Content-Security-Policy refuses, including what never reaches the console.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A Stella and sandbox of this module's own: the accounts and posts made here stay out of other journeys."""
    with live_server(tmp_path_factory.mktemp("live-compose")) as server:
        yield server


@pytest.fixture()
def watched(page: Any, live: LiveServer) -> Iterator[Any]:
    """The page, failing the test afterwards on any CSP violation, console error or script error in Stella (the
    sandbox's consent pages are the platforms' business)."""
    problems: list[str] = []
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text} @ {page.url}")
            if message.type == "error" and page.url.startswith(live.url) and not REFUSED.search(message.text)
            else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error} @ {page.url}"))
    page.context.add_init_script(RECORD_VIOLATIONS)
    yield page
    if not page.is_closed() and page.url.startswith("http"):
        problems += [f"CSP: {v} @ {page.url}" for v in page.evaluate("window.__cspViolations || []")]
    assert not problems, "\n".join(problems)


def photo(path: Path, colour: tuple[int, int, int], label: str) -> Path:
    """A 1200 by 900 JPEG that looks like a listing photo at thumbnail size."""
    image = Image.new("RGB", (1200, 900), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 560, 1200, 900), fill=tuple(max(0, c - 60) for c in colour))
    draw.polygon([(300, 560), (600, 300), (900, 560)], fill=(250, 250, 245))
    draw.rectangle((380, 560, 820, 800), fill=(245, 242, 235))
    draw.rectangle((560, 660, 640, 800), fill=(120, 80, 60))
    draw.text((40, 40), label, fill=(255, 255, 255))
    image.save(path, "JPEG", quality=85)
    return path


def shot(target: Any, name: str) -> None:
    """A full page from its top (so the sticky bars sit where they belong), or one element."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    if hasattr(target, "goto"):
        target.evaluate("window.scrollTo(0, 0)")
        target.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    else:
        target.screenshot(path=str(SHOTS / f"{name}.png"))


def marketer_in_berlin(live: LiveServer, make_account: Any, sign_in: Any, name: str) -> str:
    email, password = make_account("marketing", display_name=name)
    with live.app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        assert user is not None
        user.timezone = "Europe/Berlin"
        db.session.commit()
    sign_in(email, password)
    return email


def connect_through_the_sandbox(page: Any, live: LiveServer, *names: str) -> None:
    open_connections(page, live)
    for name in names:
        connect(page, live, name, JOURNEY[name])


def counter(page: Any, platform: str) -> Any:
    return page.get_by_test_id(f"counter-{platform}")


def tick(page: Any, platform: str) -> None:
    page.get_by_test_id(f"account-{platform}").click()
    expect(page.get_by_test_id(f"account-{platform}").locator("input")).to_be_checked()


def tomorrow_in_berlin() -> datetime:
    day = datetime.now(BERLIN).date() + timedelta(days=1)
    return datetime.combine(day, time(9, 0), tzinfo=BERLIN)


def test_a_marketer_composes_schedules_finds_and_edits_a_post(watched: Any, live: LiveServer, make_account: Any,
                                                              sign_in: Any, tmp_path: Path) -> None:
    page = watched
    marketer_in_berlin(live, make_account, sign_in, "Morgan Lee")
    connect_through_the_sandbox(page, live, "x", "bluesky", "linkedin")

    page.locator("aside.sidebar").get_by_role("link", name="New post").click()
    expect(page).to_have_url(f"{live.url}/posts/new")
    expect(page.locator("h1.page-title")).to_have_text("New post")
    expect(page.get_by_test_id("zone")).to_contain_text("Europe/Berlin")
    expect(page.get_by_test_id("connect-instagram")).to_be_visible()
    shot(page, "composer-empty")

    for name in ("x", "bluesky", "linkedin"):
        tick(page, name)
    text = page.locator("#post-text")
    text.fill(SHORT_TEXT)
    for name in ("x", "bluesky", "linkedin"):
        expect(counter(page, name)).to_have_attribute("data-state", "ok")
    # Typing on: X and Bluesky go red past their limits, LinkedIn stays green.
    text.fill(LONG_TEXT[:-60])
    text.press_sequentially(LONG_TEXT[-60:], delay=5)
    expect(counter(page, "x")).to_have_attribute("data-state", "over")
    expect(counter(page, "bluesky")).to_have_attribute("data-state", "over")
    expect(counter(page, "linkedin")).to_have_attribute("data-state", "ok")
    expect(page.get_by_test_id("problems-x")).to_be_visible()
    expect(page.locator("#checks-summary")).to_contain_text("need attention")
    shot(page, "composer-errors")
    # LinkedIn cuts the caption in its feed.
    expect(page.get_by_test_id("preview-linkedin").locator(".preview-more")).to_have_text("see more")

    # Scheduling now is refused, and the page says why at each platform; nothing typed is lost.
    when = tomorrow_in_berlin()
    page.locator("#date").fill(when.date().isoformat())
    page.locator("#time").fill("09:00")
    page.get_by_test_id("schedule").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("Not scheduled: X, Bluesky would not accept this post")
    expect(page.get_by_test_id("check-x")).to_have_attribute("data-ok", "false")
    expect(text).to_have_value(LONG_TEXT)
    expect(page.get_by_test_id("account-linkedin").locator("input")).to_be_checked()
    shot(page, "composer-refused")

    # A shorter variant for X turns its counter green again; Bluesky is fixed by shortening the text.
    page.get_by_test_id("variant-x").locator("summary").click()
    page.get_by_test_id("variant-x").locator("textarea").fill(X_VARIANT)
    expect(counter(page, "x")).to_have_attribute("data-state", "ok")
    expect(page.get_by_test_id("preview-x")).to_contain_text("🏡 4 beds")
    text.press("Control+End")
    for _ in range(120):
        text.press("Backspace")
    expect(counter(page, "bluesky")).to_have_attribute("data-state", "ok")

    # A photo through the file picker, with its alt text.
    page.locator("[data-media-input]").set_input_files(str(photo(tmp_path / "maple-ridge.jpg", (86, 132, 170),
                                                                 "Maple Ridge")))
    item = page.locator("#media-list .media-item")
    expect(item).to_have_count(1)
    item.locator("textarea[name=alt_text]").fill("A white colonial house with a green lawn under a blue sky")
    expect(page.get_by_test_id("preview-bluesky").locator(".preview-media img")).to_be_visible()
    expect(page.locator("#checks-summary")).to_contain_text("All 3 platforms are ready")
    page.locator("#campaign").fill("Maple Ridge launch")
    shot(page, "composer-filled")
    shot(page.locator(".composer-side"), "composer-previews")

    expect(page.locator("#time")).to_have_value("09:00")
    page.get_by_test_id("schedule").click()

    expect(page).to_have_url(f"{live.url}/posts/")
    expect(page.locator(".alert", has_text="The post is scheduled.")).to_be_visible()
    row = page.locator("tr", has_text="Just listed on Maple Ridge")
    expect(row).to_contain_text("9:00 AM")
    expect(row).to_contain_text(f"{when:%b} {when.day}")
    shot(page, "posts-list-after-compose")
    with live.app.app_context():
        post = db.session.scalar(db.select(SocialPost).where(SocialPost.campaign == "Maple Ridge launch"))
        assert post is not None and post.status == "scheduled"
        assert post.scheduled_at == when.astimezone(UTC)
        assert {t.platform: t.content for t in post.targets}["x"] == X_VARIANT
        assert [m.alt_text for m in post.media] == ["A white colonial house with a green lawn under a blue sky"]

    # Edit it: from the list to the post, then Edit; the composer comes back as it was saved.
    row.locator("a.post-link").click()
    page.get_by_role("link", name="Edit").click()
    expect(page).to_have_url(re.compile(r"/posts/[0-9a-f-]+/edit$"))
    expect(page.locator("#time")).to_have_value("09:00")
    expect(page.get_by_test_id("variant-x").locator("textarea")).to_have_value(X_VARIANT)
    expect(page.locator("#media-list .media-item")).to_have_count(1)
    shot(page, "composer-edit")

    # Meanwhile a teammate saves the post: this edit is refused, both versions are shown, nothing is overwritten.
    with live.app.app_context():
        saved = db.session.get(SocialPost, post.id)
        assert saved is not None
        saved.content = RILEYS_TEXT
        db.session.commit()
    page.locator("#time").fill("10:30")
    page.get_by_test_id("schedule").click()
    expect(page.get_by_test_id("stale-compare")).to_be_visible()
    expect(page.get_by_test_id("stale-saved")).to_contain_text("price improved")
    expect(page.get_by_test_id("stale-yours")).to_contain_text("Walk to the elementary school")
    shot(page, "composer-stale")
    page.get_by_test_id("keep-saved").click()
    expect(page.locator("#post-text")).to_have_value(RILEYS_TEXT)
    page.locator("#time").fill("10:30")
    page.get_by_test_id("schedule").click()
    expect(page).to_have_url(f"{live.url}/posts/")
    expect(page.locator("tr", has_text="price improved")).to_contain_text("10:30 AM")


def test_a_marketer_builds_a_three_part_thread_and_an_instagram_carousel(watched: Any, live: LiveServer,
                                                                          make_account: Any, sign_in: Any,
                                                                          tmp_path: Path) -> None:
    page = watched
    marketer_in_berlin(live, make_account, sign_in, "Riley Park")
    connect_through_the_sandbox(page, live, "x", "bluesky", "instagram")

    page.goto(f"{live.url}/posts/new")
    tick(page, "x")
    tick(page, "bluesky")
    page.locator("#post-text").fill("Three things to know before you buy this spring 🧵")
    page.get_by_role("button", name="Make it a thread").click()
    page.locator("textarea[name=thread_part]").nth(0).fill("3. Mortgage rates dipped again this week.")
    page.get_by_role("button", name="Add another part").click()
    page.locator("textarea[name=thread_part]").nth(1).fill("2. Inventory is up 12% on last spring.")
    # Reorder: the second extra part moves up, so the thread reads 1, 2, 3.
    page.locator("[data-thread-part]").nth(1).get_by_role("button", name="Move this part up").click()
    page.get_by_role("button", name="Add another part").click()
    page.locator("textarea[name=thread_part]").nth(2).fill("Ask us for the full market report.")
    expect(page.locator("[data-thread-part] [data-part-number]")).to_have_text(["2", "3", "4"])
    page.locator("[data-thread-part]").nth(2).get_by_role("button", name="Remove this part").click()
    expect(page.locator("textarea[name=thread_part]")).to_have_count(2)
    expect(page.locator("textarea[name=thread_part]").nth(0)).to_have_value("2. Inventory is up 12% on last spring.")
    expect(page.get_by_test_id("preview-x").locator(".preview-thread-part")).to_have_count(2)
    expect(page.get_by_test_id("check-x").locator(".part-counters li")).to_have_count(3)
    shot(page.locator(".composer-side"), "composer-thread-previews")
    page.get_by_test_id("save-draft").click()
    expect(page.locator(".alert", has_text="The draft is saved.")).to_be_visible()
    with live.app.app_context():
        thread = db.session.scalar(db.select(SocialPost).where(SocialPost.content.like("Three things%")))
        assert thread is not None and thread.thread_parts == [
            "2. Inventory is up 12% on last spring.", "3. Mortgage rates dipped again this week."]

    # An Instagram carousel: the format, two photos, reordered.
    page.goto(f"{live.url}/posts/new")
    tick(page, "instagram")
    expect(page.get_by_test_id("options-instagram")).to_be_visible()
    page.get_by_test_id("options-instagram").get_by_text("Carousel", exact=True).click()
    page.locator("#post-text").fill("Inside 12 Elm Street: swipe through the kitchen and the garden. #JustListed")
    page.locator("[data-media-input]").set_input_files([
        str(photo(tmp_path / "kitchen.jpg", (176, 140, 98), "Kitchen")),
        str(photo(tmp_path / "garden.jpg", (92, 150, 90), "Garden")),
    ])
    expect(page.locator("#media-list .media-item")).to_have_count(2)
    page.locator("#media-list .media-item").nth(1).get_by_role("button", name="Move earlier").click()
    expect(page.locator("#media-list .media-name").nth(0)).to_have_text("garden.jpg")
    preview = page.get_by_test_id("preview-instagram")
    expect(preview.locator(".preview-media-count")).to_have_text("1/2")
    expect(preview).to_contain_text("Carousel")
    shot(page, "composer-carousel")
    page.get_by_test_id("save-draft").click()
    expect(page.locator(".alert", has_text="The draft is saved.")).to_be_visible()
    with live.app.app_context():
        carousel = db.session.scalar(db.select(SocialPost).where(SocialPost.content.like("Inside 12 Elm%")))
        assert carousel is not None
        assert carousel.targets[0].options.get("format") == "carousel"
        assert len(carousel.media) == 2
