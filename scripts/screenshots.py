"""Screenshot every page of Stella into test-artifacts/screenshots/ (for design review).

    .venv/bin/python scripts/screenshots.py                 # every page
    .venv/bin/python scripts/screenshots.py connections     # only the connection journey (quicker)

Starts the app and the platform sandbox like the browser-test fixture (fresh SQLite, CSRF on), signs in through
the login form as an admin, shoots the empty states first, then seeds a realistic month of demo posts, connections
and metrics and shoots every page at 1366x900, plus the dashboard at phone size (390x844).

Then a marketing user connects platforms through the running sandbox exactly as a person would, and the connection
pages are shot along the way: Connections empty, the sandbox consent page, the pick-a-target step, the Mastodon
server form (blank and with an error), the Bluesky form, Connections partly connected with one card in error,
Connections fully connected, and the sandbox index after a few posts were published to it; last, Connections on
an install with neither sandbox nor platform credentials (setup help on every card).
Needs Debian's chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import logging
import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import requests  # noqa: E402
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

import stella.providers as registry  # noqa: E402
from stella.extensions import db  # noqa: E402
from stella.models import SocialAnalytics, SocialConnection, SocialPost, User  # noqa: E402
from stella.models.types import now_utc  # noqa: E402
from stella.providers.base import OutboundPost  # noqa: E402
from stella.sandbox.demo import demo_media  # noqa: E402
from stella.sandbox.platforms.bluesky import DEMO as BLUESKY_DEMO  # noqa: E402
from stella.sandbox.platforms.mastodon import DEMO_INSTANCE  # noqa: E402
from stella.services.connections import get_connection  # noqa: E402
from stella.services.publishing import publish_until_done  # noqa: E402
from stella.services.tokens import refresh_connection  # noqa: E402
from stella.services.users import create_user  # noqa: E402
from tests.browser.liveserver import CHROMIUM, CHROMIUM_ARGS, LiveServer, live_server  # noqa: E402
from tests.sandbox_support import sandbox_clock  # noqa: E402

OUT = PROJECT_ROOT / "test-artifacts" / "screenshots"
ADMIN_EMAIL = "avery@stella-realestate.example"
MARKETER_EMAIL = "morgan@stella-realestate.example"
PASSWORD = "screenshots-password-42"
UTC = UTC

DEMO_POSTS: list[tuple[str, list[str], str]] = [
    ("Just listed: 4-bed colonial on Maple Ridge with a chef's kitchen and a half-acre lot. Tour it Saturday 11–2.",
     ["instagram", "facebook"], "Spring Listings"),
    ("Market update: median days on market dropped to 18 this month. Here is what that means for sellers.",
     ["linkedin", "x"], "Market Insights"),
    ("Open house this Sunday at 12 Elm Street. Coffee and pastries from Rosie's Bakery!",
     ["facebook", "instagram", "google_business"], "Open Houses"),
    ("Meet our newest agent, Priya Shah — 10 years helping first-time buyers find their footing.",
     ["linkedin", "facebook"], "Team Spotlight"),
    ("60-second walkthrough of the Harbor View penthouse. Floor-to-ceiling glass, wraparound terrace.",
     ["tiktok", "youtube", "instagram"], "Luxury Collection"),
    ("5 things to fix before you list (and 3 you should leave alone).",
     ["pinterest", "threads", "bluesky"], "Seller Tips"),
    ("Price improvement on 88 Lakeview Drive — now $649,000. Dock, boathouse, sunsets included.",
     ["facebook", "x", "mastodon"], "Spring Listings"),
    ("Thank you to everyone who came to our community clean-up day in Riverside Park!",
     ["instagram", "facebook", "threads"], "Community"),
    ("Mortgage rates ticked down this week. Talk to our partner lenders about locking in.",
     ["linkedin", "x", "bluesky"], "Market Insights"),
    ("Sold in 6 days, 4% over asking. Congratulations to the Nguyen family!",
     ["instagram", "facebook", "linkedin"], "Just Sold"),
]


def seed_demo(live: LiveServer) -> None:
    """A month of believable activity around today, owned by a few teammates."""
    rng = random.Random(7)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with live.app.app_context():
        admin = db.session.scalar(db.select(User).where(User.email == ADMIN_EMAIL))
        assert admin is not None
        team = [admin] + [
            create_user(email=email, role=role, display_name=name, password=PASSWORD).user
            for email, role, name in [
                ("jordan@stella-realestate.example", "marketing", "Jordan Patel"),
                ("casey@stella-realestate.example", "marketing", "Casey Morgan"),
                ("riley@stella-realestate.example", "approver", "Riley Chen"),
            ]
        ]
        for provider, status in [("instagram", "connected"), ("facebook", "connected"), ("linkedin", "connected"),
                                 ("x", "connected"), ("youtube", "connected"), ("tiktok", "error")]:
            db.session.add(SocialConnection(user_id=admin.id, provider=provider, status=status,
                                            connected_at=now - timedelta(days=20)))

        for n in range(34):
            content, platforms, campaign = DEMO_POSTS[n % len(DEMO_POSTS)]
            owner = team[n % len(team)]
            offset = timedelta(days=rng.randint(-24, 20), hours=rng.choice([9, 11, 13, 15, 17]) - now.hour)
            when = now + offset
            if when < now - timedelta(hours=2):
                status = "failed" if n % 11 == 5 else "published"
            else:
                status = rng.choice(["scheduled", "scheduled", "scheduled", "queued", "draft"])
            post = SocialPost(
                content=content, platforms=platforms, campaign=campaign, status=status,
                scheduled_at=None if status == "draft" and n % 2 else when,
                posted_at=when + timedelta(minutes=1) if status == "published" else None,
                created_by=owner.id, owner_id=owner.id,
                approval_required=n % 4 == 0,
                approval_status=("pending" if status in ("draft", "scheduled") else "approved") if n % 4 == 0 else None,
                failure_reason="Instagram rejected the media: the image aspect ratio is outside 4:5 to 1.91:1."
                if status == "failed" else None,
                notes="Check the price with the listing agent before approving." if n % 8 == 0 else None,
                media_urls=["https://example.com/media/listing.jpg"] if "instagram" in platforms else None,
            )
            db.session.add(post)
            db.session.flush()
            if status == "published":
                for platform in platforms:
                    impressions = rng.randint(400, 9000)
                    db.session.add(SocialAnalytics(
                        post_id=post.id, platform=platform, platform_post_id=f"demo-{n}-{platform}",
                        impressions=impressions, engagement=int(impressions * rng.uniform(0.02, 0.09)),
                        likes=int(impressions * rng.uniform(0.01, 0.05)), comments=rng.randint(0, 40),
                        shares=rng.randint(0, 25), fetched_at=now - timedelta(hours=rng.randint(1, 12)),
                    ))
        db.session.commit()


def shoot(page: Page, url: str | None, name: str) -> None:
    """Screenshot `url` (None: the page as it is now) into OUT/<name>.png."""
    if url is not None:
        page.goto(url)
    page.wait_for_load_state("networkidle")
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"  {path.relative_to(PROJECT_ROOT)}")


# -- the connection journey -------------------------------------------------------------------------------

# Which target to pick where the sandbox login reaches several (stella/sandbox/platforms/*.py). LinkedIn is not
# here: with its default member scopes it connects the signed-in member directly, with no pick step.
PICKS = {
    "facebook": "Harbor & Vine Realty",
    "pinterest": "Waterfront Listings",
    "google_business": "Harbor & Vine Realty — Waterfront Office",
}
PUBLISHED = {
    "x": "Just listed: 4-bed colonial on Maple Ridge. Open house Saturday 11–2. #justlisted",
    "linkedin": "Market update: median days on market dropped to 18 this month. What it means for sellers.",
    "facebook": "Open house this Sunday at 12 Elm Street. Coffee and pastries from Rosie's Bakery!",
    "mastodon": "Price improvement on 88 Lakeview Drive: now $649,000. Dock, boathouse, sunsets included.",
    "bluesky": "5 things to fix before you list (and 3 you should leave alone).",
    "threads": "Sold in 6 days, 4% over asking. Congratulations to the Nguyen family!",
    "instagram": "Harbor View penthouse: floor-to-ceiling glass, wraparound terrace. #luxuryhomes",
}


def connect_in_browser(page: Page, live: LiveServer, name: str, *, shots: dict[str, str] | None = None) -> None:
    """Connect `name` from the Connections page, the way a person does; `shots` names screenshots to take on
    the way ('consent', 'pick', 'form')."""
    shots = shots or {}
    page.goto(f"{live.url}/connections")
    page.locator(f"#platform-{name} [data-testid=connect]").click()
    page.wait_for_load_state()
    if name == "bluesky":
        if "form" in shots:
            shoot(page, None, shots["form"])
        page.get_by_label("Handle").fill(str(BLUESKY_DEMO["handle"]))
        page.get_by_label("App password").fill(str(BLUESKY_DEMO["app_password"]))
        page.locator("main form").get_by_role("button", name="Connect").click()
        page.wait_for_url(f"{live.url}/connections*")
        return
    if name == "mastodon":
        if "form" in shots:
            shoot(page, None, shots["form"])
        if "form_error" in shots:
            page.get_by_role("button", name="Continue").click()
            shoot(page, None, shots["form_error"])
        page.get_by_label("Your server").fill(DEMO_INSTANCE)
        page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{live.sandbox_url}/**")
    if "consent" in shots:
        shoot(page, None, shots["consent"])
    page.get_by_role("button", name="Allow", exact=True).click()
    page.wait_for_url(f"{live.url}/connections**")
    if "/select" in page.url:
        if "pick" in shots:
            shoot(page, None, shots["pick"])
        page.get_by_role("radio", name=PICKS[name]).check()
        page.get_by_role("button", name="Use this account").click()
        page.wait_for_url(f"{live.url}/connections")


def break_connection(live: LiveServer, user_email: str, name: str) -> None:
    """Make one connection fail the way it does in real life: the platform refuses to renew Stella's access."""
    assert live.sandbox_url
    requests.post(f"{live.sandbox_url}/_sandbox/faults", timeout=5,
                  json={"kind": "rejection", "platform": name, "reason": "refresh token revoked", "count": 1})
    with live.app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == user_email))
        assert user is not None
        connection = get_connection(user, name)
        assert connection is not None
        refresh_connection(connection, now=now_utc())
        db.session.commit()
    requests.delete(f"{live.sandbox_url}/_sandbox/faults", timeout=5)


def publish_samples(live: LiveServer, user_email: str) -> None:
    """Publish a few posts straight through the providers, so the sandbox index has something to show."""
    assert live.sandbox_url
    with live.app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == user_email))
        assert user is not None
        for name, text in PUBLISHED.items():
            connection = get_connection(user, name)
            if connection is None or connection.status != "connected":
                continue
            media = demo_media(registry.provider_class(name).rules)
            post = OutboundPost(text=text, media=media, idempotency_key=f"screenshots-{name}")
            publish_until_done(connection, post, sandbox_clock(live.sandbox_url))
        db.session.commit()


def shoot_connection_journey(browser: Browser, live: LiveServer) -> None:
    with live.app.app_context():
        create_user(email=MARKETER_EMAIL, role="marketing", display_name="Morgan Lee", password=PASSWORD)
        db.session.commit()
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(f"{live.url}/login")
    page.fill('input[name="email"]', MARKETER_EMAIL)
    page.fill('input[name="password"]', PASSWORD)
    page.click('form button[type="submit"]')
    page.wait_for_url(f"{live.url}/")

    print("connections:")
    shoot(page, f"{live.url}/connections", "connections-empty")
    connect_in_browser(page, live, "facebook", shots={"consent": "sandbox-consent", "pick": "connections-pick-target"})
    connect_in_browser(page, live, "mastodon",
                       shots={"form": "connections-mastodon-instance", "form_error": "connections-mastodon-error"})
    connect_in_browser(page, live, "bluesky", shots={"form": "connections-bluesky"})
    for name in ("instagram", "x", "tiktok"):
        connect_in_browser(page, live, name)
    break_connection(live, MARKETER_EMAIL, "tiktok")
    shoot(page, f"{live.url}/connections", "connections-partial")

    page.goto(f"{live.url}/connections")
    page.locator("#platform-tiktok [data-testid=reconnect]").click()
    page.wait_for_url(f"{live.sandbox_url}/**")
    page.get_by_role("button", name="Allow", exact=True).click()
    page.wait_for_url(f"{live.url}/connections**")
    for cls in registry.PROVIDER_CLASSES:
        page.goto(f"{live.url}/connections")
        if page.locator(f"#platform-{cls.name}").get_attribute("data-status") == "disconnected":
            connect_in_browser(page, live, cls.name)
    shoot(page, f"{live.url}/connections", "connections-connected")

    publish_samples(live, MARKETER_EMAIL)
    shoot(page, f"{live.sandbox_url}/", "sandbox-index")
    context.close()


def shoot_without_sandbox(browser: Browser) -> None:
    """Connections as a fresh install with neither sandbox nor credentials sees it: setup help on every card."""
    with tempfile.TemporaryDirectory() as workdir, live_server(Path(workdir), sandbox=False) as live:
        with live.app.app_context():
            create_user(email=ADMIN_EMAIL, role="admin", display_name="Avery Brooks", password=PASSWORD)
            db.session.commit()
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        page = context.new_page()
        page.goto(f"{live.url}/login")
        page.fill('input[name="email"]', ADMIN_EMAIL)
        page.fill('input[name="password"]', PASSWORD)
        page.click('form button[type="submit"]')
        page.wait_for_url(f"{live.url}/")
        page.goto(f"{live.url}/connections")
        page.locator("#platform-linkedin [data-testid=setup-help] summary").click()
        shoot(page, None, "connections-not-configured")
        context.close()


def main(argv: list[str]) -> int:
    only_connections = argv[1:] == ["connections"]
    if argv[1:] and not only_connections:
        print("usage: scripts/screenshots.py [connections]", file=sys.stderr)
        return 2
    if not CHROMIUM.exists():
        print(f"error: screenshots need Debian's chromium at {CHROMIUM}", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns the file list
    with tempfile.TemporaryDirectory() as workdir, live_server(Path(workdir)) as live:
        with live.app.app_context():
            created = create_user(email=ADMIN_EMAIL, role="admin", display_name="Avery Brooks", password=PASSWORD)
            created.user.timezone = "America/New_York"
            db.session.commit()

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            if only_connections:
                shoot_connection_journey(browser, live)
                shoot_without_sandbox(browser)
                browser.close()
                return 0
            context = browser.new_context(viewport={"width": 1366, "height": 900})
            page = context.new_page()

            shoot(page, f"{live.url}/login", "login")
            page.fill('input[name="email"]', ADMIN_EMAIL)
            page.fill('input[name="password"]', PASSWORD)
            page.click('form button[type="submit"]')
            page.wait_for_url(f"{live.url}/")

            print("empty states:")
            for path, name in [("/", "empty-dashboard"), ("/posts/", "empty-posts"),
                               ("/approvals/", "empty-approvals"), ("/analytics/", "empty-analytics")]:
                shoot(page, live.url + path, name)

            seed_demo(live)
            print("with demo data:")
            pages = [
                ("/", "dashboard"), ("/posts/", "posts"),
                ("/posts/?status=scheduled&platform=instagram", "posts-filtered"),
                ("/posts/?status=nope", "posts-bad-filter"), ("/calendar/", "calendar"), ("/approvals/", "approvals"),
                ("/analytics/", "analytics"), ("/connections", "connections"), ("/profile", "profile"),
                ("/admin/users", "admin-users"), ("/no/such/page", "error-404"),
            ]
            for path, name in pages:
                shoot(page, live.url + path, name)

            mobile = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                         storage_state=context.storage_state())
            mobile_page = mobile.new_page()
            shoot(mobile_page, f"{live.url}/", "mobile-dashboard")
            mobile_page.get_by_role("button", name="Open menu").click()
            mobile_page.wait_for_timeout(400)
            mobile_page.screenshot(path=str(OUT / "mobile-menu.png"))
            print(f"  {(OUT / 'mobile-menu.png').relative_to(PROJECT_ROOT)}")
            shoot(mobile_page, f"{live.url}/posts/", "mobile-posts")
            mobile.close()

            shoot_connection_journey(browser, live)
            shoot_without_sandbox(browser)
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
