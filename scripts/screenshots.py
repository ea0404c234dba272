"""Screenshot every page of Stella into test-artifacts/screenshots/ (for design review).

    .venv/bin/python scripts/screenshots.py

Starts the app like the browser-test fixture (fresh SQLite, CSRF on), signs in through the login form as an admin,
shoots the empty states first, then seeds a realistic month of demo posts, connections and metrics and shoots
every page at 1366x900, plus the dashboard at phone size (390x844). Needs Debian's chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import logging
import random
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from stella.extensions import db  # noqa: E402
from stella.models import SocialAnalytics, SocialConnection, SocialPost, User  # noqa: E402
from stella.services.users import create_user  # noqa: E402
from tests.browser.liveserver import CHROMIUM, CHROMIUM_ARGS, LiveServer, live_server  # noqa: E402

OUT = PROJECT_ROOT / "test-artifacts" / "screenshots"
ADMIN_EMAIL = "avery@stella-realestate.example"
PASSWORD = "screenshots-password-42"
UTC = timezone.utc

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


def shoot(page: Page, url: str, name: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"  {path.relative_to(PROJECT_ROOT)}")


def main() -> int:
    if not CHROMIUM.exists():
        print(f"error: screenshots need Debian's chromium at {CHROMIUM}", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns the file list
    with tempfile.TemporaryDirectory() as workdir, live_server(
        Path(workdir), sandbox_url="http://127.0.0.1:5055"
    ) as live:
        with live.app.app_context():
            created = create_user(email=ADMIN_EMAIL, role="admin", display_name="Avery Brooks", password=PASSWORD)
            created.user.timezone = "America/New_York"
            db.session.commit()

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
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
                ("/", "dashboard"), ("/posts/", "posts"), ("/posts/?status=scheduled&platform=instagram", "posts-filtered"),
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
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
