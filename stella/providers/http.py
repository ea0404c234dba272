"""The one HTTP layer every platform call goes through.

It sets timeouts and a clear User-Agent, routes requests (and browser redirects) to a sandbox when
`STELLA_SANDBOX_URL` is set, guards every URL handed to Stella (typed by a user or named in a platform's answer)
against SSRF, turns network failures and error answers into typed `ProviderError`s, and keeps credentials out of
every message it produces.
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
from urllib.parse import SplitResult, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError

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
NOT_AN_ADDRESS = "That does not look like a server address (e.g. https://mastodon.social)."

Classifier = Callable[[requests.Response], ProviderError]


class HttpClient:
    """Send platform requests. One instance per app; it is thread-safe (sessions are per thread)."""

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

    def _session(self, *, pinned: bool = False) -> requests.Session:
        """One session per thread, so connections (and TLS handshakes) are reused between calls.

        Cookies are refused: a platform's cookies must never carry over from one account's call to another's.
        The `pinned` session sends through `PinnedAddressAdapter`, for URLs handed to Stella.
        """
        name = "pinned_session" if pinned else "session"
        session: requests.Session | None = getattr(self._local, name, None)
        if session is None:
            session = requests.Session()
            session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
            if pinned:
                adapter = PinnedAddressAdapter()
                session.mount("https://", adapter)
                session.mount("http://", adapter)
            setattr(self._local, name, session)
        return session

    # -- routing -------------------------------------------------------------------------------------

    def route(self, url: str) -> str:
        """The URL actually requested: `STELLA_SANDBOX_URL/<host><path>?<query>` in sandbox mode."""
        if not self.sandbox_url or self._is_sandbox(url):
            return url
        parts = urlsplit(url)
        routed = f"{self.sandbox_url}/{parts.netloc}{parts.path or '/'}"
        return f"{routed}?{parts.query}" if parts.query else routed

    def browser_url(self, url: str) -> str:
        """Where to send the user's browser (authorization pages): routed the same way as API calls."""
        return self.route(url)

    def _is_sandbox(self, url: str) -> bool:
        return bool(self.sandbox_url) and url.startswith(f"{self.sandbox_url}/")

    # -- SSRF guard ----------------------------------------------------------------------------------

    @property
    def _schemes(self) -> tuple[str, ...]:
        # Plain http only where private hosts are allowed (development and tests): elsewhere a bearer token
        # sent in clear could be read on the way.
        return ("https", "http") if self.allow_private_hosts else ("https",)

    @property
    def _checks_addresses(self) -> bool:
        # In sandbox mode platform hosts are never contacted (requests go to the sandbox), so nothing is resolved.
        return not self.allow_private_hosts and not self.sandbox_url

    def check_user_host(self, url: str) -> str:
        """Validate a server address typed by a user (Mastodon instance, Bluesky service); return it normalised.

        https only, and every address the name resolves to must be public — unless private hosts are allowed
        (development and tests), which also allows http. Returns `scheme://host[:port]`, IPv6 in brackets.
        Passing this check once is not enough: each request to the address is checked again (see `request`).
        """
        candidate = url.strip()
        if "://" not in candidate:
            candidate = "https://" + candidate
        parts = _split(candidate)
        if parts is None or not parts.hostname:
            raise UnsafeHostError(NOT_AN_ADDRESS)
        if parts.scheme not in self._schemes:
            raise UnsafeHostError("The server address must start with https://.")
        host = parts.hostname
        if self._checks_addresses:
            try:
                addresses = _resolve(host, parts.port or _default_port(parts.scheme))
            except OSError:
                raise UnsafeHostError(f"Could not find a server called {host}.") from None
            if not addresses or not all(is_public_address(address) for address in addresses):
                raise UnsafeHostError(_private(host))
        return f"{parts.scheme}://{_netloc(host, parts.port)}"

    def _check_handed_url(self, url: str) -> None:
        """The checks on a URL handed to Stella that need no DNS: a plain http(s) URL, https outside development."""
        parts = _split(url)
        if parts is None or not parts.hostname:
            raise UnsafeHostError(f"Stella will not call {_shown_host(url)}: it is not a valid server address.")
        if parts.scheme not in self._schemes:
            raise UnsafeHostError(f"Stella will not call {parts.hostname}: the address must start with https://.")

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
        untrusted: bool = False,
    ) -> requests.Response:
        """Send one request; return the response when its status is acceptable, else raise `classify(response)`.

        `ok` defaults to every 2xx status. A connection failure is transient (nothing reached the platform);
        a read timeout on a non-idempotent request is an unknown outcome (the platform may have acted).

        `untrusted` marks a URL Stella did not choose itself: a server the user typed (Mastodon instance, Bluesky
        service) or an address a platform's answer named (a PDS, an upload URL). It must be a plain https URL
        (http too where private hosts are allowed) or `UnsafeHostError` is raised before anything is sent; outside
        the sandbox and development, every address its host resolves to must be public, and the connection goes to
        the address that was checked (`PinnedAddressAdapter`). The sandbox's own URLs are trusted.
        """
        method = method.upper()
        session = self._session()
        if untrusted and not self._is_sandbox(url):
            if allow_redirects:
                # A redirect could lead anywhere; the guard checks the URL it is given, not where it leads.
                raise ValueError("Redirects are never followed for an untrusted URL.")
            self._check_handed_url(url)
            if self._checks_addresses:
                session = self._session(pinned=True)
        target = self.route(url)
        all_headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        all_headers.update(headers or {})
        secrets = _secret_values(params, data, json, all_headers, auth)
        try:
            response = session.request(
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
        """Fetch media bytes from a URL handed to Stella (guarded like any untrusted URL); (bytes, content type)."""
        response = self.request("GET", url, classify=classify, headers={"Accept": "*/*"}, untrusted=True)
        if len(response.content) > max_bytes:
            raise ProviderError(f"The media file at {_host(url)} is larger than {max_bytes // (1024 * 1024)} MB.")
        return response.content, response.headers.get("Content-Type", "application/octet-stream").split(";")[0]


class PinnedAddressAdapter(HTTPAdapter):
    """Resolve the host once, refuse it unless every address is public, then connect to the address checked.

    Left alone, urllib3 would resolve the name again to connect, and a DNS server answering a public address to
    the check and a private one to the connection (DNS rebinding) would get past the guard. Here the TCP
    connection goes to the checked IP while the Host header, TLS SNI and the certificate check keep the name.
    Each request is checked, redirects included. An adapter belongs to one thread's session, so the pin of the
    request being sent is plain instance state.
    """

    def __init__(self, address_ok: Callable[[str], bool] | None = None) -> None:
        super().__init__()
        self._address_ok = address_ok or is_public_address
        self._pin: tuple[str, str] | None = None  # (host name, address) while a request is being sent

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        parts = _split(request.url or "")
        if parts is None or not parts.hostname or parts.scheme != "https":
            raise UnsafeHostError(f"Stella will not call {_shown_host(request.url or '')}: it is not an https address.")
        host = parts.hostname
        try:
            addresses = _resolve(host, parts.port or 443)
        except OSError:
            raise requests.exceptions.ConnectionError(f"Could not resolve {host}.", request=request) from None
        if not addresses or not all(self._address_ok(address) for address in addresses):
            raise UnsafeHostError(_private(host))
        request.headers["Host"] = _netloc(host, parts.port)
        failure: requests.exceptions.ConnectionError | None = None
        # Like urllib3's own connect, try each address in turn — but only while nothing has been sent.
        for address in addresses:
            self._pin = (host, address)
            try:
                return super().send(request, *args, **kwargs)
            except requests.exceptions.ConnectionError as exc:
                if not _never_connected(exc):
                    raise
                failure = exc
            finally:
                self._pin = None
        assert failure is not None  # the loop ran at least once and every attempt failed
        raise failure

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: str | tuple[str, str] | None = None
    ) -> Any:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if self._pin is None:  # only reached through `send`, which always pins
            raise UnsafeHostError("Stella will not connect to an address it has not checked.")
        name, address = self._pin
        # The pool is keyed by the IP and the name, so a kept-alive connection is only reused for the same pair.
        pinned_host = {**host_params, "host": address}
        if host_params["scheme"] == "https":
            # urllib3 sends this name as SNI and verifies the certificate against it, not against the IP.
            return pinned_host, {**pool_kwargs, "server_hostname": name}
        return pinned_host, pool_kwargs


def is_public_address(address: str) -> bool:
    """True only for a globally reachable unicast address, with any IPv4 address it embeds global too.

    IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::/96, RFC 6052) and 6to4 (2002::/16, RFC 3056) addresses reach
    the IPv4 address inside them, so that address decides; Teredo (RFC 4380) is never a server's address.
    """
    if "%" in address:  # a scope id only exists for link-local addresses
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public_address(str(ip.ipv4_mapped))
        if ip in _NAT64:
            return is_public_address(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
        if ip.sixtofour is not None and not is_public_address(str(ip.sixtofour)):
            return False
        if ip.teredo is not None or ip.is_site_local:
            return False
    if any(ip in network for network in _NOT_GLOBAL):
        return False
    # `is_reserved` drops the rest of ::/8 (e.g. IPv4-compatible ::a.b.c.d); `is_global` still counts multicast.
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Blocks Python 3.11's `is_global` still calls global, though the IANA registries say no public host uses them:
# IETF protocol assignments (https://www.iana.org/assignments/iana-ipv4-special-registry/) and the local-use
# NAT64 prefix (https://www.rfc-editor.org/rfc/rfc8215).
_NOT_GLOBAL = (ipaddress.IPv4Network("192.0.0.0/24"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def _split(url: str) -> SplitResult | None:
    """`url` split, or None unless it is a URL with a valid host and port and no user name or password."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:  # also "Invalid IPv6 URL" for an unbalanced [ or ]
        return None
    host = parts.hostname
    if not host or not _valid_host(host):
        return None
    # Nothing but the host and port: no user name or password, no stray characters urlsplit skips over
    # ("[::1]]:443", "host:" ...), so the URL requests sends names exactly the host that was checked.
    if parts.netloc.lower() != _netloc(host, port):
        return None
    return parts


def _shown_host(url: str) -> str:
    """The host of `url` for a message, or a neutral word when it cannot be read."""
    parts = _split(url)
    return parts.hostname if parts is not None and parts.hostname else "that address"


def _netloc(host: str, port: int | None) -> str:
    # urlsplit hands back an IPv6 host without its brackets; a URL needs them back.
    bracketed = f"[{host}]" if ":" in host else host
    return f"{bracketed}:{port}" if port else bracketed


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _private(host: str) -> str:
    return f"{host} points to a private or local network address, which Stella will not contact."


def _host(url: str) -> str:
    """The host and port of `url` for messages and logs, without any user name or password."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return "the server"
    return netloc.rpartition("@")[2] or url


_HOST_LABELS = re.compile(r"(?i)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?")


def _valid_host(host: str) -> bool:
    """A DNS name or an IP literal; anything else is refused before it is resolved, stored or routed."""
    if "%" in host:  # an IPv6 zone id names a local interface, never a server
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOST_LABELS.fullmatch(host))


def _resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order (socket.gaierror when none)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection itself failed (refused, unreachable, connect timeout): nothing was sent."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, ConnectTimeoutError)  # NewConnectionError is a ConnectTimeoutError too


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
