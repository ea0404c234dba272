"""The TikTok sandbox is strict where TikTok is, and the real adapter completes a round trip against it."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from stella.providers.base import Account, ClientCredentials, MediaItem, OutboundPost
from stella.providers.errors import AuthExpiredError
from stella.providers.http import HttpClient
from stella.providers.tiktok import TikTokProvider
from stella.sandbox.server import RunningServer
from tests.sandbox.conftest import STELLA_URL

CLIENT_KEY, SECRET = "sandbox-tiktok-id", "sandbox-tiktok-secret"
REDIRECT = f"{STELLA_URL}/connections/tiktok/callback"
SCOPES = "user.info.basic,user.info.profile,video.publish,video.list"
AUTHORIZE = "/www.tiktok.com/v2/auth/authorize/"
TOKEN = "/open.tiktokapis.com/v2/oauth/token/"
API = "/open.tiktokapis.com/v2"


def authorize_query(**overrides: str) -> str:
    params = {"client_key": CLIENT_KEY, "scope": SCOPES, "response_type": "code", "redirect_uri": REDIRECT,
              "state": "tt-state"}
    params.update(overrides)
    return urlencode(params)


def get_code(client: FlaskClient, scopes: str = SCOPES) -> str:
    response = client.post(f"{AUTHORIZE}?{authorize_query(scope=scopes)}", data={"decision": "allow"})
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


def exchange(client: FlaskClient, code: str, **overrides: str):
    data = {"client_key": CLIENT_KEY, "client_secret": SECRET, "code": code, "grant_type": "authorization_code",
            "redirect_uri": REDIRECT}
    data.update(overrides)
    return client.post(TOKEN, data={k: v for k, v in data.items() if v != ""})


def access(client: FlaskClient, scopes: str = SCOPES) -> str:
    response = exchange(client, get_code(client, scopes))
    assert response.status_code == 200
    return response.get_json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def video_init(client: FlaskClient, token: str, *, size: int, chunk: int, count: int, title: str = "Tour",
               privacy: str = "PUBLIC_TO_EVERYONE"):
    return client.post(f"{API}/post/publish/video/init/", headers=bearer(token), json={
        "post_info": {"title": title, "privacy_level": privacy, "disable_comment": False},
        "source_info": {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk,
                        "total_chunk_count": count}})


# -- authorization ---------------------------------------------------------------------------------------------


def test_consent_page_for_a_good_request(sandbox_client: FlaskClient) -> None:
    response = sandbox_client.get(f"{AUTHORIZE}?{authorize_query()}")
    assert response.status_code == 200 and b"video.publish" in response.data


def test_client_id_instead_of_client_key_is_refused(sandbox_client: FlaskClient) -> None:
    query = urlencode({"client_id": CLIENT_KEY, "scope": SCOPES, "response_type": "code", "redirect_uri": REDIRECT})
    assert sandbox_client.get(f"{AUTHORIZE}?{query}").status_code == 400


def test_space_separated_scopes_are_invalid(sandbox_client: FlaskClient) -> None:
    response = sandbox_client.get(f"{AUTHORIZE}?{authorize_query(scope='user.info.basic video.publish')}")
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == ["invalid_scope"]


def test_wrong_redirect_uri_is_refused(sandbox_client: FlaskClient) -> None:
    response = sandbox_client.get(f"{AUTHORIZE}?{authorize_query(redirect_uri='https://elsewhere.example/cb')}")
    assert response.status_code == 400 and "Location" not in response.headers


def test_token_exchange_returns_open_id_and_comma_scopes(sandbox_client: FlaskClient) -> None:
    body = exchange(sandbox_client, get_code(sandbox_client)).get_json()
    assert body["open_id"] == "723f24d7-e717-40f8-a2b6-cb8464cd23b4"
    assert body["scope"] == SCOPES and body["expires_in"] == 7200 and body["refresh_expires_in"] == 180 * 86400


def test_basic_auth_instead_of_body_credentials_is_refused(sandbox_client: FlaskClient) -> None:
    code = get_code(sandbox_client)
    basic = base64.b64encode(f"{CLIENT_KEY}:{SECRET}".encode()).decode()
    response = sandbox_client.post(TOKEN, headers={"Authorization": f"Basic {basic}"}, data={
        "code": code, "grant_type": "authorization_code", "redirect_uri": REDIRECT})
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


def test_client_id_field_is_not_client_key(sandbox_client: FlaskClient) -> None:
    response = exchange(sandbox_client, get_code(sandbox_client), client_key="", client_id=CLIENT_KEY)
    assert response.status_code == 401


def test_reused_expired_and_mismatched_codes_are_invalid_grants(sandbox_client: FlaskClient) -> None:
    code = get_code(sandbox_client)
    assert exchange(sandbox_client, code).status_code == 200
    reused = exchange(sandbox_client, code).get_json()
    assert reused["error"] == "invalid_grant" and "used" in reused["error_description"]
    code = get_code(sandbox_client)
    sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 301})
    assert exchange(sandbox_client, code).get_json()["error_description"] == "Authorization code is expired."
    code = get_code(sandbox_client)
    assert exchange(sandbox_client, code, redirect_uri=REDIRECT + "x").status_code == 400


def test_refresh_rotates_and_the_old_token_is_dead(sandbox_client: FlaskClient) -> None:
    first = exchange(sandbox_client, get_code(sandbox_client)).get_json()
    form = {"client_key": CLIENT_KEY, "client_secret": SECRET, "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"]}
    second = sandbox_client.post(TOKEN, data=form).get_json()
    assert second["refresh_token"] != first["refresh_token"]
    reused = sandbox_client.post(TOKEN, data=form)
    assert reused.status_code == 400 and reused.get_json()["error"] == "invalid_grant"


# -- API -------------------------------------------------------------------------------------------------------


def test_user_info_returns_only_requested_fields_within_scope(sandbox_client: FlaskClient) -> None:
    token = access(sandbox_client, scopes="user.info.basic,video.publish")
    basic = sandbox_client.get(f"{API}/user/info/?fields=open_id,display_name", headers=bearer(token)).get_json()
    assert basic["data"]["user"] == {"open_id": "723f24d7-e717-40f8-a2b6-cb8464cd23b4",
                                     "display_name": "Harbor & Vine Realty"}
    assert basic["error"]["code"] == "ok"
    username = sandbox_client.get(f"{API}/user/info/?fields=username", headers=bearer(token))
    assert username.status_code == 401 and username.get_json()["error"]["code"] == "scope_not_authorized"


def test_expired_token_gets_access_token_invalid(sandbox_client: FlaskClient) -> None:
    token = access(sandbox_client)
    sandbox_client.post("/_sandbox/clock", json={"advance_seconds": 7201})
    response = sandbox_client.post(f"{API}/post/publish/creator_info/query/", headers=bearer(token), json={})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "access_token_invalid"


def test_caption_over_2200_utf16_units_is_refused(sandbox_client: FlaskClient) -> None:
    token = access(sandbox_client)
    response = video_init(sandbox_client, token, size=100, chunk=100, count=1, title="😀" * 1101)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_params"
    assert video_init(sandbox_client, token, size=100, chunk=100, count=1, title="😀" * 1100).status_code == 200


def test_chunk_rules_are_enforced(sandbox_client: FlaskClient) -> None:
    token = access(sandbox_client)
    mb = 1024 * 1024
    assert video_init(sandbox_client, token, size=3 * mb, chunk=mb, count=3).status_code == 400
    assert video_init(sandbox_client, token, size=50 * mb, chunk=10 * mb, count=6).status_code == 400
    assert video_init(sandbox_client, token, size=50 * mb, chunk=2 * mb, count=25).status_code == 400
    assert video_init(sandbox_client, token, size=50 * mb, chunk=10 * mb, count=5).status_code == 200


def test_chunks_must_arrive_in_order_with_content_range(sandbox_client: FlaskClient) -> None:
    token = access(sandbox_client)
    init = video_init(sandbox_client, token, size=10, chunk=10, count=1).get_json()["data"]
    upload = urlsplit(init["upload_url"])
    path = f"/{upload.netloc}{upload.path}?{upload.query}"
    no_range = sandbox_client.put(path, data=b"0123456789", content_type="video/mp4")
    assert no_range.status_code == 400 and no_range.get_json()["error"]["code"] == "invalid_file_upload"
    wrong = sandbox_client.put(path, data=b"01234", content_type="video/mp4", headers={"Content-Range": "bytes 5-9/10"})
    assert wrong.status_code == 400
    ok = sandbox_client.put(path, data=b"0123456789", content_type="video/mp4",
                            headers={"Content-Range": "bytes 0-9/10"})
    assert ok.status_code == 201


def test_privacy_level_must_be_offered(sandbox_client: FlaskClient) -> None:
    token = access(sandbox_client)
    response = video_init(sandbox_client, token, size=10, chunk=10, count=1, privacy="EVERYONE")
    assert response.get_json()["error"]["code"] == "privacy_level_option_mismatch"


def test_photos_from_an_unverified_domain_are_refused(sandbox_client: FlaskClient) -> None:
    token = access(sandbox_client)
    response = sandbox_client.post(f"{API}/post/publish/content/init/", headers=bearer(token), json={
        "media_type": "PHOTO", "post_mode": "DIRECT_POST",
        "post_info": {"title": "Kitchen", "description": "Sunny", "privacy_level": "PUBLIC_TO_EVERYONE"},
        "source_info": {"source": "PULL_FROM_URL", "photo_images": ["https://random.example/a.jpg"],
                        "photo_cover_index": 0}})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "url_ownership_unverified"


def test_photo_post_needs_images(sandbox_client: FlaskClient) -> None:
    token = access(sandbox_client)
    response = sandbox_client.post(f"{API}/post/publish/content/init/", headers=bearer(token), json={
        "media_type": "PHOTO", "post_mode": "DIRECT_POST",
        "post_info": {"title": "Kitchen", "privacy_level": "PUBLIC_TO_EVERYONE"},
        "source_info": {"source": "PULL_FROM_URL", "photo_images": [], "photo_cover_index": 0}})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_params"


def test_posting_needs_the_video_publish_scope(sandbox_client: FlaskClient) -> None:
    token = access(sandbox_client, scopes="user.info.basic")
    response = sandbox_client.post(f"{API}/post/publish/creator_info/query/", headers=bearer(token), json={})
    assert response.get_json()["error"]["code"] == "scope_not_authorized"


# -- round trip with the real adapter --------------------------------------------------------------------------------


def _connect(provider: TikTokProvider):
    url = provider.authorization_url(redirect_uri=REDIRECT, state="rt")
    assert requests.get(url, timeout=10).status_code == 200
    allowed = requests.post(url, data={"decision": "allow"}, allow_redirects=False, timeout=10)
    query = parse_qs(urlsplit(allowed.headers["Location"]).query)
    assert query["state"] == ["rt"]
    return provider.exchange_code(code=query["code"][0], redirect_uri=REDIRECT)


def _wait(provider: TikTokProvider, account: Account, result):
    for _ in range(5):
        if result.state == "published":
            return result
        result = provider.check_publish(account, result.poll or {})
    return result


def test_round_trip_with_the_real_adapter(sandbox_server: RunningServer) -> None:
    provider = TikTokProvider(ClientCredentials(CLIENT_KEY, SECRET), HttpClient(sandbox_url=sandbox_server.url))
    tokens = _connect(provider)
    assert tokens.extra["open_id"] == "723f24d7-e717-40f8-a2b6-cb8464cd23b4"
    profile = provider.fetch_profile(tokens)
    assert profile.handle == "harborvinerealty"
    assert provider.list_targets(tokens, profile) == []
    account = Account(access_token=tokens.access_token, platform_account_id=profile.platform_account_id,
                      handle=profile.handle, metadata=dict(profile.metadata))

    size = 12 * 1024 * 1024 + 123  # two chunks: 10 MB, then the rest
    video = MediaItem(url="https://media.harborvine.example/tour.mp4", kind="video", mime_type="video/mp4",
                      data=b"\0" * size)
    caption = "Lakeside cottage tour 🏡 #realestate #harborvine"
    started = provider.publish(account, OutboundPost(text=caption, media=(video,),
                                                     options={"privacy_level": "PUBLIC_TO_EVERYONE"}))
    assert started.state == "processing"
    done = _wait(provider, account, started)
    assert done.state == "published"
    assert done.permalink == f"https://www.tiktok.com/@harborvinerealty/video/{done.platform_post_id}"

    photos = tuple(MediaItem(url=f"https://media.harborvine.example/{n}.jpg", kind="image", mime_type="image/jpeg")
                   for n in range(3))
    photo_post = _wait(provider, account, provider.publish(
        account, OutboundPost(text="Sunny kitchen, new counters", title="12 Elm St", media=photos,
                                    options={"privacy_level": "PUBLIC_TO_EVERYONE"})))
    assert photo_post.state == "published" and "/photo/" in (photo_post.permalink or "")

    posts = requests.get(f"{sandbox_server.url}/_sandbox/posts", params={"platform": "tiktok"}, timeout=10).json()
    assert [p["platform_post_id"] for p in posts] == [done.platform_post_id, photo_post.platform_post_id]
    assert posts[0]["text"] == caption and posts[0]["media"][0]["size"] == size
    assert len(posts[1]["media"]) == 3

    fresh = provider.refresh(tokens)
    assert fresh.refresh_token and fresh.refresh_token != tokens.refresh_token
    assert provider.fetch_profile(fresh).platform_account_id == profile.platform_account_id
    with pytest.raises(AuthExpiredError):
        provider.refresh(tokens)  # rotated out
    provider.revoke(fresh)
    with pytest.raises(AuthExpiredError):
        provider.fetch_profile(fresh)
