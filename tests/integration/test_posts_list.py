"""The posts list: each filter, filters together, dates in the viewer's zone, search, sorting, pages that keep the
filters, values that cannot be used, escaping and empty states. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from stella.extensions import db as _db
from stella.services import posts
from tests.factories import make_post, make_user


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def listed(body: str) -> list[str]:
    """The excerpts of the listed posts, in order."""
    return [html_lib.unescape(text) for text in re.findall(r'<span class="post-excerpt">(.*?)</span>', body, re.S)]


def at(day: int, hour: int = 12, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


# -- filters one by one ----------------------------------------------------------------------------------


def test_filter_by_platform_uses_the_platforms_array(client, login):
    user = login("staff")
    make_post(user, content="On Pinterest", platforms=["pinterest", "facebook"])
    make_post(user, content="On Facebook only", platforms=["facebook"])
    _db.session.commit()
    assert listed(html(client.get("/posts/?platform=pinterest"))) == ["On Pinterest"]
    assert sorted(listed(html(client.get("/posts/?platform=facebook")))) == ["On Facebook only", "On Pinterest"]


def test_filter_by_campaign_is_exact_and_offered_as_a_select(client, login):
    user = login("staff")
    make_post(user, content="Spring one", campaign="Spring")
    make_post(user, content="Spring Listings one", campaign="Spring Listings")
    make_post(user, content="No campaign")
    _db.session.commit()
    body = html(client.get("/posts/?campaign=Spring"))
    assert listed(body) == ["Spring one"]
    assert '<option value="Spring Listings">Spring Listings</option>' in body
    assert '<option value="Spring" selected>Spring</option>' in body


def test_filter_by_owner_offers_the_team(client, login):
    viewer = login("staff", display_name="Sam Staff")
    olivia = make_user("marketing", display_name="Olivia Owner")
    make_post(olivia, content="Olivia's post")
    make_post(viewer, content="Sam's post")
    _db.session.commit()
    body = html(client.get(f"/posts/?owner={olivia.id}"))
    assert listed(body) == ["Olivia's post"]
    assert f'<option value="{olivia.id}" selected>Olivia Owner</option>' in body
    assert "Owner: Olivia Owner" in body  # the applied filter, removable


def test_filter_by_status_counts_follow_the_other_filters(client, login):
    user = login("staff")
    make_post(user, content="Draft on X", platforms=["x"], status="draft")
    make_post(user, content="Scheduled on X", platforms=["x"], status="scheduled", scheduled_at=at(2))
    make_post(user, content="Draft on Facebook", platforms=["facebook"], status="draft")
    _db.session.commit()
    body = html(client.get("/posts/?platform=x&status=draft"))
    assert listed(body) == ["Draft on X"]
    # The tabs count posts on X, whatever their status, and keep the platform in their links.
    assert re.search(r'All <span class="count">2</span>', body)
    assert re.search(r'Draft <span class="count">1</span>', body)
    assert 'href="/posts/?status=scheduled&amp;platform=x"' in body


def test_date_range_is_read_in_the_viewers_zone(client, login):
    user = login("staff", timezone="America/New_York")
    # 03:00 UTC on March 10 is still March 9 in New York (EDT from March 8, UTC-4).
    make_post(user, content="Late on the 9th", status="scheduled", scheduled_at=datetime(2026, 3, 10, 3, tzinfo=UTC))
    make_post(user, content="Morning of the 10th", status="scheduled",
              scheduled_at=datetime(2026, 3, 10, 14, tzinfo=UTC))
    make_post(user, content="Published on the 9th", status="published", scheduled_at=at(1),
              posted_at=datetime(2026, 3, 9, 16, tzinfo=UTC))
    make_post(user, content="Undated draft")
    _db.session.commit()
    assert sorted(listed(html(client.get("/posts/?from=2026-03-09&to=2026-03-09")))) == [
        "Late on the 9th", "Published on the 9th"]
    assert listed(html(client.get("/posts/?from=2026-03-10"))) == ["Morning of the 10th"]
    assert sorted(listed(html(client.get("/posts/?to=2026-03-09")))) == ["Late on the 9th", "Published on the 9th"]


def test_search_matches_text_literally_and_ignores_case(client, login):
    user = login("staff")
    make_post(user, content="Save 50% on closing costs")
    make_post(user, content="Save 500 dollars")
    make_post(user, content="Open_House at noon")
    make_post(user, content="Open house tour")
    _db.session.commit()
    assert listed(html(client.get("/posts/?q=50%25"))) == ["Save 50% on closing costs"]
    assert listed(html(client.get("/posts/?q=open_house"))) == ["Open_House at noon"]
    assert sorted(listed(html(client.get("/posts/?q=OPEN")))) == ["Open house tour", "Open_House at noon"]
    body = html(client.get("/posts/?q=" + "x" * 300))
    assert "Search looks at the first 200 characters" in body


def test_filters_combine(client, login):
    viewer = login("staff")
    other = make_user("marketing")
    make_post(viewer, content="Match: spring tour on x", platforms=["x"], campaign="Spring", status="scheduled",
              scheduled_at=at(5))
    make_post(viewer, content="Wrong platform spring tour", platforms=["facebook"], campaign="Spring",
              status="scheduled", scheduled_at=at(5))
    make_post(other, content="Wrong owner spring tour", platforms=["x"], campaign="Spring", status="scheduled",
              scheduled_at=at(5))
    make_post(viewer, content="Wrong date spring tour", platforms=["x"], campaign="Spring", status="scheduled",
              scheduled_at=at(20))
    make_post(viewer, content="Wrong words", platforms=["x"], campaign="Spring", status="scheduled",
              scheduled_at=at(5))
    make_post(viewer, content="Wrong status spring tour", platforms=["x"], campaign="Spring", status="draft",
              scheduled_at=at(5))
    _db.session.commit()
    query = (f"/posts/?status=scheduled&platform=x&campaign=Spring&owner={viewer.id}&from=2026-03-01&to=2026-03-10"
             "&q=spring+tour")
    body = html(client.get(query))
    assert listed(body) == ["Match: spring tour on x"]
    assert "1–1 of 1 post" in body


# -- values that cannot be used ------------------------------------------------------------------------------


def test_reversed_range_is_explained_and_not_applied(client, login):
    user = login("staff")
    make_post(user, content="Any time", status="scheduled", scheduled_at=at(5))
    _db.session.commit()
    body = html(client.get("/posts/?from=2026-03-20&to=2026-03-01"))
    assert "Any time" in listed(body)
    assert "after it ends on Mar 1, 2026, so it is not applied" in body
    assert "Filter not applied." in body
    # The dates stay in the form, so swapping them is one change away.
    assert re.search(r'name="from"\s+value="2026-03-20"', body) and re.search(r'name="to"\s+value="2026-03-01"', body)


def test_unknown_values_are_reported_never_a_500(client, login):
    user = login("staff")
    make_post(user, content="Still listed")
    _db.session.commit()
    body = html(client.get("/posts/?status=bogus&platform=myspace&campaign=Nope&owner=not-a-uuid&from=2026-02-30"
                           "&sort=likes&dir=sideways&page=-3"))
    assert listed(body) == ["Still listed"]
    for sentence in ("is not a post status", "is not a platform Stella supports", "No post is in the campaign",
                     "That owner is not on the team any more", "is not a date", "is not a way to sort posts",
                     "is not a sort direction"):
        assert sentence in body, sentence
    unknown_owner = html(client.get("/posts/?owner=00000000-0000-0000-0000-000000000001"))
    assert "That owner is not on the team any more" in unknown_owner and "Still listed" in unknown_owner


def test_values_are_echoed_escaped(client, login):
    login("staff")
    body = html(client.get("/posts/?status=<b>x</b>&q=<script>alert(1)</script>"))
    assert "<b>x</b>" not in body and "&lt;b&gt;x&lt;/b&gt;" in body
    assert "<script>alert(1)</script>" not in body


# -- sorting and pages ---------------------------------------------------------------------------------------


def test_sort_by_scheduled_time_either_way_with_undated_posts_last(client, login):
    user = login("staff")
    make_post(user, content="Second", status="scheduled", scheduled_at=at(2))
    make_post(user, content="Undated")
    make_post(user, content="Third", status="scheduled", scheduled_at=at(3))
    make_post(user, content="First (published)", status="published", scheduled_at=at(9), posted_at=at(1))
    _db.session.commit()
    assert listed(html(client.get("/posts/"))) == ["Third", "Second", "First (published)", "Undated"]
    assert listed(html(client.get("/posts/?sort=scheduled&dir=asc"))) == [
        "First (published)", "Second", "Third", "Undated"]


def test_sort_by_created_and_updated(client, login):
    user = login("staff")
    make_post(user, content="A", created_at=at(1), updated_at=at(9))
    make_post(user, content="B", created_at=at(2), updated_at=at(7))
    make_post(user, content="C", created_at=at(3), updated_at=at(8))
    _db.session.commit()
    assert listed(html(client.get("/posts/?sort=created"))) == ["C", "B", "A"]
    assert listed(html(client.get("/posts/?sort=created&dir=asc"))) == ["A", "B", "C"]
    assert listed(html(client.get("/posts/?sort=updated"))) == ["A", "C", "B"]
    assert listed(html(client.get("/posts/?sort=updated&dir=asc"))) == ["B", "C", "A"]


def test_pages_keep_the_filters(client, login):
    user = login("staff")
    for n in range(posts.PER_PAGE + 3):
        make_post(user, content=f"Tour number {n:02d}", platforms=["x"], campaign="Tours", status="scheduled",
                  scheduled_at=at(1) + timedelta(hours=n))
    make_post(user, content="Tour elsewhere", platforms=["facebook"], campaign="Tours", status="scheduled",
              scheduled_at=at(1))
    _db.session.commit()
    first = html(client.get("/posts/?platform=x&campaign=Tours&q=tour&sort=scheduled&dir=asc"))
    assert len(listed(first)) == posts.PER_PAGE and listed(first)[0] == "Tour number 00"
    assert "Page 1 of 2" in first
    next_link = re.search(r'<a class="page-link" href="([^"]+)"[^>]*>Next</a>', first)
    assert next_link
    query = parse_qs(urlsplit(html_lib.unescape(next_link.group(1))).query)
    assert query == {"platform": ["x"], "campaign": ["Tours"], "q": ["tour"], "dir": ["asc"], "page": ["2"]}
    second = html(client.get(html_lib.unescape(next_link.group(1))))
    assert listed(second) == [f"Tour number {n:02d}" for n in range(posts.PER_PAGE, posts.PER_PAGE + 3)]


# -- rows, escaping, empty states ----------------------------------------------------------------------------


def test_rows_link_to_the_post_and_name_the_zone(client, login):
    viewer = login("staff", timezone="Europe/Paris")
    post = make_post(viewer, content="Linked", status="scheduled", scheduled_at=datetime(2026, 7, 1, 8, tzinfo=UTC),
                     approval_required=True, approval_status="pending")
    _db.session.commit()
    body = html(client.get("/posts/"))
    assert f'href="/posts/{post.id}"' in body
    assert "Due 10:00 AM" in body and ">CEST</abbr>" in body and "(Europe/Paris)" in body
    assert 'data-status="pending"' in body  # the approval badge


def test_html_in_posts_is_shown_escaped(client, login):
    user = login("staff")
    make_post(user, content="<img src=x onerror=alert(1)> open house", campaign="<b>Bold</b>")
    _db.session.commit()
    body = html(client.get("/posts/"))
    assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt; open house" in body
    assert "<b>Bold</b>" not in body and "&lt;b&gt;Bold&lt;/b&gt;" in body


def test_empty_list_offers_a_new_post_to_those_who_can_write(client, login):
    login("marketing")
    body = html(client.get("/posts/"))
    assert "No posts yet" in body and "Write your first post" in body
    assert body.count("New post") >= 2  # the header action and the empty state's button


def test_empty_list_for_staff_has_no_new_post_action(client, login):
    login("staff")
    body = html(client.get("/posts/"))
    assert "No posts yet" in body and "New post" not in body


def test_no_match_says_how_to_widen_the_search(client, login):
    user = login("staff")
    make_post(user, content="Something")
    _db.session.commit()
    body = html(client.get("/posts/?q=nothing+like+this"))
    assert "No posts match these filters" in body and "Clear all filters" in body
