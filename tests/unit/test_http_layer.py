"""The one HTTP layer: sandbox routing, typed errors, redaction and the SSRF guard."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import requests
import responses

from stella.providers.base import ClientCredentials, PlatformRules, Provider, classify_generic
from stella.providers.errors import (
    AuthExpiredError,
    ProviderError,
    RateLimitedError,
    RejectedError,
    TransientError,
    UnknownOutcomeError,
    UnsafeHostError,
)
from stella.providers.http import USER_AGENT, HttpClient

SANDBOX = "http://127.0.0.1:5055"
TOKEN = "secret-access-token-1234567890"


class Dummy(Provider):
    name = "x"
    display_name = "Dummy"
    icon = "x"
    color = "#000"
    authorize_url = "https://x.com/i/oauth2/authorize"
    scopes = ("tweet.write",)
    uses_pkce = True
    rules = PlatformRules(max_chars=280)


def classify(response: requests.Response) -> ProviderError:
    return classify_generic(Dummy(ClientCredentials("id", "secret"), HttpClient()), response)


# -- sandbox routing ----------------------------------------------------------------------------------------


@responses.activate
def test_sandbox_mode_routes_api_calls_to_the_sandbox_unchanged():
    responses.add(responses.POST, f"{SANDBOX}/api.x.com/2/tweets?dry=1", json={"data": {"id": "1"}})
    client = HttpClient(sandbox_url=SANDBOX + "/")
    client.request("POST", "https://api.x.com/2/tweets?dry=1", json={"text": "hi"},
                   headers={"Authorization": f"Bearer {TOKEN}"}, classify=classify)
    sent = responses.calls[0].request
    assert sent.url == f"{SANDBOX}/api.x.com/2/tweets?dry=1"
    assert sent.body == b'{"text": "hi"}' and sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["User-Agent"] == USER_AGENT


@responses.activate
def test_without_a_sandbox_the_real_url_is_requested():
    responses.add(responses.GET, "https://api.x.com/2/users/me", json={})
    HttpClient().request("GET", "https://api.x.com/2/users/me", classify=classify)
    assert responses.calls[0].request.url == "https://api.x.com/2/users/me"


def test_authorization_redirects_are_routed_to_the_sandbox_too():
    provider = Dummy(ClientCredentials("cid", "secret"), HttpClient(sandbox_url=SANDBOX))
    url = provider.authorization_url(redirect_uri="http://127.0.0.1:5000/connections/x/callback", state="s1",
                                     code_challenge="abc")
    assert url.startswith(f"{SANDBOX}/x.com/i/oauth2/authorize?")
    assert "state=s1" in url and "code_challenge=abc" in url and "code_challenge_method=S256" in url
    assert HttpClient().browser_url("https://x.com/i/oauth2/authorize?a=1") == "https://x.com/i/oauth2/authorize?a=1"


# -- typed errors -------------------------------------------------------------------------------------------


@responses.activate
def test_a_connect_timeout_is_transient():
    responses.add(responses.POST, "https://api.x.com/2/tweets", body=requests.exceptions.ConnectTimeout())
    with pytest.raises(TransientError) as caught:
        HttpClient().request("POST", "https://api.x.com/2/tweets", classify=classify)
    assert caught.value.retryable and "connect timeout" in caught.value.message


@responses.activate
def test_a_read_timeout_on_post_is_an_unknown_outcome():
    responses.add(responses.POST, "https://api.x.com/2/tweets", body=requests.exceptions.ReadTimeout())
    with pytest.raises(UnknownOutcomeError):
        HttpClient().request("POST", "https://api.x.com/2/tweets", classify=classify)


@responses.activate
def test_a_read_timeout_on_get_is_transient():
    responses.add(responses.GET, "https://api.x.com/2/users/me", body=requests.exceptions.ReadTimeout())
    with pytest.raises(TransientError) as caught:
        HttpClient().request("GET", "https://api.x.com/2/users/me", classify=classify)
    assert not isinstance(caught.value, UnknownOutcomeError)


@responses.activate
def test_a_429_is_rate_limited_with_retry_after():
    responses.add(responses.GET, "https://api.x.com/2/users/me", status=429, headers={"Retry-After": "42"},
                  json={"title": "Too Many Requests"})
    with pytest.raises(RateLimitedError) as caught:
        HttpClient().request("GET", "https://api.x.com/2/users/me", classify=classify)
    assert caught.value.retry_after == 42.0 and caught.value.status_code == 429


@pytest.mark.parametrize("status", [500, 502, 503])
@responses.activate
def test_a_5xx_is_transient(status):
    responses.add(responses.GET, "https://api.x.com/2/users/me", status=status, body="oops")
    with pytest.raises(TransientError):
        HttpClient().request("GET", "https://api.x.com/2/users/me", classify=classify)


@responses.activate
def test_401_is_auth_expired_and_400_is_rejected_with_the_platform_message():
    responses.add(responses.GET, "https://api.x.com/a", status=401, json={"title": "Unauthorized"})
    responses.add(responses.GET, "https://api.x.com/b", status=400, json={"detail": "Text is too long"})
    with pytest.raises(AuthExpiredError):
        HttpClient().request("GET", "https://api.x.com/a", classify=classify)
    with pytest.raises(RejectedError) as caught:
        HttpClient().request("GET", "https://api.x.com/b", classify=classify)
    assert "Text is too long" in caught.value.message


# -- redaction ----------------------------------------------------------------------------------------------


@responses.activate
def test_credentials_echoed_by_the_platform_never_reach_the_error_message():
    responses.add(responses.POST, "https://api.x.com/oauth2/token", status=400,
                  json={"error": f"bad token {TOKEN} and secret client-secret-value"})
    with pytest.raises(ProviderError) as caught:
        HttpClient().request(
            "POST", "https://api.x.com/oauth2/token",
            data={"refresh_token": TOKEN, "client_secret": "client-secret-value"},
            headers={"Authorization": f"Bearer {TOKEN}"}, classify=classify,
        )
    text = str(caught.value) + repr(caught.value.args)
    assert TOKEN not in text and "client-secret-value" not in text and "[redacted]" in text


@responses.activate
@pytest.mark.parametrize("password", ["client-secret-value", b"client-secret-value"])
def test_a_basic_auth_password_echoed_back_is_redacted_whether_given_as_text_or_bytes(password):
    responses.add(responses.POST, "https://api.x.com/oauth2/token", status=400,
                  json={"error": "invalid_client", "error_description": "unknown secret client-secret-value"})
    with pytest.raises(ProviderError) as caught:
        HttpClient().request("POST", "https://api.x.com/oauth2/token", data={"grant_type": "refresh_token"},
                             auth=requests.auth.HTTPBasicAuth("client-id", password), classify=classify)
    text = str(caught.value) + repr(caught.value.args)
    assert "client-secret-value" not in text and "[redacted]" in text


@responses.activate
def test_network_errors_do_not_chain_the_url_with_its_query_token():
    url = f"https://graph.example.com/me?access_token={TOKEN}"
    responses.add(responses.GET, url, body=requests.exceptions.ConnectionError(f"failed {url}"))
    with pytest.raises(TransientError) as caught:
        HttpClient().request("GET", url, classify=classify)
    chain: Any = caught.value
    while chain is not None:
        assert TOKEN not in str(chain)
        chain = chain.__cause__


# -- SSRF guard ---------------------------------------------------------------------------------------------


def fake_dns(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_user_hosts_must_use_https():
    with pytest.raises(UnsafeHostError, match="https"):
        HttpClient().check_user_host("http://mastodon.social")


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.5", "192.168.1.10", "172.16.0.1", "169.254.169.254",
                                     "0.0.0.0"])
def test_private_loopback_and_link_local_addresses_are_refused(monkeypatch, address):
    fake_dns(monkeypatch, address)
    with pytest.raises(UnsafeHostError, match="private or local"):
        HttpClient().check_user_host("https://innocent.example")


def test_a_public_host_is_accepted_and_normalised(monkeypatch):
    fake_dns(monkeypatch, "93.184.216.34")
    assert HttpClient().check_user_host(" Mastodon.Social/ ") == "https://mastodon.social"


@pytest.mark.parametrize("url", ["https://user:pw@mastodon.social", "https://", "not a host at all", "https://exa_mple.com/"])
def test_addresses_with_credentials_or_without_a_host_are_refused(url):
    with pytest.raises(UnsafeHostError):
        HttpClient(allow_private_hosts=True).check_user_host(url)


def test_allow_private_hosts_permits_local_servers_and_http(monkeypatch):
    fake_dns(monkeypatch, "127.0.0.1")
    client = HttpClient(allow_private_hosts=True)
    assert client.check_user_host("http://localhost:3000") == "http://localhost:3000"
    assert client.check_user_host("https://10.0.0.5") == "https://10.0.0.5"


def test_in_sandbox_mode_the_host_is_not_resolved(monkeypatch):
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("DNS must not be used in sandbox mode")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert HttpClient(sandbox_url=SANDBOX).check_user_host("https://social.example") == "https://social.example"
    with pytest.raises(UnsafeHostError):
        HttpClient(sandbox_url=SANDBOX).check_user_host("http://social.example")


def test_a_malformed_port_is_refused_not_a_crash():
    with pytest.raises(UnsafeHostError):
        HttpClient(allow_private_hosts=True).check_user_host("https://social.example:notaport")


@responses.activate
def test_calls_reuse_one_session_per_thread_and_never_keep_platform_cookies():
    import threading

    client = HttpClient()
    responses.get("https://api.example.com/a", json={}, headers={"Set-Cookie": "sid=account-one; Path=/"})
    responses.get("https://api.example.com/b", json={})
    client.request("GET", "https://api.example.com/a", classify=lambda r: ProviderError("x"))
    client.request("GET", "https://api.example.com/b", classify=lambda r: ProviderError("x"))
    assert "Cookie" not in responses.calls[1].request.headers
    first = client._session()
    assert client._session() is first
    others: list[object] = []
    thread = threading.Thread(target=lambda: others.append(client._session()))
    thread.start()
    thread.join()
    assert others[0] is not first


def test_a_token_endpoint_error_in_an_api_envelope_shows_its_message_not_the_raw_body():
    provider = Provider.__new__(Provider)
    provider.display_name = "Demo"  # type: ignore[misc]
    provider.name = "demo"  # type: ignore[misc]
    response = requests.Response()
    response.status_code = 400
    response._content = b'{"error": {"code": "invalid_params", "message": "refresh token revoked", "log_id": "L123"}}'
    error = provider.classify_token_error(response)
    assert "refresh token revoked" in error.message
    assert "L123" not in error.message and "{" not in error.message


def test_a_bare_personal_api_token_in_a_log_line_is_redacted():
    from stella.logging_setup import redact
    from stella.services.api_tokens import TOKEN_PREFIX

    token = TOKEN_PREFIX + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v"
    line = redact(f"client pasted {token} into the notes")
    assert token not in line and "[redacted]" in line
