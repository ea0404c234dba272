"""A post's own page: schedule in two zones, targets with their accounts and variants, the thread, media, history,
escaping, who may delete, and what deleting says. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest

from stella.extensions import db as _db
from stella.models import (
    AuditLog,
    MediaAsset,
    SocialAccountToken,
    SocialConnection,
    SocialPost,
    SocialPostMedia,
    SocialPostTarget,
)
from tests.factories import make_post, make_user


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def connect(user, provider: str, *, handle: str | None = None, name: str | None = None) -> SocialConnection:
    connection = SocialConnection(user_id=user.id, provider=provider, status="connected")
    connection.tokens = SocialAccountToken(access_token="not-a-real-token", account_handle=handle, display_name=name,
                                           profile_image_url="https://cdn.example.com/avatar.png")
    _db.session.add(connection)
    _db.session.flush()
    return connection


def audit(post: SocialPost, event: str, actor=None, when: datetime | None = None, **details) -> None:
    _db.session.add(AuditLog(action=event, subject_type="social_post", subject_id=str(post.id),
                             actor_id=actor.id if actor else None, details=details,
                             created_at=when or datetime(2026, 3, 1, 12, tzinfo=UTC)))
    _db.session.flush()


def photo(user) -> MediaAsset:
    asset = MediaAsset(sha256="a" * 64, kind="image", mime_type="image/jpeg", size_bytes=2_400_000, width=4032,
                       height=3024, original_filename="kitchen.jpg", public_token=uuid.uuid4().hex,
                       created_by=user.id)
    _db.session.add(asset)
    _db.session.flush()
    return asset


@pytest.fixture()
def full_post(db):
    """A scheduled thread for X, Facebook and LinkedIn: a variant for X, options for Facebook, LinkedIn's
    connection removed, a photo with alt text, and a history."""
    owner = make_user("marketing", display_name="Olivia Owner", timezone="Europe/London")
    author = make_user("marketing", display_name="Arthur Author")
    x = connect(owner, "x", handle="harborvine", name="Harbor & Vine")
    facebook = connect(owner, "facebook", name="Harbor & Vine Realty")
    post = make_post(
        owner, content="Open house at 12 Elm Street", platforms=["facebook", "linkedin", "x"], status="scheduled",
        scheduled_at=datetime(2026, 3, 20, 15, tzinfo=UTC), timezone="Europe/London", campaign="Spring Listings",
        notes="Check the price with the listing agent.", thread_parts=["Part two: the kitchen", "Part three: the yard"],
        approval_required=True, approval_status="approved",
    )
    post.created_by = author.id
    post.targets = [
        SocialPostTarget(platform="facebook", connection_id=facebook.id, options={"call_to_action": "learn_more",
                                                                                    "first_comment": True}),
        SocialPostTarget(platform="linkedin", connection_id=None),
        SocialPostTarget(platform="x", connection_id=x.id, content="Open house Saturday! #ElmStreet"),
    ]
    post.media = [SocialPostMedia(media_id=photo(owner).id, position=1, alt_text="A bright kitchen with an island")]
    _db.session.flush()
    audit(post, "post.created", author, datetime(2026, 3, 1, 14, tzinfo=UTC), intent="draft",
          platforms=["facebook", "x"])
    audit(post, "post.updated", owner, datetime(2026, 3, 2, 9, tzinfo=UTC), intent="schedule",
          changed=["content", "scheduled_at", "targets"])
    audit(post, "post.approved", make_user("approver", display_name="Riley Approver"),
          datetime(2026, 3, 3, 10, tzinfo=UTC), comment="Looks great")
    _db.session.commit()
    return post


def test_detail_shows_schedule_in_both_zones(client, login, full_post):
    login("staff", timezone="America/New_York")
    body = html(client.get(f"/posts/{full_post.id}"))
    # 15:00 UTC on March 20 is 11:00 EDT in New York and 15:00 GMT in London.
    assert re.search(r"Fri, Mar 20, 2026 · 11:00 AM <abbr[^>]*>EDT</abbr>", body)
    assert "Your time zone, America/New_York" in body
    assert "Fri, Mar 20, 2026 · 3:00 PM GMT" in body and "in Europe/London, the zone it was scheduled in" in body


def test_detail_shows_owner_author_campaign_notes_and_approval(client, login, full_post):
    login("staff")
    body = html(client.get(f"/posts/{full_post.id}"))
    assert "Olivia Owner" in body and "Arthur Author" in body
    assert "Spring Listings" in body and "Check the price with the listing agent." in body
    assert re.search(r'data-approval>\s*<span class="status-badge status-success" data-status="approved"', body)


def test_detail_shows_each_target_with_account_variant_and_options(client, login, full_post):
    login("staff")
    body = html(client.get(f"/posts/{full_post.id}"))
    targets = dict(re.findall(r'<li class="target-item" data-target="(\w+)">(.*?)</li>\s*(?=<li class="target|</ul>)',
                              body, re.S))
    assert list(targets) == ["facebook", "linkedin", "x"]
    assert "Harbor &amp; Vine Realty" in targets["facebook"] and "Uses the main text" in targets["facebook"]
    assert "Call to action" in targets["facebook"] and "learn_more" in targets["facebook"]
    assert "First comment" in targets["facebook"] and "Yes" in targets["facebook"]
    assert "Connection removed" in targets["linkedin"] and "data-connection-removed" in targets["linkedin"]
    assert "@harborvine" in targets["x"] and "Open house Saturday! #ElmStreet" in targets["x"]
    assert "Uses the main text" not in targets["x"]
    assert 'data-delivery="scheduled"' in targets["x"]  # the space step 7 fills per platform


def test_detail_shows_the_thread_in_order_and_the_media(client, login, full_post, app):
    login("staff")
    body = html(client.get(f"/posts/{full_post.id}"))
    assert "Thread" in body and "3 parts" in body
    thread = body.split("data-thread>")[1].split("</ol>")[0]
    parts = re.findall(r'<div class="post-text">(.*?)</div>', thread, re.S)
    assert parts == ["Open house at 12 Elm Street", "Part two: the kitchen", "Part three: the yard"]
    assert "A bright kitchen with an island" in body
    assert "4032 \N{MULTIPLICATION SIGN} 3024" in body and "JPEG photo" in body and "2.3 MB" in body
    if "media.thumbnail" in app.view_functions:
        media_id = full_post.media[0].media_id
        assert f'src="/media/{media_id}/thumbnail"' in body


def test_detail_shows_the_history_newest_first_in_the_viewers_zone(client, login, full_post):
    login("staff", timezone="America/New_York")
    body = html(client.get(f"/posts/{full_post.id}"))
    history = body.split("data-history>")[1].split("</ol>")[0]
    actions = re.findall(r'data-action="([\w.]+)"', history)
    assert actions == ["post.approved", "post.updated", "post.created"]
    assert "Riley Approver" in history and "Approved the post" in history and "“Looks great”" in history
    assert "Edited and scheduled the post" in history and "Changed the text, schedule and platform versions" in history
    assert "Arthur Author" in history and "Created the post as a draft" in history and "For Facebook and X" in history
    assert "Sun, Mar 1, 2026 · 9:00 AM EST" in history  # 14:00 UTC, before New York's clocks change


def test_history_of_a_post_written_in_the_composer(client, login, now):
    from stella.services.compose import PostDraft, create_post

    user = login("marketing", display_name="Morgan Marketer")
    saved = create_post(PostDraft(content="Written in Stella", platforms=["facebook"]), actor=user, now=now)
    _db.session.commit()
    history = html(client.get(f"/posts/{saved.post.id}")).split("data-history>")[1].split("</ol>")[0]
    assert re.findall(r'data-action="([\w.]+)"', history) == ["post.created"]
    assert "Morgan Marketer" in history and "Created the post as a draft" in history and "For Facebook" in history


def test_a_post_without_history_starts_with_when_it_was_added(client, login):
    user = login("staff", display_name="Sam Staff")
    post = make_post(user, content="Written by another program")
    _db.session.commit()
    body = html(client.get(f"/posts/{post.id}"))
    assert 'data-action="post.added"' in body and "Added the post" in body


def test_all_text_is_shown_escaped(client, login):
    user = login("marketing")
    post = make_post(user, content="<script>alert('content')</script>", platforms=["x"],
                     thread_parts=["<b>part two</b>"], notes="<i>notes</i>", campaign="<u>campaign</u>")
    post.targets = [SocialPostTarget(platform="x", content="<img src=x onerror=alert(1)>",
                                     options={"<em>key</em>": "<em>value</em>"})]
    _db.session.flush()
    audit(post, "post.rejected", user, reason="<marquee>no</marquee>")
    _db.session.commit()
    body = html(client.get(f"/posts/{post.id}"))
    for raw in ("<script>alert", "<b>part two</b>", "<i>notes</i>", "<u>campaign</u>", "<img src=x",
                "<em>value</em>", "<marquee>"):
        assert raw not in body, raw
    assert "&lt;script&gt;alert(&#39;content&#39;)&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body and "&lt;marquee&gt;no&lt;/marquee&gt;" in body


def test_a_post_from_another_program_shows_the_owners_account(client, login):
    user = login("staff")
    owner = make_user("marketing")
    connect(owner, "youtube", name="Harbor & Vine Tours")
    post = make_post(owner, content="No target rows", platforms=["youtube", "pinterest"])
    _db.session.commit()
    body = html(client.get(f"/posts/{post.id}"))
    assert "Harbor &amp; Vine Tours" in body
    assert "No Pinterest account connected for the owner." in body
    assert user  # any role may read anyone's post


# -- who may do what -------------------------------------------------------------------------------------------


def test_staff_read_another_users_post_without_edit_or_delete(client, login, full_post):
    login("staff")
    body = html(client.get(f"/posts/{full_post.id}"))
    assert "Open house at 12 Elm Street" in body
    assert 'id="delete-post"' not in body and "/delete" not in body and ">Edit<" not in body


def test_staff_cannot_delete(client, login, full_post):
    login("staff")
    assert client.post(f"/posts/{full_post.id}/delete").status_code == 403
    assert _db.session.get(SocialPost, full_post.id) is not None


def test_unknown_post_is_404(client, login):
    login("marketing")
    assert client.get(f"/posts/{uuid.uuid4()}").status_code == 404
    assert client.get("/posts/not-a-post").status_code == 404
    assert client.post(f"/posts/{uuid.uuid4()}/delete").status_code == 404


def test_edit_is_offered_only_for_editable_posts(client, login, app):
    user = login("marketing")
    draft = make_post(user, content="A draft", status="draft")
    published = make_post(user, content="Sent", status="published", posted_at=datetime(2026, 3, 1, tzinfo=UTC))
    _db.session.commit()
    draft_page = html(client.get(f"/posts/{draft.id}"))
    published_page = html(client.get(f"/posts/{published.id}"))
    if "posts.edit" in app.view_functions:
        assert f'href="/posts/{draft.id}/edit"' in draft_page
    assert "/edit" not in published_page and "can no longer be edited" in published_page


# -- deleting --------------------------------------------------------------------------------------------------


def test_delete_a_draft(client, login, flashes):
    user = login("marketing")
    post = make_post(user, content="Delete me")
    _db.session.commit()
    page = html(client.get(f"/posts/{post.id}"))
    assert 'action="/posts/' in page and "The post and its history will be removed from Stella." in page
    flashes()
    response = client.post(f"/posts/{post.id}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith("/posts/")
    assert ("success", "The post was deleted.") in flashes()
    assert _db.session.get(SocialPost, post.id) is None


def test_delete_a_published_post_says_it_is_still_live(client, login, flashes):
    user = login("marketing")
    post = make_post(user, content="Already out", status="published", posted_at=datetime(2026, 3, 1, tzinfo=UTC))
    _db.session.commit()
    page = html(client.get(f"/posts/{post.id}"))
    warning = re.search(r"data-delete-warning>(.*?)</p>", page, re.S)
    assert warning and "stays live on the platforms" in warning.group(1)
    flashes()
    response = client.post(f"/posts/{post.id}/delete")
    assert response.status_code == 302
    [(category, message)] = flashes()
    assert category == "success" and "still live on the platforms" in message
    assert _db.session.get(SocialPost, post.id) is None
    entry = _db.session.scalar(_db.select(AuditLog).where(AuditLog.action == "post.deleted",
                                                          AuditLog.subject_id == str(post.id)))
    assert entry is not None and entry.actor_id == user.id


def test_delete_a_queued_post_is_refused(client, login, flashes):
    user = login("marketing")
    post = make_post(user, content="Going out now", status="queued", scheduled_at=datetime(2026, 3, 1, tzinfo=UTC))
    _db.session.commit()
    page = html(client.get(f"/posts/{post.id}"))
    assert 'id="delete-post"' not in page and "being published right now" in page
    flashes()
    response = client.post(f"/posts/{post.id}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/posts/{post.id}")
    [(category, message)] = flashes()
    assert category == "error" and "being published right now" in message
    assert _db.session.get(SocialPost, post.id) is not None
