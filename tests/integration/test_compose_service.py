"""The compose service: drafts keep work in progress, scheduling needs every platform to accept the post, edits are
refused when stale, and `platforms` and the target rows stay in step. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from stella.models import SocialConnection, SocialPost, SocialPostTarget
from stella.services.compose import (
    PostDraft,
    PostProblemsError,
    StaleEditError,
    create_post,
    delete_post,
    preview_checks,
    update_post,
)
from stella.services.errors import ConflictError, PermissionDeniedError, ValidationError
from tests.factories import make_user

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
TOMORROW_9_BERLIN = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def connect(user, *platforms: str, status: str = "connected", **metadata) -> None:
    from stella.extensions import db

    for name in platforms:
        db.session.add(SocialConnection(user_id=user.id, provider=name, status=status, auth_metadata=dict(metadata)))
    db.session.flush()


def draft(**fields) -> PostDraft:
    fields.setdefault("content", "Just listed: 4-bed colonial on Maple Ridge. Tour it Saturday 11–2.")
    fields.setdefault("platforms", ["x", "linkedin"])
    return PostDraft(**fields)


@pytest.fixture()
def marketer(db):
    user = make_user("marketing", timezone="Europe/Berlin")
    connect(user, "x", "linkedin", "bluesky", "mastodon", "instagram")
    return user


def test_a_draft_is_saved_even_when_a_platform_would_refuse_it(db, marketer):
    saved = create_post(draft(content="x" * 400, platforms=["x", "linkedin"]), actor=marketer, now=NOW)
    assert saved.post.status == "draft"
    assert saved.checks["x"].problems and saved.checks["x"].length == 400
    assert saved.checks["linkedin"].ok
    assert saved.message == "The draft is saved."


def test_scheduling_needs_every_platform_to_accept_the_post(db, marketer):
    with pytest.raises(PostProblemsError) as refused:
        create_post(draft(content="x" * 400, action="schedule", scheduled_at=TOMORROW_9_BERLIN),
                    actor=marketer, now=NOW)
    assert "X would not accept this post" in refused.value.message
    assert not refused.value.checks["x"].ok and refused.value.checks["linkedin"].ok
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SocialPost)) == 0


def test_a_scheduled_post_keeps_platforms_and_targets_in_step(db, marketer):
    saved = create_post(draft(platforms=["linkedin", "x"], action="schedule", scheduled_at=TOMORROW_9_BERLIN,
                              timezone="Europe/Berlin", variants={"x": "Short one for X"}), actor=marketer, now=NOW)
    post = saved.post
    assert post.status == "scheduled" and post.scheduled_at == TOMORROW_9_BERLIN
    assert post.platforms == ["linkedin", "x"]  # the order people know the platforms in
    targets = {t.platform: t for t in post.targets}
    assert set(targets) == {"linkedin", "x"}
    assert targets["x"].content == "Short one for X" and targets["linkedin"].content is None
    assert all(t.connection_id is not None for t in targets.values())
    assert post.owner_id == marketer.id and post.created_by == marketer.id


def test_dropping_a_platform_removes_its_target(db, marketer):
    post = create_post(draft(platforms=["x", "linkedin"]), actor=marketer, now=NOW).post
    update_post(post, draft(platforms=["linkedin"], expected_version=post.version), actor=marketer, now=NOW)
    assert post.platforms == ["linkedin"]
    assert db.session.scalars(sa.select(SocialPostTarget.platform).where(SocialPostTarget.post_id == post.id)).all() \
        == ["linkedin"]


def test_a_platform_the_owner_has_not_connected_is_a_problem_named_for_it(db, marketer):
    checks = preview_checks(draft(platforms=["tiktok"]), actor=marketer)
    assert [p.code for p in checks["tiktok"].problems][:1] == ["not_connected"]
    assert "TikTok is not connected" in checks["tiktok"].problems[0].message


def test_a_connection_in_error_asks_for_reconnecting(db):
    user = make_user("marketing")
    connect(user, "x", status="error")
    checks = preview_checks(draft(platforms=["x"]), actor=user)
    assert checks["x"].problems[0].code == "reconnect"


def test_threads_are_checked_part_by_part_and_refused_where_a_platform_takes_none(db, marketer):
    checks = preview_checks(draft(platforms=["x", "linkedin"], thread_parts=["Second part", "y" * 300]),
                            actor=marketer)
    assert checks["x"].part_lengths == (len(draft().content), 11, 300)
    assert any(p.message.startswith("Part 3:") for p in checks["x"].problems)
    assert any(p.code == "threads_not_supported" for p in checks["linkedin"].problems)


def test_mastodon_counts_against_the_instance_limit(db):
    user = make_user("marketing")
    connect(user, "mastodon", max_characters=1000)
    checks = preview_checks(draft(content="z" * 800, platforms=["mastodon"]), actor=user)
    assert checks["mastodon"].limit == 1000 and checks["mastodon"].ok


@pytest.mark.parametrize(("platforms", "message"), [
    ([], "Choose at least one platform."),
    (["myspace"], "Stella does not publish to “myspace”."),
])
def test_platform_choices_are_checked(db, marketer, platforms, message):
    with pytest.raises(ValidationError, match=message) as refused:
        create_post(draft(platforms=platforms), actor=marketer, now=NOW)
    assert refused.value.field == "platforms"


def test_a_past_time_is_refused_saying_by_how_much(db, marketer):
    with pytest.raises(ValidationError, match="2 hours in the past") as refused:
        create_post(draft(action="schedule", scheduled_at=NOW - timedelta(hours=2)), actor=marketer, now=NOW)
    assert refused.value.field == "scheduled_at"


def test_scheduling_without_a_time_asks_for_one(db, marketer):
    with pytest.raises(ValidationError, match="Choose the date and time"):
        create_post(draft(action="schedule"), actor=marketer, now=NOW)


def test_publish_now_makes_the_post_due_at_once(db, marketer):
    saved = create_post(draft(action="publish_now"), actor=marketer, now=NOW)
    assert saved.post.status == "scheduled" and saved.post.scheduled_at == NOW


def test_html_is_stored_exactly_as_typed(db, marketer):
    text = '<script>alert("hi")</script> & <b>bold</b>'
    post = create_post(draft(content=text), actor=marketer, now=NOW).post
    db.session.expire_all()
    assert db.session.get(SocialPost, post.id).content == text


def test_a_stale_edit_is_refused_and_the_saved_version_is_kept(db, marketer):
    post = create_post(draft(content="First words"), actor=marketer, now=NOW).post
    opened = post.version
    update_post(post, draft(content="Riley's edit", expected_version=opened), actor=marketer, now=NOW)
    with pytest.raises(StaleEditError) as refused:
        update_post(post, draft(content="Morgan's edit", expected_version=opened), actor=marketer, now=NOW)
    assert refused.value.current.content == "Riley's edit"
    assert post.content == "Riley's edit"


def test_the_version_moves_even_when_only_a_variant_changed(db, marketer):
    post = create_post(draft(), actor=marketer, now=NOW).post
    before = post.version
    update_post(post, draft(variants={"x": "New X text"}, expected_version=before), actor=marketer, now=NOW)
    assert post.version == before + 1


def test_a_scheduled_post_cannot_go_back_to_draft(db, marketer):
    post = create_post(draft(action="schedule", scheduled_at=TOMORROW_9_BERLIN), actor=marketer, now=NOW).post
    with pytest.raises(ValidationError, match="cannot go back to being a draft"):
        update_post(post, draft(expected_version=post.version), actor=marketer, now=NOW)


@pytest.mark.parametrize("status", ["queued", "published"])
def test_queued_and_published_posts_cannot_be_edited(db, marketer, status):
    post = create_post(draft(), actor=marketer, now=NOW).post
    post.status = status
    db.session.flush()
    with pytest.raises(ConflictError):
        update_post(post, draft(expected_version=post.version), actor=marketer, now=NOW)


def test_a_queued_post_cannot_be_deleted_and_a_published_one_is_removed_from_stella_only(db, marketer):
    queued = create_post(draft(), actor=marketer, now=NOW).post
    queued.status = "queued"
    published = create_post(draft(), actor=marketer, now=NOW).post
    published.status = "published"
    db.session.flush()
    with pytest.raises(ConflictError, match="being published right now"):
        delete_post(queued, actor=marketer)
    assert "still live on the platforms" in delete_post(published, actor=marketer)


def test_staff_cannot_create_posts(db):
    staff = make_user("staff")
    with pytest.raises(PermissionDeniedError):
        create_post(draft(), actor=staff, now=NOW)


def test_a_teammate_may_own_the_post_and_their_accounts_are_used(db, marketer):
    teammate = make_user("marketing", display_name="Riley")
    connect(teammate, "x")
    post = create_post(draft(platforms=["x"], owner_id=teammate.id), actor=marketer, now=NOW).post
    assert post.owner_id == teammate.id and post.created_by == marketer.id
    connection = db.session.scalar(sa.select(SocialConnection).filter_by(user_id=teammate.id, provider="x"))
    assert post.targets[0].connection_id == connection.id


def test_a_staff_member_cannot_own_a_post(db, marketer):
    staff = make_user("staff", display_name="Sam")
    with pytest.raises(ValidationError, match="Sam cannot own posts") as refused:
        create_post(draft(owner_id=staff.id), actor=marketer, now=NOW)
    assert refused.value.field == "owner_id"


def test_variants_and_options_for_platforms_not_chosen_are_refused(db, marketer):
    with pytest.raises(ValidationError, match="variant for tiktok"):
        create_post(draft(variants={"tiktok": "hi"}), actor=marketer, now=NOW)
    with pytest.raises(ValidationError, match="options for youtube"):
        create_post(draft(options={"youtube": {"title": "t"}}), actor=marketer, now=NOW)


def test_an_empty_thread_part_is_refused(db, marketer):
    with pytest.raises(ValidationError, match="thread part is empty"):
        create_post(draft(platforms=["x"], thread_parts=["ok", "  "]), actor=marketer, now=NOW)
