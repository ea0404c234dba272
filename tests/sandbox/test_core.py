"""The sandbox core: consent pages, single-use codes, PKCE, fault injection, clock, metrics, ground truth."""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Blueprint, Response, jsonify, request

from stella.sandbox import core
from stella.sandbox.core import SandboxPlatform, create_sandbox_app
from stella.sandbox.server import serve_in_thread
from tests.sandbox.conftest import sandbox_settings

bp = Blueprint("sandbox_demo", __name__)


def _expired() -> Response:
    response = jsonify({"error": "ExpiredToken", "message": "Token has expired"})
    response.status_code = 400
    return response


DEMO = SandboxPlatform(
    name="demo", display_name="Demo", blueprint=bp, hosts=("demo.example",), expired_token=_expired
)


@bp.route("/demo.example/oauth/authorize", methods=["GET", "POST"])
def authorize() -> Response:
    return core.authorize_page(
        DEMO,
        client_id=request.args["client_id"],
        redirect_uri=request.args["redirect_uri"],
        state=request.args.get("state"),
        scopes=request.args.get("scope", "").split(),
        account_id="acct-1",
        account_label="Harbor & Vine Realty",
        code_challenge=request.args.get("code_challenge"),
        code_challenge_method=request.args.get("code_challenge_method"),
    )


@bp.post("/demo.example/posts")
def create_post() -> Response:
    post = core.store().record_post(
        "demo", account_id="acct-1", platform_post_id=str(core.store().next_number("demo", "post", start=100)),
        text=request.get_json()["text"], now=core.now(), idempotency_key=request.headers.get("Idempotency-Key"),
    )
    core.after_create("demo")
    return jsonify({"id": post.platform_post_id})


@pytest.fixture()
def demo_app():
    app = create_sandbox_app(sandbox_settings=sandbox_settings(hang_seconds=0.6), platforms=(DEMO,))
    app.config["TESTING"] = True
    return app


@pytest.fixture()
def client(demo_app):
    return demo_app.test_client()


AUTHORIZE = "/demo.example/oauth/authorize?client_id=sandbox-demo-id&redirect_uri=http://127.0.0.1:5000/cb&state=s1&scope=a+b"


def test_consent_page_shows_the_app_and_the_scopes_with_allow_and_deny(client):
    page = client.get(AUTHORIZE).get_data(as_text=True)
    assert "Demo" in page and "Harbor &amp; Vine Realty" in page
    assert "<li>a</li>" in page and "<li>b</li>" in page
    assert 'value="allow"' in page and 'value="deny"' in page


def test_allow_redirects_back_with_a_code_and_the_state(client):
    response = client.post(AUTHORIZE, data={"decision": "allow"})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    query = parse_qs(location.query)
    assert location.path == "/cb" and query["state"] == ["s1"] and query["code"][0]


def test_deny_redirects_back_with_access_denied(client):
    response = client.post(AUTHORIZE, data={"decision": "deny"})
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["s1"] and "code" not in query


def test_a_code_works_once_and_then_reports_it_was_used(demo_app):
    with demo_app.app_context():
        store, now = core.store(), core.now()
        code = store.issue_code("demo", client_id="c", redirect_uri="r", scopes=["a"], account_id="x", now=now)
        first, reason = store.consume_code("demo", code, now=now)
        assert first is not None and reason is None
        _, again = store.consume_code("demo", code, now=now)
        assert again == "used"
        assert store.consume_code("demo", "nope", now=now) == (None, "unknown")


def test_a_code_used_after_its_lifetime_is_expired(demo_app):
    with demo_app.app_context():
        store, now = core.store(), core.now()
        code = store.issue_code("demo", client_id="c", redirect_uri="r", scopes=[], account_id="x", now=now,
                                ttl=timedelta(seconds=30))
        _, reason = store.consume_code("demo", code, now=now + timedelta(seconds=31))
        assert reason == "expired"


def test_pkce_s256_verifier_must_match_the_challenge():
    verifier = "a" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert core.verify_pkce(verifier, challenge, "S256")
    assert not core.verify_pkce("b" * 50, challenge, "S256")
    assert not core.verify_pkce(None, challenge, "S256")


def test_client_credentials_are_read_from_basic_or_body_only_as_asked(demo_app):
    basic = base64.b64encode(b"id-1:secret-1").decode()
    with demo_app.test_request_context("/", method="POST", headers={"Authorization": f"Basic {basic}"}):
        assert core.client_credentials_from_request("basic") == ("id-1", "secret-1")
        assert core.client_credentials_from_request("body") is None
    with demo_app.test_request_context("/", method="POST", data={"client_id": "id-2", "client_secret": "s-2"}):
        assert core.client_credentials_from_request("body") == ("id-2", "s-2")
        assert core.client_credentials_from_request("basic") is None


def test_the_default_client_exists_with_the_stella_callback_registered(demo_app):
    with demo_app.app_context():
        client = core.store().client("demo", "sandbox-demo-id")
        assert client and client.client_secret == "sandbox-demo-secret"
        assert client.redirect_uris == ("http://127.0.0.1:5000/connections/demo/callback",)
        assert core.store().client("demo", "someone-else") is None


def test_posts_endpoint_is_the_ground_truth_of_created_posts(client):
    client.post("/demo.example/posts", json={"text": "Open house"}, headers={"Idempotency-Key": "k1"})
    posts = client.get("/_sandbox/posts").json
    assert [(p["platform"], p["text"], p["idempotency_key"]) for p in posts] == [("demo", "Open house", "k1")]
    assert "Open house" in client.get("/").get_data(as_text=True)


def test_rate_limited_fault_answers_429_with_retry_after_then_stops_after_its_count(client):
    client.post("/_sandbox/faults", json={"kind": "rate_limited", "platform": "demo", "endpoint": "/posts",
                                          "count": 1, "retry_after": 7})
    limited = client.post("/demo.example/posts", json={"text": "a"})
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert client.post("/demo.example/posts", json={"text": "b"}).status_code == 200


def test_server_error_fault_uses_the_requested_status(client):
    client.post("/_sandbox/faults", json={"kind": "server_error", "endpoint": "/posts", "count": 1, "status": 500})
    assert client.post("/demo.example/posts", json={"text": "a"}).status_code == 500
    assert client.get("/_sandbox/posts").json == []


def test_expired_token_fault_answers_in_the_platforms_own_shape(client):
    client.post("/_sandbox/faults", json={"kind": "expired_token", "platform": "demo", "count": 1})
    response = client.post("/demo.example/posts", json={"text": "a"})
    assert response.status_code == 400 and response.json["error"] == "ExpiredToken"


def test_rejection_fault_names_its_reason(client):
    client.post("/_sandbox/faults", json={"kind": "rejection", "reason": "duplicate content", "count": 1})
    response = client.post("/demo.example/posts", json={"text": "a"})
    assert response.status_code == 400 and "duplicate content" in response.json["message"]


def test_faults_with_unknown_kind_or_fields_are_refused_and_can_be_cleared(client):
    assert client.post("/_sandbox/faults", json={"kind": "meteor"}).status_code == 400
    assert client.post("/_sandbox/faults", json={"kind": "timeout", "colour": "red"}).status_code == 400
    client.post("/_sandbox/faults", json={"kind": "timeout"})
    assert len(client.get("/_sandbox/faults").json) == 1
    client.delete("/_sandbox/faults")
    assert client.get("/_sandbox/faults").json == []


def test_timeout_fault_hangs_past_the_client_timeout(demo_app):
    import requests

    server = serve_in_thread(demo_app)
    try:
        requests.post(server.url + "/_sandbox/faults", json={"kind": "timeout", "count": 1}, timeout=5)
        started = time.monotonic()
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.post(server.url + "/demo.example/posts", json={"text": "a"}, timeout=(2, 0.2))
        assert time.monotonic() - started < 0.6
        assert requests.get(server.url + "/_sandbox/posts", timeout=5).json() == []
    finally:
        server.stop()


def test_timeout_after_create_stores_the_post_and_then_hangs(demo_app):
    import requests

    server = serve_in_thread(demo_app)
    try:
        requests.post(server.url + "/_sandbox/faults", json={"kind": "timeout_after_create", "count": 1}, timeout=5)
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.post(server.url + "/demo.example/posts", json={"text": "created anyway"}, timeout=(2, 0.2))
        posts = requests.get(server.url + "/_sandbox/posts", timeout=5).json()
        assert [p["text"] for p in posts] == ["created anyway"]
    finally:
        server.stop()


def test_fault_rate_fails_some_requests_with_503_reproducibly():
    def statuses() -> list[int]:
        app = create_sandbox_app(sandbox_settings=sandbox_settings(fault_rate=0.5, seed=7), platforms=(DEMO,))
        c = app.test_client()
        return [c.post("/demo.example/posts", json={"text": str(i)}).status_code for i in range(20)]

    first = statuses()
    assert set(first) == {200, 503} and first == statuses()


def test_clock_can_be_advanced_to_test_expiry(client, demo_app):
    with demo_app.app_context():
        before = core.now()
    client.post("/_sandbox/clock", json={"advance_seconds": 3600})
    with demo_app.app_context():
        assert core.now() - before >= timedelta(seconds=3599)


def test_metrics_are_deterministic_per_post_and_grow_with_age():
    created = datetime(2026, 11, 1, tzinfo=UTC)
    early = core.metric_values("12345", created, created + timedelta(hours=2))
    later = core.metric_values("12345", created, created + timedelta(hours=48))
    assert early == core.metric_values("12345", created, created + timedelta(hours=2))
    assert all(later[k] >= early[k] for k in early) and later["impressions"] > early["impressions"]
    assert core.metric_values("12345", created, created)["impressions"] == 0
    assert core.metric_values("99999", created, created + timedelta(hours=48)) != later


def test_rotated_refresh_tokens_can_be_marked_replaced_and_tokens_revoked(demo_app):
    with demo_app.app_context():
        store, now = core.store(), core.now()
        token = store.issue_token("demo", client_id="c", account_id="a", scopes=["x"], now=now,
                                  access_ttl=timedelta(hours=2), refresh_ttl=timedelta(days=30))
        assert token.expires_in == 7200 and token.refresh_token
        store.mark_replaced("demo", token.refresh_token, now=now)
        assert store.token_by_refresh("demo", token.refresh_token).replaced_at is not None
        assert store.revoke("demo", token.access_token, now=now)
        assert store.token("demo", token.access_token).revoked_at is not None
