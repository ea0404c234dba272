"""/api/v1/posts and /api/v1/validate: the composer's service and permissions as JSON — times with offsets or as
local times (gaps and overlaps), idempotent creates (including two at once), filtered keyset pages, If-Match
updates, deletes, the live checks, and JSON errors naming the field and platform. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
import sqlalchemy as sa
from flask import Flask

import stella.api.posts as posts_api
from stella import create_app
from stella.extensions import db as _db
from stella.models import ApiIdempotencyKey, MediaAsset, SocialConnection, SocialPost
from stella.providers.http import HttpClient
from stella.services import api_tokens as token_service
from stella.services.platforms import HTTP_CLIENT_KEY
from tests.conftest import PG_ENV, StellaTestClient, make_test_config
from tests.databases import temporary_postgres
from tests.factories import make_post, make_user
from tests.unit.test_media_probe import make_image

API = "/api/v1"
# Far enough ahead of the real clock (the API reads it) to stay in the future; US clocks change on these days.
FUTURE = datetime(2030, 6, 1, 14, 0, tzinfo=UTC)
SPRING_GAP = "2030-03-10T02:30"  # America/New_York jumps from 02:00 to 03:00
FALL_OVERLAP = "2030-11-03T01:30"  # America/New_York runs 01:00–02:00 twice


@pytest.fixture()
def api_user(db, now):
    """`api_user("marketing", "x", "bluesky")` → (user, headers) for a new user with those platforms connected."""

    def make(role: str = "marketing", *platforms: str, timezone: str = "UTC"):
        user = make_user(role, timezone=timezone)
        for name in platforms:
            _db.session.add(SocialConnection(user_id=user.id, provider=name, status="connected"))
        _, token = token_service.create_api_token(user, "test", now)
        _db.session.commit()
        return user, {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture()
def marketer(api_user):
    return api_user("marketing", "x", "linkedin", "bluesky", timezone="America/New_York")


def body(**fields: Any) -> dict[str, Any]:
    fields.setdefault("content", "Just listed: 4-bed colonial on Maple Ridge. Tour it Saturday 11–2.")
    fields.setdefault("platforms", ["x", "linkedin"])
    return fields


def create(client, headers, expect: int = 201, **fields: Any) -> dict[str, Any]:
    response = client.post(f"{API}/posts", json=body(**fields), headers=headers)
    assert response.status_code == expect, response.get_data(as_text=True)
    return response.get_json()


def errors_of(response, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    found = response.get_json()["errors"]
    assert found and all(set(error) == {"field", "platform", "message"} for error in found)
    return found


def the_error(response, status: int, field: str | None) -> str:
    found = errors_of(response, status)
    assert [error["field"] for error in found] == [field], found
    return found[0]["message"]


def if_match(post: dict[str, Any]) -> dict[str, str]:
    return {"If-Match": f'"{post["version"]}"'}


def post_count() -> int:
    return int(_db.session.scalar(sa.select(sa.func.count()).select_from(SocialPost)) or 0)


# -- creating ----------------------------------------------------------------------------------------------------


def test_a_draft_is_created_with_every_field_returned(client, marketer):
    user, headers = marketer
    response = client.post(f"{API}/posts", headers=headers, json=body(
        thread=["Part two: the kitchen.", "Part three: the garden."], platforms=["x", "bluesky"],
        variants={"bluesky": "Bluesky gets its own words."}, options={"x": {"reply_settings": "following"}},
        campaign="Maple Ridge", notes="Ask Dana about the photos", approval_required=True,
    ))
    assert response.status_code == 201, response.get_data(as_text=True)
    post = response.get_json()
    assert response.headers["ETag"] == f'"{post["version"]}"'
    assert response.headers["Location"] == f"{API}/posts/{post['id']}"
    assert post["status"] == "draft" and post["scheduled_at"] is None and post["local_time"] is None
    assert post["thread"] == ["Part two: the kitchen.", "Part three: the garden."]
    assert post["platforms"] == ["x", "bluesky"]
    assert post["campaign"] == "Maple Ridge" and post["notes"] == "Ask Dana about the photos"
    assert post["approval_required"] is True
    assert post["owner_id"] == post["created_by"] == str(user.id)
    assert post["timezone"] == "America/New_York"
    targets = {t["platform"]: t for t in post["targets"]}
    assert targets["bluesky"]["variant"] == "Bluesky gets its own words." and targets["x"]["variant"] is None
    assert targets["x"]["options"] == {"reply_settings": "following"}
    assert all(t["connection_id"] for t in targets.values())
    assert post["media"] == []
    assert client.get(f"{API}/posts/{post['id']}", headers=headers).get_json() == post


def test_scheduling_with_an_offset_stores_utc_and_shows_the_authors_local_time(client, marketer):
    _, headers = marketer
    post = create(client, headers, action="schedule", scheduled_at="2030-06-01T10:00:00-04:00",
                  timezone="America/New_York")
    assert post["status"] == "scheduled"
    assert post["scheduled_at"] == "2030-06-01T14:00:00Z"
    assert post["local_time"] == "2030-06-01T10:00" and post["timezone"] == "America/New_York"


def test_publish_now_schedules_the_post_for_the_present_moment(client, marketer):
    _, headers = marketer
    post = create(client, headers, action="publish_now")
    assert post["status"] == "scheduled"
    due = datetime.fromisoformat(post["scheduled_at"])
    assert abs(due - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_local_time_is_read_in_the_zone_given(client, marketer):
    _, headers = marketer
    post = create(client, headers, action="schedule", local_time="2030-06-01T09:30", timezone="Europe/Berlin")
    assert post["scheduled_at"] == "2030-06-01T07:30:00Z"
    assert post["local_time"] == "2030-06-01T09:30" and post["timezone"] == "Europe/Berlin"


def test_a_local_time_without_a_zone_is_in_the_users_own_zone(client, marketer):
    _, headers = marketer
    post = create(client, headers, action="schedule", local_time="2030-06-01T09:30")
    assert post["scheduled_at"] == "2030-06-01T13:30:00Z" and post["timezone"] == "America/New_York"


def test_a_local_time_skipped_by_the_clocks_is_refused_at_local_time(client, marketer):
    _, headers = marketer
    response = client.post(f"{API}/posts", headers=headers, json=body(
        action="schedule", local_time=SPRING_GAP, timezone="America/New_York"))
    message = the_error(response, 422, "local_time")
    assert "does not exist" in message and "03:00" in message
    assert post_count() == 0


def test_an_ambiguous_local_time_needs_fold_and_fold_chooses(client, marketer):
    _, headers = marketer
    response = client.post(f"{API}/posts", headers=headers, json=body(
        action="schedule", local_time=FALL_OVERLAP, timezone="America/New_York"))
    message = the_error(response, 422, "local_time")
    assert "happens twice" in message and "fold" in message
    first = create(client, headers, action="schedule", local_time=FALL_OVERLAP, timezone="America/New_York", fold=0)
    second = create(client, headers, action="schedule", local_time=FALL_OVERLAP, timezone="America/New_York",
                    fold=1)
    assert first["scheduled_at"] == "2030-11-03T05:30:00Z"
    assert second["scheduled_at"] == "2030-11-03T06:30:00Z"


def test_a_past_time_is_refused_naming_the_field_it_came_in(client, marketer):
    _, headers = marketer
    response = client.post(f"{API}/posts", headers=headers,
                           json=body(action="schedule", scheduled_at="2020-01-01T09:00:00Z"))
    assert "in the past" in the_error(response, 422, "scheduled_at")
    response = client.post(f"{API}/posts", headers=headers,
                           json=body(action="schedule", local_time="2020-01-01T09:00", timezone="UTC"))
    assert "in the past" in the_error(response, 422, "local_time")


def test_a_draft_may_keep_a_past_planned_time(client, marketer):
    _, headers = marketer
    post = create(client, headers, scheduled_at="2020-01-01T09:00:00Z")
    assert post["status"] == "draft" and post["scheduled_at"] == "2020-01-01T09:00:00Z"


def test_an_unknown_time_zone_is_refused(client, marketer):
    _, headers = marketer
    response = client.post(f"{API}/posts", headers=headers,
                           json=body(action="schedule", local_time="2030-06-01T09:30", timezone="Mars/Olympus"))
    assert "Mars/Olympus" in the_error(response, 422, "timezone")


def test_a_time_without_an_offset_is_refused_saying_why(client, marketer):
    _, headers = marketer
    response = client.post(f"{API}/posts", headers=headers,
                           json=body(action="schedule", scheduled_at="2030-06-01T10:00:00"))
    message = the_error(response, 422, "scheduled_at")
    assert "UTC offset" in message and "local_time" in message


@pytest.mark.parametrize(("fields", "field"), [
    ({"scheduled_at": "2030-06-01T10:00:00Z", "local_time": "2030-06-01T10:00"}, "local_time"),
    ({"fold": 1}, "fold"),
    ({"local_time": "2030-02-30T10:00", "timezone": "UTC"}, "local_time"),
    ({"scheduled_at": "9999-12-31T23:59:59-23:59"}, "scheduled_at"),
    ({"local_time": "9999-12-31T23:59", "timezone": "Pacific/Kiritimati"}, "local_time"),
])
def test_contradictory_or_impossible_times_are_refused(client, marketer, fields, field):
    _, headers = marketer
    the_error(client.post(f"{API}/posts", headers=headers, json=body(**fields)), 422, field)


def test_platform_problems_come_back_one_per_problem_naming_the_platform(client, api_user):
    _, headers = api_user("marketing", "linkedin")  # X is not connected
    response = client.post(f"{API}/posts", headers=headers,
                           json=body(content="x" * 300, platforms=["x", "linkedin"], action="schedule",
                                     scheduled_at=FUTURE.isoformat()))
    found = errors_of(response, 422)
    assert {error["field"] for error in found} == {"platforms"}
    assert {error["platform"] for error in found} == {"x"}
    assert len(found) >= 2  # not connected, and too long
    assert any("not connected" in error["message"] for error in found)
    assert post_count() == 0


def test_unknown_fields_and_wrong_types_are_refused_by_name(client, marketer):
    _, headers = marketer
    the_error(client.post(f"{API}/posts", headers=headers, json=body(colour="red")), 422, "colour")
    the_error(client.post(f"{API}/posts", headers=headers, json=body(platforms="x")), 422, "platforms")
    the_error(client.post(f"{API}/posts", headers=headers, json=body(fold=True)), 422, "fold")
    message = the_error(client.post(f"{API}/posts", headers=headers, json=body(platforms=["x", "myspace"])), 422,
                        "platforms")
    assert "myspace" in message


def test_html_is_stored_as_typed_and_returned_as_json_text(client, marketer):
    _, headers = marketer
    text = '<script>alert("hi")</script> & <b>bold</b> \'quoted\''
    response = client.post(f"{API}/posts", headers=headers, json=body(content=text))
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    raw = response.get_data(as_text=True)
    assert "&lt;" not in raw and "&amp;" not in raw
    assert json.loads(raw)["content"] == text
    post = _db.session.get(SocialPost, uuid.UUID(response.get_json()["id"]))
    assert post.content == text


# -- media -------------------------------------------------------------------------------------------------------


@responses.activate
def test_media_urls_are_fetched_once_and_attached_after_uploaded_media(client, marketer, app):
    user, headers = marketer
    responses.get("https://cdn.example.com/front.jpg", body=make_image("JPEG"), content_type="image/jpeg")
    uploaded = MediaAsset(sha256="0" * 64, kind="image", mime_type="image/png", size_bytes=10, width=4, height=3,
                          public_token="tok-" + uuid.uuid4().hex, created_by=user.id)
    _db.session.add(uploaded)
    _db.session.commit()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    request = body(media=[{"media_id": str(uploaded.id), "alt_text": "The porch"}],
                   media_urls=["https://cdn.example.com/front.jpg", "https://cdn.example.com/front.jpg"])
    response = client.post(f"{API}/posts", headers=headers | key, json=request)
    assert response.status_code == 201, response.get_data(as_text=True)
    media = response.get_json()["media"]
    assert media[0]["id"] == str(uploaded.id) and media[0]["alt_text"] == "The porch"
    assert media[1]["id"] == media[2]["id"] and media[1]["kind"] == "image" and media[1]["mime_type"] == "image/jpeg"
    assert media[1]["url"].startswith("http://127.0.0.1:5000/media/")
    assert len(responses.calls) == 1
    # A retry with the same key answers from the saved post: nothing is fetched again.
    replay = client.post(f"{API}/posts", headers=headers | key, json=request)
    assert replay.status_code == 200 and len(responses.calls) == 1


@responses.activate
def test_a_media_url_that_is_not_http_is_refused_at_its_index(client, marketer):
    _, headers = marketer
    responses.get("https://cdn.example.com/front.jpg", body=make_image("JPEG"), content_type="image/jpeg")
    response = client.post(f"{API}/posts", headers=headers,
                           json=body(media_urls=["https://cdn.example.com/front.jpg", "ftp://cdn.example.com/a.jpg"]))
    assert "https://" in the_error(response, 422, "media_urls.1")
    assert post_count() == 0


def test_a_private_media_address_is_refused_and_never_contacted(client, marketer, app, monkeypatch):
    _, headers = marketer
    monkeypatch.setitem(app.extensions, HTTP_CLIENT_KEY, HttpClient(allow_private_hosts=False))
    monkeypatch.setattr(socket, "getaddrinfo",
                        lambda host, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 443))])
    with responses.RequestsMock() as mock:
        response = client.post(f"{API}/posts", headers=headers,
                               json=body(media_urls=["https://printer.example.com/scan.jpg"]))
        assert len(mock.calls) == 0
    assert "private or local network address" in the_error(response, 422, "media_urls.0")


# -- idempotency -------------------------------------------------------------------------------------------------


def test_the_same_idempotency_key_returns_the_same_post(client, marketer):
    _, headers = marketer
    keyed = headers | {"Idempotency-Key": "listing-4711"}
    first = client.post(f"{API}/posts", headers=keyed, json=body(campaign="Maple Ridge"))
    # The same fields, spaced and ordered differently, are the same request.
    again = client.post(f"{API}/posts", headers=keyed | {"Content-Type": "application/json"},
                        data=json.dumps(dict(reversed(list(body(campaign="Maple Ridge").items()))), indent=2))
    assert first.status_code == 201 and again.status_code == 200, again.get_data(as_text=True)
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true" and again.headers["ETag"] == first.headers["ETag"]
    assert post_count() == 1


def test_an_idempotency_key_reused_for_another_request_is_refused(client, marketer):
    _, headers = marketer
    keyed = headers | {"Idempotency-Key": "listing-4711"}
    create(client, keyed, content="First text")
    response = client.post(f"{API}/posts", headers=keyed, json=body(content="Different text"))
    assert "different request" in the_error(response, 422, "Idempotency-Key")
    assert post_count() == 1


def test_idempotency_keys_are_per_user(client, marketer, api_user):
    _, headers = marketer
    _, other = api_user("marketing", "x", "linkedin")
    one = create(client, headers | {"Idempotency-Key": "shared"})
    two = create(client, other | {"Idempotency-Key": "shared"})
    assert one["id"] != two["id"] and post_count() == 2


def test_a_refused_create_does_not_use_up_its_key(client, marketer):
    _, headers = marketer
    keyed = headers | {"Idempotency-Key": "retry-me"}
    refused = client.post(f"{API}/posts", headers=keyed, json=body(action="schedule"))  # no time
    the_error(refused, 422, "scheduled_at")
    create(client, keyed, action="schedule", scheduled_at=FUTURE.isoformat())
    assert post_count() == 1


def test_a_key_whose_post_was_deleted_says_so(client, marketer):
    _, headers = marketer
    keyed = headers | {"Idempotency-Key": "gone"}
    post = create(client, keyed)
    assert client.delete(f"{API}/posts/{post['id']}", headers=headers).status_code == 204
    assert "deleted" in the_error(client.post(f"{API}/posts", headers=keyed, json=body()), 409, "Idempotency-Key")


def test_losing_the_race_for_a_key_answers_with_the_winners_post(client, marketer, monkeypatch):
    """The unique constraint decides: a request that looked before the winner committed fails to insert the key
    and answers with the winner's post (the threaded test below shows it end to end)."""
    _, headers = marketer
    keyed = headers | {"Idempotency-Key": "race"}
    winner = create(client, keyed)
    real_find = posts_api.find_idempotency_key
    looks: list[str] = []

    def not_yet_committed(user_id: uuid.UUID, key: str) -> ApiIdempotencyKey | None:
        looks.append(key)
        return None if len(looks) == 1 else real_find(user_id, key)

    monkeypatch.setattr(posts_api, "find_idempotency_key", not_yet_committed)
    loser = client.post(f"{API}/posts", headers=keyed, json=body())
    assert loser.status_code == 200, loser.get_data(as_text=True)
    assert loser.get_json()["id"] == winner["id"] and len(looks) == 2
    assert post_count() == 1


@pytest.fixture()
def own_app(backend: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on a database of its own, committed for real, so simultaneous requests really race."""

    def build(url: str) -> Flask:
        application = create_app(make_test_config(url, tmp_path / "instance"))
        application.test_client_class = StellaTestClient
        with application.app_context():
            _db.create_all()
        return application

    if backend == "sqlite":
        application = build(f"sqlite:///{tmp_path / 'race.db'}")
        yield application
        with application.app_context():
            _db.engine.dispose()
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV}")
    with temporary_postgres(base) as url:
        application = build(url)
        yield application
        with application.app_context():
            _db.engine.dispose()


def test_simultaneous_creates_with_one_key_make_one_post(own_app):
    with own_app.app_context():
        user = make_user("marketing")
        _db.session.add(SocialConnection(user_id=user.id, provider="x", status="connected"))
        _, token = token_service.create_api_token(user, "race", datetime.now(UTC))
        _db.session.commit()
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "double-click"}
    request = body(platforms=["x"], action="schedule", scheduled_at=FUTURE.isoformat())
    barrier = threading.Barrier(4)
    results: list[Any] = [None] * 4

    def send(index: int) -> None:
        client = own_app.test_client()
        barrier.wait()
        try:
            results[index] = client.post(f"{API}/posts", headers=headers, json=request)
        except Exception as error:  # a 500 re-raises in testing: keep it to report
            results[index] = error

    threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not [r for r in results if isinstance(r, Exception) or r is None], results
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 200, 200, 201], [r.get_data(as_text=True) for r in results]
    assert len({r.get_json()["id"] for r in results}) == 1
    with own_app.app_context():
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(SocialPost)) == 1
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(ApiIdempotencyKey)) == 1


# -- listing -----------------------------------------------------------------------------------------------------


def listed_key(post: SocialPost) -> tuple[datetime, uuid.UUID]:
    shown = post.posted_at if post.status == "published" and post.posted_at else post.scheduled_at
    return (shown or post.created_at, post.id)


def all_pages(client, headers, limit: int, **query: str) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        args = {**query, "limit": str(limit)} | ({"cursor": cursor} if cursor else {})
        response = client.get(f"{API}/posts", headers=headers, query_string=args)
        assert response.status_code == 200, response.get_data(as_text=True)
        data = response.get_json()
        pages.append([item["id"] for item in data["items"]])
        cursor = data["next"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "the cursor does not advance"


def test_cursor_pages_cover_every_post_once_in_order(client, marketer):
    user, headers = marketer
    same_time = FUTURE + timedelta(days=3)
    for _ in range(4):  # ties on the time: the id decides
        make_post(user, status="scheduled", scheduled_at=same_time)
    for day in range(3):
        make_post(user, scheduled_at=FUTURE + timedelta(days=day))
    make_post(user, status="published", scheduled_at=FUTURE, posted_at=FUTURE - timedelta(days=30))
    for _ in range(3):  # drafts without a time, listed by when they were written (a server default)
        make_post(user)
    make_post(user, created_at=datetime(2026, 1, 1, 8, 30, 15, 123456, tzinfo=UTC))
    _db.session.commit()

    pages = all_pages(client, headers, limit=3)
    listed = [post_id for page in pages for post_id in page]
    assert all(len(page) == 3 for page in pages[:-1]) and pages[-1]
    assert len(listed) == len(set(listed)) == post_count() == 12
    posts = {str(p.id): p for p in _db.session.scalars(sa.select(SocialPost))}
    expected = sorted(posts.values(), key=listed_key, reverse=True)
    assert listed == [str(p.id) for p in expected]


def test_posts_added_while_paging_are_neither_repeated_nor_skipped(client, marketer):
    user, headers = marketer
    for day in range(6):
        make_post(user, scheduled_at=FUTURE + timedelta(days=day))
    _db.session.commit()
    first = client.get(f"{API}/posts", headers=headers, query_string={"limit": 3}).get_json()
    # A newer post lands before the cursor; an older one after it.
    make_post(user, scheduled_at=FUTURE + timedelta(days=30))
    older = make_post(user, scheduled_at=FUTURE - timedelta(days=30))
    _db.session.commit()
    rest = client.get(f"{API}/posts", headers=headers, query_string={"limit": 10, "cursor": first["next"]})
    later = [item["id"] for item in rest.get_json()["items"]]
    seen = [item["id"] for item in first["items"]] + later
    assert len(seen) == len(set(seen)) == 7 and seen[-1] == str(older.id)


def test_filters_narrow_the_list_as_on_the_posts_page(client, marketer, api_user):
    user, headers = marketer
    teammate, _ = api_user("marketing")
    ny_evening = make_post(user, platforms=["x"], status="scheduled", campaign="Maple Ridge",
                           content="Open house on Maple Ridge", scheduled_at=datetime(2030, 6, 1, 3, 0, tzinfo=UTC))
    linkedin = make_post(user, platforms=["linkedin"], campaign="Harbor View", content="Harbor View listing",
                         scheduled_at=datetime(2030, 6, 2, 15, 0, tzinfo=UTC))
    theirs = make_post(teammate, platforms=["x", "linkedin"], content="Price drop on Elm Street")
    _db.session.commit()

    def ids(**query: str) -> set[str]:
        response = client.get(f"{API}/posts", headers=headers, query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        return {item["id"] for item in response.get_json()["items"]}

    assert ids(status="scheduled") == {str(ny_evening.id)}
    assert ids(platform="linkedin") == {str(linkedin.id), str(theirs.id)}
    assert ids(campaign="Harbor View") == {str(linkedin.id)}
    assert ids(owner=str(teammate.id)) == {str(theirs.id)}
    assert ids(q="maple") == {str(ny_evening.id)}
    # Days are the user's (New York): 03:00 UTC on June 1 is the evening of May 31 there.
    assert ids(**{"from": "2030-06-01"}) == {str(linkedin.id)}
    assert ids(to="2030-05-31") == {str(ny_evening.id)}
    assert ids(platform="x", owner=str(user.id)) == {str(ny_evening.id)}


@pytest.mark.parametrize(("query", "field"), [
    ({"status": "archived"}, "status"),
    ({"platform": "myspace"}, "platform"),
    ({"limit": "101"}, "limit"),
    ({"limit": "0"}, "limit"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"to": "0"}, "to"),
    ({"from": "2030-06-02", "to": "2030-06-01"}, "to"),
    ({"colour": "red"}, "colour"),
])
def test_bad_list_parameters_are_refused_by_name(client, marketer, query, field):
    _, headers = marketer
    the_error(client.get(f"{API}/posts", headers=headers, query_string=query), 422, field)


# -- reading, updating, deleting ---------------------------------------------------------------------------------


def test_an_unknown_post_is_a_json_404(client, marketer):
    _, headers = marketer
    for method in ("get", "patch", "delete"):
        response = getattr(client, method)(f"{API}/posts/{uuid.uuid4()}", headers=headers | {"If-Match": '"1"'},
                                           **({"json": {}} if method == "patch" else {}))
        the_error(response, 404, None)


def test_patch_changes_only_what_is_sent_and_moves_the_version(client, marketer):
    _, headers = marketer
    post = create(client, headers, action="schedule", scheduled_at=FUTURE.isoformat(), campaign="Maple Ridge",
                  variants={"x": "Short for X"})
    response = client.patch(f"{API}/posts/{post['id']}", headers=headers | if_match(post),
                            json={"content": "New words", "notes": "Checked with Dana"})
    assert response.status_code == 200, response.get_data(as_text=True)
    changed = response.get_json()
    assert changed["version"] > post["version"] and response.headers["ETag"] == f'"{changed["version"]}"'
    assert changed["content"] == "New words" and changed["notes"] == "Checked with Dana"
    assert changed["status"] == "scheduled" and changed["scheduled_at"] == post["scheduled_at"]
    assert changed["campaign"] == "Maple Ridge" and changed["platforms"] == ["linkedin", "x"]
    assert {t["platform"]: t["variant"] for t in changed["targets"]} == {"linkedin": None, "x": "Short for X"}

    # Dropping a platform drops its variant; null clears a campaign.
    response = client.patch(f"{API}/posts/{post['id']}", headers=headers | if_match(changed),
                            json={"platforms": ["linkedin"], "campaign": None})
    assert response.status_code == 200, response.get_data(as_text=True)
    changed = response.get_json()
    assert changed["platforms"] == ["linkedin"] and changed["campaign"] is None

    response = client.patch(f"{API}/posts/{post['id']}", headers=headers | if_match(changed),
                            json={"local_time": "2030-07-04T09:00"})
    assert response.get_json()["scheduled_at"] == "2030-07-04T13:00:00Z"  # in the post's zone, New York


def test_patch_with_a_stale_version_answers_412_with_the_current_post(client, marketer):
    _, headers = marketer
    post = create(client, headers)
    theirs = client.patch(f"{API}/posts/{post['id']}", headers=headers | if_match(post), json={"content": "Theirs"})
    assert theirs.status_code == 200
    current = theirs.get_json()["version"]
    response = client.patch(f"{API}/posts/{post['id']}", headers=headers | if_match(post), json={"content": "Mine"})
    assert response.status_code == 412, response.get_data(as_text=True)
    data = response.get_json()
    assert data["errors"][0]["field"] == "If-Match" and f"version {current}" in data["errors"][0]["message"]
    assert data["current"]["content"] == "Theirs" and data["current"]["version"] == current
    assert response.headers["ETag"] == f'"{current}"'
    # A weak tag never matches (strong comparison).
    assert client.patch(f"{API}/posts/{post['id']}", headers=headers | {"If-Match": f'W/"{current}"'},
                        json={"content": "Mine"}).status_code == 412
    assert client.get(f"{API}/posts/{post['id']}", headers=headers).get_json()["content"] == "Theirs"


def test_patch_without_if_match_is_428(client, marketer):
    _, headers = marketer
    post = create(client, headers)
    for sent in ({}, {"If-Match": "*"}):
        response = client.patch(f"{API}/posts/{post['id']}", headers=headers | sent, json={"content": "Mine"})
        assert "If-Match" in the_error(response, 428, "If-Match")
    assert client.get(f"{API}/posts/{post['id']}", headers=headers).get_json()["content"] == post["content"]


def test_patch_refuses_null_for_fields_that_cannot_be_empty(client, marketer):
    _, headers = marketer
    post = create(client, headers)
    response = client.patch(f"{API}/posts/{post['id']}", headers=headers | if_match(post), json={"content": None})
    the_error(response, 422, "content")


def test_a_published_post_cannot_be_changed(client, marketer):
    user, headers = marketer
    post = make_post(user, status="published", posted_at=FUTURE - timedelta(days=1))
    _db.session.commit()
    response = client.patch(f"{API}/posts/{post.id}", headers=headers | {"If-Match": f'"{post.version}"'},
                            json={"content": "Edited"})
    assert "published" in the_error(response, 409, "status")


def test_deleting_a_draft_is_204(client, marketer):
    _, headers = marketer
    post = create(client, headers)
    response = client.delete(f"{API}/posts/{post['id']}", headers=headers)
    assert response.status_code == 204 and response.get_data() == b""
    the_error(client.get(f"{API}/posts/{post['id']}", headers=headers), 404, None)


def test_deleting_a_published_post_says_it_stays_live(client, marketer):
    user, headers = marketer
    post = make_post(user, platforms=["x", "linkedin"], status="published", posted_at=FUTURE - timedelta(days=1))
    _db.session.commit()
    response = client.delete(f"{API}/posts/{post.id}", headers=headers)
    assert response.status_code == 200
    data = response.get_json()
    assert data["id"] == str(post.id) and data["platforms"] == ["x", "linkedin"]
    assert "still live" in data["message"]
    assert _db.session.get(SocialPost, post.id) is None


def test_a_queued_post_cannot_be_deleted(client, marketer):
    user, headers = marketer
    post = make_post(user, status="queued", scheduled_at=FUTURE)
    _db.session.commit()
    assert "being published" in the_error(client.delete(f"{API}/posts/{post.id}", headers=headers), 409, "status")
    assert _db.session.get(SocialPost, post.id) is not None


# -- who may do what ---------------------------------------------------------------------------------------------


def test_staff_may_read_but_not_write(client, marketer, api_user):
    user, _ = marketer
    _, staff = api_user("staff")
    post = make_post(user)
    _db.session.commit()
    assert client.get(f"{API}/posts", headers=staff).status_code == 200
    assert client.get(f"{API}/posts/{post.id}", headers=staff).get_json()["id"] == str(post.id)
    writes = [
        client.post(f"{API}/posts", headers=staff, json=body()),
        client.patch(f"{API}/posts/{post.id}", headers=staff | {"If-Match": '"1"'}, json={"content": "x"}),
        client.delete(f"{API}/posts/{post.id}", headers=staff),
        client.post(f"{API}/validate", headers=staff, json=body()),
    ]
    for response in writes:
        the_error(response, 403, None)
    assert post_count() == 1


def test_a_teammates_post_is_shared_and_its_owner_rules_are_the_services(client, marketer, api_user):
    owner, owner_headers = marketer
    _, other = api_user("marketing", "x", "linkedin")
    staff_user, _ = api_user("staff")
    post = create(client, owner_headers)
    assert client.get(f"{API}/posts/{post['id']}", headers=other).status_code == 200
    # The team shares posts: a teammate may edit it; it keeps its owner.
    response = client.patch(f"{API}/posts/{post['id']}", headers=other | if_match(post),
                            json={"content": "Edited by a teammate"})
    assert response.status_code == 200 and response.get_json()["owner_id"] == str(owner.id)
    # Only an active teammate who may create posts can own one.
    response = client.post(f"{API}/posts", headers=owner_headers, json=body(owner_id=str(staff_user.id)))
    assert "cannot own posts" in the_error(response, 422, "owner_id")
    response = client.post(f"{API}/posts", headers=owner_headers, json=body(owner_id=str(uuid.uuid4())))
    the_error(response, 422, "owner_id")


# -- live checks -------------------------------------------------------------------------------------------------


def test_validate_returns_each_platforms_checks_as_the_composer_shows_them(client, marketer):
    _, headers = marketer
    response = client.post(f"{API}/validate", headers=headers, json=body(
        content="https://example.com/" + "a" * 100, platforms=["x", "bluesky", "instagram"]))
    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.get_json()["results"]
    assert list(results) == ["instagram", "x", "bluesky"]  # the order people know the platforms in
    assert results["x"] == {"length": 23, "limit": 280, "unit": "characters", "ok": True, "problems": [],
                            "part_lengths": [23]}
    assert results["bluesky"]["length"] == 120 and results["bluesky"]["limit"] == 300
    assert results["instagram"]["ok"] is False
    assert "not_connected" in [p["code"] for p in results["instagram"]["problems"]]
    assert post_count() == 0


def test_validate_counts_graphemes_for_bluesky_and_each_thread_part(client, marketer):
    _, headers = marketer
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
    response = client.post(f"{API}/validate", headers=headers,
                           json=body(content=f"Hi {family}", platforms=["bluesky"], thread=["x" * 301]))
    check = response.get_json()["results"]["bluesky"]
    assert check["length"] == 4 and check["part_lengths"] == [4, 301]
    assert check["ok"] is False and check["problems"][0]["message"].startswith("Part 2")
