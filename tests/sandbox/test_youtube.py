"""The YouTube stand-in (and the shared Google sign-in): strict OAuth, resumable upload, and a real round trip."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost
from stella.providers.errors import AuthExpiredError
from stella.providers.http import HttpClient
from stella.providers.youtube import YouTubeProvider
from stella.sandbox.platforms.youtube import CHANNEL
from tests.sandbox.conftest import STELLA_URL

CLIENT_ID, SECRET = "sandbox-youtube-id", "sandbox-youtube-secret"
REDIRECT = f"{STELLA_URL}/connections/youtube/callback"
UPLOAD = "https://www.googleapis.com/auth/youtube.upload"
READONLY = "https://www.googleapis.com/auth/youtube.readonly"
AUTH_PATH = "/accounts.google.com/o/oauth2/v2/auth"
TOKEN_PATH = "/oauth2.googleapis.com/token"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


def authorize_query(**changes: str) -> str:
    params = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code",
              "scope": f"{UPLOAD} {READONLY}", "state": "st4te", "access_type": "offline", "prompt": "consent",
              "code_challenge": CHALLENGE, "code_challenge_method": "S256"}
    params.update(changes)
    return urlencode({k: v for k, v in params.items() if v != ""})


def get_code(client: FlaskClient, **changes: str) -> str:
    response = client.post(f"{AUTH_PATH}?{authorize_query(**changes)}", data={"decision": "allow"})
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == ["st4te"]
    return query["code"][0]


def exchange(client: FlaskClient, code: str, **changes: str):
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": VERIFIER,
            "client_id": CLIENT_ID, "client_secret": SECRET}
    form.update(changes)
    return client.post(TOKEN_PATH, data={k: v for k, v in form.items() if v != ""})


def access_token(client: FlaskClient, scope: str = f"{UPLOAD} {READONLY}") -> str:
    return exchange(client, get_code(client, scope=scope)).get_json()["access_token"]


def test_consent_page_lists_the_google_scopes(sandbox_client: FlaskClient) -> None:
    page = sandbox_client.get(f"{AUTH_PATH}?{authorize_query()}").get_data(as_text=True)
    assert UPLOAD in page and "social@harborvine.example" in page


def test_unregistered_redirect_uri_is_shown_as_an_error_not_redirected(sandbox_client: FlaskClient) -> None:
    response = sandbox_client.get(f"{AUTH_PATH}?{authorize_query(redirect_uri=REDIRECT + '/')}")
    assert response.status_code == 400
    assert "redirect_uri_mismatch" in response.get_data(as_text=True)


def test_unknown_client_and_unknown_scope_are_refused(sandbox_client: FlaskClient) -> None:
    assert sandbox_client.get(f"{AUTH_PATH}?{authorize_query(client_id='nope')}").status_code == 401
    response = sandbox_client.get(f"{AUTH_PATH}?{authorize_query(scope='https://www.googleapis.com/auth/drive')}")
    assert response.status_code == 400 and "invalid_scope" in response.get_data(as_text=True)


def test_good_code_exchange_returns_google_tokens(sandbox_client: FlaskClient) -> None:
    body = exchange(sandbox_client, get_code(sandbox_client)).get_json()
    assert body["access_token"].startswith("ya29.") and body["refresh_token"].startswith("1//0")
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    assert set(body["scope"].split()) == {UPLOAD, READONLY}


def test_client_secret_as_basic_auth_is_also_accepted(sandbox_client: FlaskClient) -> None:
    code = get_code(sandbox_client)
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    response = sandbox_client.post(TOKEN_PATH, headers={"Authorization": f"Basic {basic}"}, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": VERIFIER})
    assert response.status_code == 200


def test_wrong_client_secret_is_invalid_client(sandbox_client: FlaskClient) -> None:
    response = exchange(sandbox_client, get_code(sandbox_client), client_secret="wrong")
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


def test_missing_or_wrong_pkce_verifier_is_invalid_grant(sandbox_client: FlaskClient) -> None:
    missing = exchange(sandbox_client, get_code(sandbox_client), code_verifier="")
    wrong = exchange(sandbox_client, get_code(sandbox_client), code_verifier="x" * 43)
    assert missing.status_code == 400
    assert missing.get_json() == {"error": "invalid_grant", "error_description": "Missing code verifier."}
    assert wrong.get_json() == {"error": "invalid_grant", "error_description": "Invalid code verifier."}


def test_redirect_uri_must_match_the_authorization_request(sandbox_client: FlaskClient) -> None:
    response = exchange(sandbox_client, get_code(sandbox_client), redirect_uri=f"{STELLA_URL}/elsewhere")
    assert response.status_code == 400 and response.get_json()["error"] == "redirect_uri_mismatch"


def test_a_code_works_once(sandbox_client: FlaskClient) -> None:
    code = get_code(sandbox_client)
    assert exchange(sandbox_client, code).status_code == 200
    again = exchange(sandbox_client, code)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"


def test_an_expired_code_is_refused(sandbox_client: FlaskClient) -> None:
    code = get_code(sandbox_client)
    sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 11 * 60})
    response = exchange(sandbox_client, code)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"


def test_refresh_token_only_for_offline_access_and_again_only_with_consent(sandbox_client: FlaskClient) -> None:
    online = exchange(sandbox_client, get_code(sandbox_client, access_type="", prompt="")).get_json()
    first_offline = exchange(sandbox_client, get_code(sandbox_client, prompt="")).get_json()
    repeat_without_consent = exchange(sandbox_client, get_code(sandbox_client, prompt="")).get_json()
    with_consent = exchange(sandbox_client, get_code(sandbox_client)).get_json()
    assert "refresh_token" not in online
    assert "refresh_token" in first_offline
    assert "refresh_token" not in repeat_without_consent
    assert "refresh_token" in with_consent


def test_refresh_keeps_the_refresh_token_and_revoke_ends_it(sandbox_client: FlaskClient) -> None:
    refresh = exchange(sandbox_client, get_code(sandbox_client)).get_json()["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": CLIENT_ID, "client_secret": SECRET}
    fresh = sandbox_client.post(TOKEN_PATH, data=form).get_json()
    assert fresh["access_token"].startswith("ya29.") and "refresh_token" not in fresh
    assert sandbox_client.post("/oauth2.googleapis.com/revoke", data={"token": refresh}).status_code == 200
    dead = sandbox_client.post(TOKEN_PATH, data=form)
    assert dead.get_json() == {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    channels = sandbox_client.get("/www.googleapis.com/youtube/v3/channels?part=snippet&mine=true",
                                  headers={"Authorization": f"Bearer {fresh['access_token']}"})
    assert channels.status_code == 401


def test_upload_needs_the_upload_scope(sandbox_client: FlaskClient) -> None:
    token = access_token(sandbox_client, scope=READONLY)
    response = sandbox_client.post("/www.googleapis.com/upload/youtube/v3/videos?uploadType=resumable&part=snippet",
                                   json={"snippet": {"title": "x"}}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.get_json()["error"]["errors"][0]["reason"] == "insufficientPermissions"


@pytest.mark.parametrize(("snippet", "reason"), [
    ({"title": ""}, "invalidTitle"),
    ({"title": "t" * 101}, "invalidTitle"),
    ({"title": "Open <house>"}, "invalidTitle"),
    ({"title": "ok", "description": "é" * 2501}, "invalidDescription"),
    ({"title": "ok", "categoryId": "999"}, "invalidCategoryId"),
])
def test_invalid_metadata_gets_youtubes_reason(sandbox_client: FlaskClient, snippet: dict, reason: str) -> None:
    token = access_token(sandbox_client)
    response = sandbox_client.post(
        "/www.googleapis.com/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status",
        json={"snippet": snippet, "status": {"privacyStatus": "public"}}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400
    assert response.get_json()["error"]["errors"][0]["reason"] == reason


def test_publish_at_needs_a_private_video(sandbox_client: FlaskClient) -> None:
    token = access_token(sandbox_client)
    response = sandbox_client.post(
        "/www.googleapis.com/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status",
        json={"snippet": {"title": "ok"}, "status": {"privacyStatus": "public", "publishAt": "2026-05-01T10:00:00Z"}},
        headers={"Authorization": f"Bearer {token}"})
    assert response.get_json()["error"]["errors"][0]["reason"] == "invalidPublishAt"


def test_resumable_session_reports_308_ranges_and_creates_one_video(sandbox_client: FlaskClient) -> None:
    token = access_token(sandbox_client)
    start = sandbox_client.post(
        "/www.googleapis.com/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status",
        json={"snippet": {"title": "Harbor Lane tour"}, "status": {"privacyStatus": "unlisted"}},
        headers={"Authorization": f"Bearer {token}", "X-Upload-Content-Length": "10",
                 "X-Upload-Content-Type": "video/mp4"})
    location = start.headers["Location"]
    assert location.startswith("https://www.googleapis.com/upload/youtube/v3/videos?uploadType=resumable&upload_id=")
    path = "/www.googleapis.com" + location.split("www.googleapis.com", 1)[1]
    first = sandbox_client.put(path, data=b"01234", headers={"Content-Range": "bytes 0-4/10"})
    probe = sandbox_client.put(path, data=b"", headers={"Content-Range": "bytes */10"})
    rest = sandbox_client.put(path, data=b"56789", headers={"Content-Range": "bytes 5-9/10"})
    again = sandbox_client.put(path, data=b"", headers={"Content-Range": "bytes */10"})
    assert first.status_code == 308 and first.headers["Range"] == "bytes=0-4"
    assert probe.status_code == 308 and probe.headers["Range"] == "bytes=0-4"
    assert rest.status_code == 200 and rest.get_json()["status"]["uploadStatus"] == "uploaded"
    assert again.get_json()["id"] == rest.get_json()["id"]
    assert len(sandbox_client.get("/_sandbox/posts?platform=youtube").get_json()) == 1


def test_video_statistics_and_analytics_use_youtubes_field_names(sandbox_client: FlaskClient) -> None:
    token = access_token(sandbox_client, scope=f"{UPLOAD} {READONLY}")
    start = sandbox_client.post("/www.googleapis.com/upload/youtube/v3/videos?uploadType=resumable&part=snippet",
                                json={"snippet": {"title": "Tour"}}, headers={"Authorization": f"Bearer {token}"})
    path = "/www.googleapis.com" + start.headers["Location"].split("www.googleapis.com", 1)[1]
    video_id = sandbox_client.put(path, data=b"video").get_json()["id"]
    sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 48 * 3600})
    expired = sandbox_client.get(f"/www.googleapis.com/youtube/v3/videos?part=statistics&id={video_id}",
                                 headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401  # access tokens last an hour
    token = access_token(sandbox_client, scope=f"{READONLY} https://www.googleapis.com/auth/yt-analytics.readonly")
    auth = {"Authorization": f"Bearer {token}"}
    stats = sandbox_client.get(f"/www.googleapis.com/youtube/v3/videos?part=statistics&id={video_id}",
                               headers=auth).get_json()["items"][0]["statistics"]
    assert set(stats) == {"viewCount", "likeCount", "favoriteCount", "commentCount"}
    assert int(stats["viewCount"]) > 0 and stats["favoriteCount"] == "0"
    today = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    report = sandbox_client.get(
        f"/youtubeanalytics.googleapis.com/v2/reports?ids=channel==MINE&startDate=2020-01-01&endDate={today}"
        f"&metrics=views,likes,shares&dimensions=video&filters=video=={video_id}",
        headers=auth).get_json()
    assert [h["name"] for h in report["columnHeaders"]] == ["video", "views", "likes", "shares"]
    assert report["rows"][0][0] == video_id and report["rows"][0][1] == int(stats["viewCount"])


def test_round_trip_with_the_real_adapter(sandbox_server, sandbox_client: FlaskClient) -> None:
    http = HttpClient(sandbox_url=sandbox_server.url, allow_private_hosts=True)
    provider = YouTubeProvider(ClientCredentials(CLIENT_ID, SECRET), http)
    url = provider.authorization_url(redirect_uri=REDIRECT, state="rt", code_challenge=CHALLENGE)
    assert url.startswith(sandbox_server.url + AUTH_PATH)
    assert requests.get(url, timeout=5).status_code == 200
    allowed = requests.post(url, data={"decision": "allow"}, allow_redirects=False, timeout=5)
    query = parse_qs(urlsplit(allowed.headers["Location"]).query)
    assert allowed.headers["Location"].startswith(REDIRECT) and query["state"] == ["rt"]

    tokens = provider.exchange_code(code=query["code"][0], redirect_uri=REDIRECT, code_verifier=VERIFIER)
    profile = provider.fetch_profile(tokens)
    targets = provider.list_targets(tokens, profile)
    assert [t.id for t in targets] == [CHANNEL["id"]]
    tokens, chosen = provider.apply_target(tokens, targets[0])
    assert chosen.handle == "@harborvinerealty"

    account = Account(access_token=tokens.access_token, platform_account_id=chosen.platform_account_id,
                      metadata=dict(chosen.metadata))
    post = OutboundPost(text="Walk through 12 Harbor Lane with us.", title="12 Harbor Lane tour",
                        media=(MediaItem(url="https://cdn.example/tour.mp4", kind="video", mime_type="video/mp4",
                                         data=b"\x00\x00\x00\x18ftypmp42" * 100),))
    result = provider.publish(account, post)
    assert result.state == "processing"
    checked = provider.check_publish(account, result.poll or {})
    assert checked.state == "processing"  # still processing right after the upload
    requests.post(f"{sandbox_server.url}/_sandbox/clock", json={"advance_seconds": 60}, timeout=5)
    done = provider.check_publish(account, result.poll or {})
    assert done.state == "published" and done.permalink == f"https://www.youtube.com/watch?v={result.platform_post_id}"

    posts = requests.get(f"{sandbox_server.url}/_sandbox/posts?platform=youtube", timeout=5).json()
    assert [(p["platform_post_id"], p["text"]) for p in posts] == [(result.platform_post_id, post.text)]

    fresh = provider.refresh(tokens)
    assert fresh.access_token != tokens.access_token and fresh.refresh_token == tokens.refresh_token
    provider.revoke(fresh)
    with pytest.raises(AuthExpiredError):
        provider.refresh(fresh)
