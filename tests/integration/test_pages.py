"""The read-only section pages: dashboard, posts, calendar, approvals, analytics, and the shared layout."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import render_template

from stella.config import CONFIG_KEY
from stella.extensions import db as _db
from stella.extensions import login_manager
from stella.models import SocialAnalytics, SocialConnection
from stella.services import analytics, calendar, dashboard, posts
from tests.factories import make_post, make_user

UTC = UTC
NY = ZoneInfo("America/New_York")
PAGES = ["/", "/posts/", "/calendar/", "/approvals/", "/analytics/"]


def html(response) -> str:
    return response.get_data(as_text=True)


def connect(user, provider: str, status: str = "connected") -> SocialConnection:
    connection = SocialConnection(user_id=user.id, provider=provider, status=status)
    _db.session.add(connection)
    _db.session.flush()
    return connection


# -- layout -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_every_section_page_renders_for_a_staff_user(client, login, path):
    login("staff")
    response = client.get(path)
    assert response.status_code == 200
    body = html(response)
    assert 'class="sidebar' in body
    assert "vendor/bootstrap/bootstrap.min.css" in body and "cdn" not in body.lower()


@pytest.mark.parametrize("path", PAGES)
def test_section_pages_send_anonymous_visitors_to_sign_in(client, db, path):
    response = client.get(path)
    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"]


def test_layout_wires_htmx_with_the_csrf_token(client, login):
    login("staff")
    body = html(client.get("/"))
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', body)
    assert meta, "csrf meta tag missing"
    headers = re.search(r"<body hx-headers='([^']+)'", body)
    assert headers, "hx-headers missing on <body>"
    assert json.loads(headers.group(1)) == {"X-CSRFToken": meta.group(1)}
    assert "vendor/htmx/htmx.min.js" in body


def test_navigation_follows_the_role(client, login, app):
    login("staff")
    body = html(client.get("/"))
    # Staff read everything, Connections included (read-only there); only Admin is hidden.
    for label in ("Dashboard", "Connections", "Posts", "Calendar", "Approvals", "Analytics"):
        assert f"<span>{label}</span>" in body
    assert "<span>Admin</span>" not in body
    assert "Staff</span>" in body  # role badge in the user menu


def test_admin_sees_the_admin_section_when_it_exists(client, login, app):
    login("admin", display_name="Ada Admin")
    body = html(client.get("/"))
    with app.test_request_context():
        from stella.web.dashboard.ui import section_url

        admin_url = section_url("admin")
    if admin_url is None:
        assert "<span>Admin</span>" not in body
    else:
        assert f'href="{admin_url}"' in body and "<span>Admin</span>" in body
    assert "Ada Admin" in body


def test_sign_out_is_a_post_form_carrying_the_csrf_token(client, login, app):
    login("staff")
    body = html(client.get("/"))
    if "auth.logout" not in app.view_functions:
        pytest.skip("the sign-out endpoint is not built yet")
    form = re.search(r'<form method="post" action="([^"]+)"[^>]*>\s*<input type="hidden" name="csrf_token"', body)
    assert form and "Sign out" in body


def test_flash_messages_render_as_dismissible_alerts(client, login, flashes):
    login("staff")
    flashes()  # drop whatever signing in left behind
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Saved the thing."), ("error", "That did not work.")]
    body = html(client.get("/posts/"))
    assert re.search(r'alert alert-success alert-dismissible[^>]*>.*?Saved the thing\.', body, re.S)
    assert re.search(r'alert alert-danger alert-dismissible[^>]*>.*?That did not work\.', body, re.S)


def test_sandbox_badge_links_to_the_sandbox_only_when_configured(client, login, app, monkeypatch):
    login("staff")
    assert "Sandbox — posts go to the built-in test platforms" not in html(client.get("/"))
    config = app.extensions[CONFIG_KEY]
    monkeypatch.setitem(app.extensions, CONFIG_KEY, config.with_overrides(sandbox_url="http://127.0.0.1:5001"))
    body = html(client.get("/"))
    assert "Sandbox — posts go to the built-in test platforms" in body
    assert 'href="http://127.0.0.1:5001/"' in body


# -- dashboard ------------------------------------------------------------------------------------------------


def test_dashboard_kpis_count_the_right_posts(db):
    now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # a Tuesday
    author = make_user("marketing")
    make_post(author, status="scheduled", scheduled_at=now + timedelta(days=2))  # this week
    make_post(author, status="queued", scheduled_at=now + timedelta(hours=1))  # this week
    make_post(author, status="scheduled", scheduled_at=now + timedelta(days=8))  # next week
    make_post(author, status="published", posted_at=now - timedelta(days=3), scheduled_at=now - timedelta(days=3))
    make_post(author, status="published", posted_at=now - timedelta(days=45))  # too old
    make_post(author, status="draft", approval_required=True, approval_status="pending")
    make_post(author, status="draft", approval_status="approved")
    make_post(author, status="failed", scheduled_at=now - timedelta(days=1))
    connect(author, "facebook")
    connect(author, "linkedin", status="error")

    summary = dashboard.dashboard_summary(now, ZoneInfo("UTC"))

    assert summary.scheduled_this_week == 2
    assert summary.awaiting_approval == 1
    assert summary.published_last_30_days == 1
    assert summary.failed == 1
    assert summary.connected_accounts == 1
    assert [row.post.scheduled_at for row in summary.upcoming] == [
        now + timedelta(hours=1), now + timedelta(days=2), now + timedelta(days=8)
    ]


def test_this_week_is_the_viewers_local_week():
    # Monday 03:00 UTC is still Sunday evening in New York: that week started six days earlier there.
    now = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    start_utc, end_utc = dashboard.week_bounds(now, ZoneInfo("UTC"))
    start_ny, end_ny = dashboard.week_bounds(now, NY)
    assert start_utc == datetime(2026, 11, 30, tzinfo=UTC) and end_utc == datetime(2026, 12, 7, tzinfo=UTC)
    assert start_ny == datetime(2026, 11, 23, 5, 0, tzinfo=UTC) and end_ny - start_ny == timedelta(days=7)


def test_dashboard_shows_next_up_posts_with_chips_and_badges(client, login):
    user = login("staff", display_name="Sam Staff", timezone="America/New_York")
    make_post(
        user, content="Sunny condo tour", platforms=["instagram", "x"], status="scheduled",
        scheduled_at=datetime.now(UTC) + timedelta(days=2), campaign="Spring Listings",
    )
    _db.session.commit()
    body = html(client.get("/"))
    assert "Sam" in body  # the greeting uses the first name
    assert "Sunny condo tour" in body and "Spring Listings" in body
    assert 'data-platform="instagram"' in body and "bi-twitter-x" in body
    assert 'data-status="scheduled"' in body
    assert "Connect your first account" not in body  # staff cannot connect: they get a different hint
    assert "No accounts connected yet" in body


def test_empty_dashboard_says_what_to_do_next(client, login):
    login("marketing")
    body = html(client.get("/"))
    assert "Connect your first account" in body
    # No dead end: the empty state leads straight to the composer.
    assert 'href="/posts/new"' in body.split("No posts yet")[1].split("</section>")[0]
    assert re.search(r'data-kpi="scheduled_this_week">0<', body)


# -- posts ----------------------------------------------------------------------------------------------------


def test_posts_list_shows_chips_badges_campaign_owner_and_local_time(client, login):
    viewer = login("staff", timezone="America/New_York")
    owner = make_user("marketing", display_name="Olivia Owner")
    make_post(
        owner, content="Open house on Elm Street", platforms=["facebook", "linkedin"], status="scheduled",
        scheduled_at=datetime(2026, 11, 24, 15, 0, tzinfo=UTC), campaign="Elm Launch",
    )
    _db.session.commit()
    body = html(client.get("/posts/"))
    assert viewer.timezone in body
    assert "Open house on Elm Street" in body
    assert 'data-platform="facebook"' in body and 'data-platform="linkedin"' in body
    assert "platform-chip-compact platform-facebook" in body  # its brand colour comes from /platforms.css
    assert 'data-status="scheduled"' in body
    assert "Elm Launch" in body and "Olivia Owner" in body
    assert "Nov 24, 2026" in body and "Due 10:00 AM" in body  # 15:00 UTC is 10:00 in New York
    assert 'title="America/New_York">EST</abbr>' in body  # the zone is named on the row
    assert "3:00 PM" not in body


def test_posts_filter_by_status_and_platform(client, login):
    user = login("staff")
    make_post(user, content="Alpha scheduled on facebook", platforms=["facebook"], status="scheduled",
              scheduled_at=datetime(2026, 12, 1, tzinfo=UTC))
    make_post(user, content="Bravo draft on x", platforms=["x"], status="draft")
    make_post(user, content="Charlie draft on facebook and x", platforms=["facebook", "x"], status="draft")
    _db.session.commit()

    drafts = html(client.get("/posts/?status=draft"))
    assert "Bravo" in drafts and "Charlie" in drafts and "Alpha" not in drafts

    on_x = html(client.get("/posts/?platform=x"))
    assert "Bravo" in on_x and "Charlie" in on_x and "Alpha" not in on_x

    both = html(client.get("/posts/?platform=facebook&status=draft"))
    assert "Charlie" in both and "Alpha" not in both and "Bravo" not in both


def test_unknown_filters_are_reported_and_everything_is_shown(client, login):
    user = login("staff")
    make_post(user, content="Still listed", status="draft")
    _db.session.commit()
    body = html(client.get("/posts/?status=bogus&platform=myspace"))
    assert "Still listed" in body
    assert "is not a post status" in body and "is not a platform Stella supports" in body


def test_posts_paginate_and_clamp_out_of_range_pages(client, login):
    user = login("staff")
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(posts.PER_PAGE + 5):
        make_post(user, content=f"Numbered post {n:02d}.", status="scheduled", scheduled_at=base + timedelta(days=n))
    _db.session.commit()

    first = html(client.get("/posts/"))
    assert first.count("<tr data-post-id=") == posts.PER_PAGE
    assert "Numbered post 24." in first  # newest first
    assert "Page 1 of 2" in first

    second = html(client.get("/posts/?page=2"))
    assert second.count("<tr data-post-id=") == 5 and "Numbered post 00." in second

    assert "Page 2 of 2" in html(client.get("/posts/?page=99"))
    assert "Page 1 of 2" in html(client.get("/posts/?page=abc"))


def test_posts_page_has_empty_states(client, login):
    login("staff")
    assert "No posts yet" in html(client.get("/posts/"))
    assert "No posts match these filters" in html(client.get("/posts/?status=failed"))


def test_posts_inserted_with_plain_sql_are_listed(client, login):
    login("staff")
    import sqlalchemy as sa

    platforms = '{"youtube"}' if _db.engine.dialect.name == "postgresql" else '["youtube"]'
    _db.session.execute(
        sa.text("INSERT INTO social_posts (content, platforms, status) VALUES (:content, :platforms, 'draft')"),
        {"content": "Inserted by another program", "platforms": platforms},
    )
    _db.session.commit()
    body = html(client.get("/posts/?platform=youtube"))
    assert "Inserted by another program" in body and 'data-platform="youtube"' in body


# -- calendar ------------------------------------------------------------------------------------------------


def test_calendar_puts_posts_on_the_viewers_local_day(client, login):
    user = login("staff", timezone="America/New_York")
    # 03:00 UTC on the 25th is 22:00 on the 24th in New York.
    make_post(user, content="Late evening teaser", status="scheduled",
              scheduled_at=datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    make_post(user, content="Published recap", status="published",
              scheduled_at=datetime(2026, 11, 2, 14, 0, tzinfo=UTC), posted_at=datetime(2026, 11, 3, 14, 0, tzinfo=UTC))
    make_post(user, content="Undated draft", status="draft")
    _db.session.commit()

    body = html(client.get("/calendar/?month=2026-11"))
    assert "November 2026" in body
    day_24 = body.split('data-date="2026-11-24"', 1)[1].split('data-date="2026-11-25"', 1)[0]
    assert "Late evening teaser" in day_24 and "10:00 PM" in day_24
    day_3 = body.split('data-date="2026-11-03"', 1)[1].split('data-date="2026-11-04"', 1)[0]
    assert "Published recap" in day_3  # published posts sit on the day they went out
    assert "Undated draft" not in body
    assert "2 posts this month" in body


def test_calendar_links_to_the_previous_and_next_month(client, login):
    login("staff")
    body = html(client.get("/calendar/?month=2026-01"))
    assert "January 2026" in body
    assert "month=2025-12" in body and "month=2026-02" in body


def test_calendar_explains_a_bad_month_and_shows_the_current_one(client, login):
    login("staff")
    body = html(client.get("/calendar/?month=nonsense"))
    assert "is not a month like 2026-11" in body
    assert datetime.now(UTC).strftime("%B %Y") in body or "No posts this month" in body


def test_calendar_grid_is_whole_monday_first_weeks(db):
    now = datetime(2026, 2, 10, tzinfo=UTC)
    # February 2026 starts on a Sunday: the grid opens on Monday 26 January.
    cal = calendar.calendar_month(2026, 2, ZoneInfo("UTC"), now)
    days = [cell.day for week in cal.weeks for cell in week]
    assert all(len(week) == 7 for week in cal.weeks) and all(week[0].day.weekday() == 0 for week in cal.weeks)
    assert days == sorted(days) and days[0].isoformat() == "2026-01-26" and days[-1].isoformat() == "2026-03-01"
    assert [cell.day.day for week in cal.weeks for cell in week if cell.is_today] == [10]
    assert cal.prev.isoformat() == "2026-01-01" and cal.next.isoformat() == "2026-03-01"


# -- approvals ------------------------------------------------------------------------------------------------


def test_approvals_list_only_pending_posts(client, login):
    user = login("staff")
    make_post(user, content="Needs a reviewer", approval_required=True, approval_status="pending",
              scheduled_at=datetime(2026, 12, 1, 17, 0, tzinfo=UTC), status="draft", notes="Check the price")
    make_post(user, content="Already approved", approval_required=True, approval_status="approved")
    make_post(user, content="Rejected one", approval_required=True, approval_status="rejected")
    _db.session.commit()
    body = html(client.get("/approvals/"))
    assert "Needs a reviewer" in body and "Check the price" in body
    assert "Already approved" not in body and "Rejected one" not in body
    assert 'data-status="pending"' in body


def test_approvals_empty_state(client, login):
    login("staff")
    assert "You are all caught up" in html(client.get("/approvals/"))


# -- analytics ------------------------------------------------------------------------------------------------


def test_analytics_totals_by_platform_with_chart_data(client, login):
    user = login("staff")
    post = make_post(user, status="published", posted_at=datetime(2026, 11, 1, tzinfo=UTC))
    other = make_post(user, status="published", posted_at=datetime(2026, 11, 2, tzinfo=UTC))
    fetched = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
    _db.session.add_all([
        SocialAnalytics(post_id=post.id, platform="facebook", impressions=1000, engagement=100, likes=60,
                        comments=20, shares=20, fetched_at=fetched),
        SocialAnalytics(post_id=other.id, platform="facebook", impressions=500, engagement=50, likes=30,
                        comments=10, shares=10, fetched_at=fetched),
        SocialAnalytics(post_id=post.id, platform="linkedin", impressions=2500, engagement=75, likes=50,
                        comments=15, shares=10, fetched_at=fetched),
    ])
    _db.session.commit()

    result = analytics.analytics_overview()
    assert [t.platform for t in result.by_platform] == ["linkedin", "facebook"]
    facebook = result.by_platform[1]
    assert (facebook.posts, facebook.impressions, facebook.engagement, facebook.likes) == (2, 1500, 150, 90)
    assert result.totals.impressions == 4000 and result.totals.posts == 2
    assert result.totals.last_fetched_at == fetched

    body = html(client.get("/analytics/"))
    assert "4,000" in body and "1,500" in body
    chart = json.loads(re.search(r'id="platform-chart-data">(.*?)</script>', body, re.S).group(1))
    assert chart["labels"] == ["LinkedIn", "Facebook"] and chart["impressions"] == [2500, 1500]
    assert "vendor/chartjs/chart.umd.min.js" in body


def test_analytics_empty_state_without_data(client, login):
    login("staff")
    body = html(client.get("/analytics/"))
    assert "No results yet" in body and "platform-chart" not in body


# -- time zones and errors -------------------------------------------------------------------------------------


def test_an_unknown_user_timezone_falls_back_to_utc(client, login):
    user = login("staff", timezone="Mars/Olympus_Mons")
    make_post(user, content="Zone check", status="scheduled", scheduled_at=datetime(2026, 11, 24, 15, 0, tzinfo=UTC))
    _db.session.commit()
    body = html(client.get("/posts/"))
    assert "Due 3:00 PM" in body


def test_unknown_page_is_a_branded_404_with_a_way_home(client, login):
    login("staff")
    response = client.get("/no/such/page")
    assert response.status_code == 404
    body = html(response)
    assert "We could not find that page" in body and "Back to the dashboard" in body and 'class="sidebar' in body


def test_404_for_an_anonymous_visitor_renders_without_the_sidebar(client, db):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    body = html(response)
    assert "We could not find that page" in body and 'class="sidebar' not in body


def test_forbidden_page_explains_the_role(client, login, app):
    login("staff")
    # Admin pages need MANAGE_USERS; any argument-free admin page the admin work registers must refuse staff.
    admin_rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.") and not r.arguments
                   and "GET" in (r.methods or ())]
    if not admin_rules:
        pytest.skip("no admin page registered yet")
    response = client.get(admin_rules[0].rule)
    assert response.status_code == 403
    body = html(response)
    assert "This page is not open to your role" in body and "Back to the dashboard" in body


def test_500_page_renders_without_the_database_or_current_user(app, monkeypatch):
    def broken_loader(_: str) -> None:
        raise RuntimeError("database is down")

    monkeypatch.setattr(login_manager, "_user_callback", broken_loader)
    with app.test_request_context("/", headers={"Cookie": "session=garbage"}):
        body = render_template("errors/500.html")
    assert "Something went wrong on our side" in body and 'href="/"' in body
    assert "Traceback" not in body
