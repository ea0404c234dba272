"""The one HTTP layer every platform call goes through.

It sets timeouts and a clear User-Agent, routes requests (and browser redirects) to a sandbox when
`STELLA_SANDBOX_URL` is set, guards user-supplied hosts against SSRF, turns network failures and error
answers into typed `ProviderError`s, and keeps credentials out of every message it produces.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

import requests

from stella.providers.errors import ProviderError, TransientError, UnknownOutcomeError, UnsafeHostError

log = logging.getLogger(__name__)

USER_AGENT = "Stella/1.0 (self-hosted social publishing dashboard)"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Request fields whose values are credentials: they are scrubbed from any message built from a request.
SECRET_FIELDS = frozenset(
    {
        "access_token", "refresh_token", "client_secret", "code", "code_verifier", "password",
        "app_password", "fb_exchange_token", "token", "accessJwt", "refreshJwt", "id_token",
    }
)

Classifier = Callable[[requests.Response], ProviderError]


class HttpClient:
    """Send platform requests. One instance per app; it is thread-safe (a session per call)."""

    def __init__(
        self,
        *,
        sandbox_url: str | None = None,
        allow_private_hosts: bool = False,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.sandbox_url = sandbox_url.rstrip("/") if sandbox_url else None
        self.allow_private_hosts = allow_private_hosts
        self.timeout = (connect_timeout, read_timeout)
        self.user_agent = user_agent
        self._local = threading.local()

    def _session(self) -> requests.Session:
        """One session per thread, so connections (and TLS handshakes) are reused between calls.

        Cookies are refused: a platform's cookies must never carry over from one account's call to another's.
        """
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
            self._local.session = session
        return session

    # -- routing -------------------------------------------------------------------------------------

    def route(self, url: str) -> str:
        """The URL actually requested: `STELLA_SANDBOX_URL/<host><path>?<query>` in sandbox mode."""
        if not self.sandbox_url or url.startswith(self.sandbox_url + "/"):
            return url
        parts = urlsplit(url)
        routed = f"{self.sandbox_url}/{parts.netloc}{parts.path or '/'}"
        return f"{routed}?{parts.query}" if parts.query else routed

    def browser_url(self, url: str) -> str:
        """Where to send the user's browser (authorization pages): routed the same way as API calls."""
        return self.route(url)

    # -- SSRF guard ----------------------------------------------------------------------------------

    def check_user_host(self, url: str) -> str:
        """Validate a URL typed by a user (Mastodon instance, Bluesky service); return it normalised.

        https only, and never a private, loopback or link-local address — unless private hosts are
        allowed (development and tests), which also allows http.
        """
        candidate = url.strip()
        if "://" not in candidate:
            candidate = "https://" + candidate
        parts = urlsplit(candidate)
        host = parts.hostname
        try:
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
        except ValueError:
            raise UnsafeHostError("That does not look like a server address (e.g. https://mastodon.social).") from None
        if not host or parts.username or parts.password or not _valid_host(host):
            raise UnsafeHostError("That does not look like a server address (e.g. https://mastodon.social).")
        allowed_schemes = ("https", "http") if self.allow_private_hosts else ("https",)
        if parts.scheme not in allowed_schemes:
            raise UnsafeHostError("The server address must start with https://.")
        # In sandbox mode the host is never contacted (requests go to the sandbox), so it is not resolved.
        if not self.allow_private_hosts and not self.sandbox_url:
            for address in _resolve(host, parts.port or 443):
                if _is_private(address):
                    raise UnsafeHostError(
                        f"{host} points to a private or local network address, which Stella will not contact."
                    )
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host.lower()}{port}"

    # -- requests ------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        classify: Classifier,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        files: Any = None,
        auth: Any = None,
        ok: Iterable[int] | None = None,
        timeout: tuple[float, float] | None = None,
        allow_redirects: bool = False,
    ) -> requests.Response:
        """Send one request; return the response when its status is acceptable, else raise `classify(response)`.

        `ok` defaults to every 2xx status. A connection failure is transient (nothing reached the platform);
        a read timeout on a non-idempotent request is an unknown outcome (the platform may have acted).
        """
        method = method.upper()
        target = self.route(url)
        all_headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        all_headers.update(headers or {})
        secrets = _secret_values(params, data, json, all_headers, auth)
        try:
            response = self._session().request(
                method,
                target,
                params=params,
                data=data,
                json=json,
                headers=all_headers,
                files=files,
                auth=auth,
                timeout=timeout or self.timeout,
                allow_redirects=allow_redirects,
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise TransientError(f"{_host(url)} did not answer in time (connect timeout).") from _scrubbed(exc)
        except requests.exceptions.ReadTimeout as exc:
            if method in SAFE_METHODS:
                raise TransientError(f"{_host(url)} did not answer in time.") from _scrubbed(exc)
            raise UnknownOutcomeError(
                f"{_host(url)} did not answer in time after the request was sent; it may have been applied."
            ) from _scrubbed(exc)
        except requests.exceptions.ConnectionError as exc:
            raise TransientError(f"Could not reach {_host(url)}.") from _scrubbed(exc)
        except requests.exceptions.RequestException as exc:
            raise TransientError(f"Request to {_host(url)} failed.") from _scrubbed(exc)

        accepted = set(ok) if ok is not None else None
        good = response.status_code in accepted if accepted is not None else 200 <= response.status_code < 300
        log.debug("%s %s -> %s", method, _host(url) + urlsplit(url).path, response.status_code)
        if good:
            return response
        error = classify(response)
        error.scrub(secrets)
        error.status_code = response.status_code
        raise error

    def download(self, url: str, *, max_bytes: int, classify: Classifier) -> tuple[bytes, str]:
        """Fetch media bytes from a URL a user supplied (guarded); returns (bytes, content type)."""
        if not self.allow_private_hosts:
            self.check_user_host(url)
        response = self.request("GET", url, classify=classify, headers={"Accept": "*/*"}, allow_redirects=False)
        if len(response.content) > max_bytes:
            raise ProviderError(f"The media file at {_host(url)} is larger than {max_bytes // (1024 * 1024)} MB.")
        return response.content, response.headers.get("Content-Type", "application/octet-stream").split(";")[0]


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


_HOST_LABELS = re.compile(r"(?i)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?")


def _valid_host(host: str) -> bool:
    """A DNS name or an IP literal; anything else is refused before it is resolved, stored or routed."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOST_LABELS.fullmatch(host))


def _resolve(host: str, port: int) -> list[str]:
    try:
        return [str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]
    except socket.gaierror as exc:
        raise UnsafeHostError(f"Could not find a server called {host}.") from exc


def _is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified


def _secret_values(*sources: Any) -> set[str]:
    """Every credential value present in the outgoing request, to scrub from error text."""
    found: set[str] = set()
    for source in sources:
        if isinstance(source, Mapping):
            for key, value in source.items():
                if key.lower() == "authorization" and isinstance(value, str):
                    found.add(value.split(" ", 1)[-1])
                elif key in SECRET_FIELDS and isinstance(value, str) and value:
                    found.add(value)
                elif isinstance(value, Mapping):
                    found |= _secret_values(value)
        elif isinstance(source, tuple) and len(source) == 2 and all(isinstance(v, str) for v in source):
            found.add(source[1])  # (client_id, client_secret) basic auth
        elif isinstance(source, requests.auth.HTTPBasicAuth):
            password = source.password  # requests accepts bytes too; the error text we scrub is str
            found.add(password.decode(errors="replace") if isinstance(password, bytes) else password)
    return {s for s in found if len(s) >= 4}


def _scrubbed(exc: Exception) -> Exception:
    # Exceptions from requests can echo the full URL (with query tokens): keep only the class name.
    return RuntimeError(type(exc).__name__)
