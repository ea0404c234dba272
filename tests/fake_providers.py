"""Fake OAuth platforms for the connect-flow tests: swapped into the registry by the `fake` fixture, their HTTP
endpoints answered through `responses`. Registered as a pytest plugin in tests/conftest.py, so test modules ask for
the fixture by name and import only the helpers and constants."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
import sqlalchemy as sa
from flask import Flask
from responses import matchers

import stella.providers as registry
from stella.config import CONFIG_KEY, ProviderCredentials
from stella.extensions import db as _db
from stella.models import SocialConnection
from stella.providers.base import Capabilities, ClientCredentials, PlatformRules, Profile, Provider, Target, TokenSet

FAKE = "https://fake.example"
CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret-DDDD4444"
ACCESS = "fake-access-token-AAAA1111"
REFRESH = "fake-refresh-token-BBBB2222"
CODE = "fake-auth-code-CCCC3333"
PAGE_TOKEN = "fake-page-token-EEEE5555"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
MASTO_SECRET = "masto-client-secret-FFFF6666"
SECRETS = (CLIENT_SECRET, ACCESS, REFRESH, CODE, PAGE_TOKEN, APP_PASSWORD, MASTO_SECRET)


class FakeProvider(Provider):
    """A plain OAuth 2 platform: PKCE, Basic client auth, refresh tokens, a revoke endpoint."""

    name = "x"
    display_name = "FakeNet"
    icon = "x"
    color = "#111111"
    authorize_url = f"{FAKE}/oauth/authorize"
    token_url = f"{FAKE}/oauth/token"
    revoke_url = f"{FAKE}/oauth/revoke"
    revocable = True
    capabilities = Capabilities(formats=("post",))
    scopes = ("post.write", "profile.read")
    uses_pkce = True
    client_auth = "basic"
    refresh_margin = timedelta(minutes=15)
    developer_portal = "https://developer.fake.example"
    setup_notes = "Create a FakeNet app."
    rules = PlatformRules(max_chars=280)

    def fetch_profile(self, tokens: TokenSet) -> Profile:
        body = self.json(self.http.request("GET", f"{FAKE}/me", headers=self.bearer(tokens.access_token),
                                           classify=self.classify_error))
        return Profile(platform_account_id=body["id"], handle=body["username"], display_name=body["name"],
                       avatar_url=body.get("avatar"), metadata={"user_id": body["id"]})


class FakeTargetsProvider(FakeProvider):
    """A login that reaches several pages, each with its own page token (like Facebook)."""

    name = "facebook"
    display_name = "FakeBook"
    has_targets = True
    capabilities = Capabilities(formats=("post",), target_kinds=("page",))
    uses_pkce = False
    client_auth = "body"

    def list_targets(self, tokens: TokenSet, profile: Profile) -> list[Target]:
        body = self.json(self.http.request("GET", f"{FAKE}/me/pages", headers=self.bearer(tokens.access_token),
                                           classify=self.classify_error))
        return [Target(id=p["id"], name=p["name"], kind="page", metadata={"access_token": p["token"]})
                for p in body["data"]]

    def apply_target(self, tokens: TokenSet, target: Target) -> tuple[TokenSet, Profile]:
        return (
            TokenSet(access_token=str(target.metadata["access_token"]), scopes=tokens.scopes),
            Profile(platform_account_id=target.id, handle=None, display_name=target.name,
                    metadata={"page_id": target.id, "page_access_token": target.metadata["access_token"]}),
        )


class FakeMastodon(FakeProvider):
    name = "mastodon"
    display_name = "FakeDon"
    needs_instance = True
    client_auth = "body"
    revoke_url = None
    scopes = ("write:statuses", "profile")
    registrations = 0

    def revoke(self, tokens: TokenSet) -> None:
        self.http.request("POST", f"{self.credentials.instance_url}/oauth/revoke",
                          data={"token": tokens.access_token, **self._client_auth_fields()},
                          classify=self.classify_error)

    def register_app(self, instance_url: str, redirect_uri: str) -> ClientCredentials:
        type(self).registrations += 1
        body = self.json(self.http.request("POST", f"{instance_url}/api/v1/apps",
                                           json={"redirect_uris": redirect_uri, "scopes": " ".join(self.scopes)},
                                           classify=self.classify_error))
        return ClientCredentials(body["client_id"], body["client_secret"], instance_url=instance_url)

    def authorization_url(self, *, redirect_uri: str, state: str, code_challenge: str | None = None) -> str:
        return (f"{self.credentials.instance_url}/oauth/authorize?client_id={self.credentials.client_id}"
                f"&state={state}&code_challenge={code_challenge}")

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": code_verifier or ""}
        return self.parse_token_response(self.token_request(form, url=f"{self.credentials.instance_url}/oauth/token"))

    def can_refresh(self, tokens: TokenSet) -> bool:
        return False

    def fetch_profile(self, tokens: TokenSet) -> Profile:
        host = urlsplit(self.credentials.instance_url or "").netloc
        return Profile(platform_account_id="109", handle=f"@harbor@{host}", display_name="Harbor & Vine",
                       metadata={"instance_url": self.credentials.instance_url, "max_characters": 1000})


class FakeBluesky(FakeProvider):
    name = "bluesky"
    display_name = "FakeSky"
    auth_style = "app_password"
    default_service_url = "https://bsky.social"
    app_password_location = "Settings → App passwords"

    def create_session(self, service_url: str, handle: str, app_password: str) -> TokenSet:
        body = self.json(self.http.request(
            "POST", f"{service_url}/xrpc/com.atproto.server.createSession",
            json={"identifier": handle, "password": app_password}, classify=self.classify_error))
        return TokenSet(access_token=body["accessJwt"], refresh_token=body["refreshJwt"],
                        extra={"did": body["did"], "pds_url": service_url})

    def fetch_profile(self, tokens: TokenSet) -> Profile:
        return Profile(platform_account_id=str(tokens.extra["did"]), handle="harborvine.bsky.social",
                       display_name="Harbor & Vine Realty", metadata={"did": tokens.extra["did"]})


@pytest.fixture()
def fake(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[responses.RequestsMock]:
    """Swap fake providers into the registry, give them credentials, and mock their HTTP endpoints."""
    for cls in (FakeProvider, FakeTargetsProvider, FakeMastodon, FakeBluesky):
        monkeypatch.setitem(registry.PROVIDERS_BY_NAME, cls.name, cls)
    FakeMastodon.registrations = 0
    config = app.extensions[CONFIG_KEY]
    credentials = {
        "x": ProviderCredentials(CLIENT_ID, CLIENT_SECRET),
        "facebook": ProviderCredentials(CLIENT_ID, CLIENT_SECRET),
    }
    monkeypatch.setitem(app.extensions, CONFIG_KEY, config.with_overrides(provider_credentials=credentials))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def token_answer(mock: responses.RequestsMock, *, scope: str = "post.write profile.read", status: int = 200,
                 body: dict[str, Any] | None = None, url: str = f"{FAKE}/oauth/token") -> None:
    payload = body if body is not None else {"access_token": ACCESS, "refresh_token": REFRESH, "expires_in": 7200,
                                             "token_type": "bearer", "scope": scope}
    mock.add(responses.POST, url, json=payload, status=status)


def profile_answer(mock: responses.RequestsMock) -> None:
    mock.add(responses.GET, f"{FAKE}/me", json={"id": "4242", "username": "harborvine", "name": "Harbor & Vine",
                                                "avatar": "https://cdn.fake.example/a.png"})


def start(client: Any, name: str = "x", **form: str) -> dict[str, str]:
    """Press Connect (a POST; the tests run without CSRF checks) and return the consent URL's query."""
    response = client.post(f"/connections/{name}/connect", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    location = response.headers["Location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()} | {"_url": location}


def callback(client: Any, name: str = "x", **params: str) -> Any:
    return client.get(f"/connections/{name}/callback", query_string=params)


def connect_fully(client: Any, fake: responses.RequestsMock, name: str = "x") -> SocialConnection:
    query = start(client, name)
    token_answer(fake)
    profile_answer(fake)
    response = callback(client, name, code=CODE, state=query["state"])
    assert response.status_code == 302
    return _db.session.execute(sa.select(SocialConnection).filter_by(provider=name)).scalar_one()


def connection_of(user: Any, name: str = "x") -> SocialConnection | None:
    _db.session.expire_all()
    return _db.session.execute(
        sa.select(SocialConnection).filter_by(user_id=user.id, provider=name)
    ).scalar_one_or_none()


def raw_dump() -> str:
    """Every row of every table, as stored (ciphertext for encrypted columns)."""
    lines = []
    for table in _db.metadata.sorted_tables:
        for row in _db.session.execute(sa.text(f"SELECT * FROM {table.name}")).all():
            lines.append(f"{table.name}: {tuple(row)!r}")
    return "\n".join(lines)


def pages_answer(mock: responses.RequestsMock, pages: list[tuple[str, str]]) -> None:
    mock.add(responses.GET, f"{FAKE}/me/pages",
             json={"data": [{"id": i, "name": n, "token": PAGE_TOKEN} for i, n in pages]})


def session_answer(mock: responses.RequestsMock, *, service: str = "https://bsky.social", status: int = 200) -> None:
    body: dict[str, Any] = ({"accessJwt": ACCESS, "refreshJwt": REFRESH, "did": "did:plc:harbor"} if status == 200
                            else {"error": "AuthenticationRequired", "message": "Invalid identifier or password"})
    mock.add(responses.POST, f"{service}/xrpc/com.atproto.server.createSession", json=body, status=status,
             match=[matchers.json_params_matcher({"identifier": "harborvine.bsky.social", "password": APP_PASSWORD})])
