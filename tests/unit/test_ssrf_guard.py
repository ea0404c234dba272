"""The SSRF guard: which addresses Stella refuses, how URLs handed to it are checked, and that the connection goes
to the address that was checked (DNS rebinding)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
import urllib3.util.connection
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from stella.providers.errors import ProviderError, TransientError, UnsafeHostError
from stella.providers.http import NOT_AN_ADDRESS, HttpClient, PinnedAddressAdapter, is_public_address

SANDBOX = "http://127.0.0.1:5055"
PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1::1"
TEREDO = "2001:0:4136:e378:8000:63bf:f5ff:fffe"  # RFC 4380 example: server 65.54.227.120, client 10.0.0.1


def classify(response: requests.Response) -> ProviderError:
    return ProviderError(f"HTTP {response.status_code}")


class FakeDns:
    """Stands in for socket.getaddrinfo: each name answers from a list of answers, the last one repeating."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, **answers: list[list[str]]) -> None:
        self.answers = {name.replace("_", "."): list(values) for name, values in answers.items()}
        self.asked: list[str] = []
        self._real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in self.answers:
            try:
                ipaddress.ip_address(host)
            except ValueError:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
            return self._real(host, port, *args, **kwargs)  # an IP literal resolves to itself
        self.asked.append(host)
        queue = self.answers[host]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in addresses]


# -- which addresses are refused ----------------------------------------------------------------------------

REFUSED = [
    "100.64.0.1", "100.100.100.200",  # shared address space (RFC 6598), incl. a cloud metadata address
    "127.0.0.1", "10.0.0.5", "172.16.0.1", "192.168.1.10", "169.254.169.254", "0.0.0.0", "255.255.255.255",
    "198.18.0.1", "192.0.2.1", "192.0.0.8", "240.0.0.1", "224.0.0.1",
    "::", "::1", "fc00::1", "fd12:3456::1", "fe80::1", "fe80::1%eth0", "fec0::1", "ff02::1", "2001:db8::1",
    "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",  # IPv4-mapped
    "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::5db8:d822",  # NAT64, and the local-use NAT64 prefix
    "2002:a00:1::", "2002:7f00:1::1", "2002:a9fe:a9fe::",  # 6to4 around 10.0.0.1, 127.0.0.1, 169.254.169.254
    TEREDO, "::a00:1",  # Teredo, IPv4-compatible
    "not an address",
]
ACCEPTED = [PUBLIC_V4, "1.1.1.1", PUBLIC_V6, "::ffff:93.184.216.34", "64:ff9b::5db8:d822", "2002:5db8:d822::1"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_global_addresses_and_those_embedding_one_are_refused(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ACCEPTED)
def test_public_addresses_are_accepted_even_when_mapped_or_translated(address):
    assert is_public_address(address)


@pytest.mark.parametrize("address", [a for a in REFUSED if a not in ("not an address", "fe80::1%eth0")])
def test_a_typed_server_resolving_to_a_refused_address_is_refused(monkeypatch, address):
    FakeDns(monkeypatch, social_example=[[address]])
    with pytest.raises(UnsafeHostError, match="private or local"):
        HttpClient().check_user_host("https://social.example")


@responses.activate
def test_a_name_resolving_to_one_public_and_one_private_address_is_refused(monkeypatch):
    FakeDns(monkeypatch, social_example=[[PUBLIC_V4, "10.0.0.5"]])
    responses.get("https://social.example/api/v1/instance", json={})
    with pytest.raises(UnsafeHostError, match="private or local"):
        HttpClient().check_user_host("https://social.example")
    with pytest.raises(UnsafeHostError, match="private or local"):
        HttpClient().request("GET", "https://social.example/api/v1/instance", classify=classify, untrusted=True)
    assert not responses.calls


@responses.activate
def test_an_untrusted_url_to_a_public_host_is_sent_with_its_host_header(monkeypatch):
    FakeDns(monkeypatch, social_example=[[PUBLIC_V4]])
    responses.get("https://social.example:8443/api/v1/instance", json={"ok": True})
    response = HttpClient().request("GET", "https://social.example:8443/api/v1/instance", classify=classify,
                                    untrusted=True)
    assert response.json() == {"ok": True}
    assert responses.calls[0].request.headers["Host"] == "social.example:8443"


@responses.activate
def test_media_downloads_are_guarded_too(monkeypatch):
    FakeDns(monkeypatch, cdn_example=[["169.254.169.254"]])
    responses.get("https://cdn.example/a.jpg", body=b"x")
    with pytest.raises(UnsafeHostError):
        HttpClient().download("https://cdn.example/a.jpg", max_bytes=10, classify=classify)
    assert not responses.calls


def test_a_dns_failure_when_calling_is_transient_not_a_refusal(monkeypatch):
    FakeDns(monkeypatch)
    with pytest.raises(TransientError) as caught:
        HttpClient().request("GET", "https://gone.example/x", classify=classify, untrusted=True)
    assert caught.value.retryable and not isinstance(caught.value, UnsafeHostError)


# -- malformed addresses ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["https://[2001:db8::1", "https://2001:db8::1]", "[::1", "https://[::1]]:443",
                                 "https://[::1]x", "https://[not-an-ip]", "https://[fe80::1%25eth0]",
                                 "https://[1.2.3.4]", "https://social.example:"])
def test_unbalanced_or_bad_brackets_are_a_clear_refusal_not_a_crash(url):
    with pytest.raises(UnsafeHostError) as caught:
        HttpClient(allow_private_hosts=True).check_user_host(url)
    assert caught.value.message == NOT_AN_ADDRESS
    with pytest.raises(UnsafeHostError, match="not a valid server address"):
        HttpClient().request("GET", url, classify=classify, untrusted=True)


def test_ipv6_hosts_keep_their_brackets(monkeypatch):
    dev = HttpClient(allow_private_hosts=True)
    assert dev.check_user_host("https://[2001:db8::1]:8443") == "https://[2001:db8::1]:8443"
    assert dev.check_user_host("[2001:DB8::1]") == "https://[2001:db8::1]"
    FakeDns(monkeypatch)
    assert HttpClient().check_user_host(f"https://[{PUBLIC_V6}]:8443/") == f"https://[{PUBLIC_V6}]:8443"


@pytest.mark.parametrize("url", ["http://social.example/x", "ftp://social.example/x", "https://user:pw@social.example/x",
                                 "/relative/upload", "https://social.example:99999/x"])
def test_untrusted_urls_must_be_plain_https_addresses(monkeypatch, url):
    dns = FakeDns(monkeypatch, social_example=[[PUBLIC_V4]])
    with pytest.raises(UnsafeHostError) as caught:
        HttpClient().request("PUT", url, data=b"x", classify=classify, untrusted=True)
    assert "pw" not in caught.value.message
    assert not dns.asked  # refused before any lookup


def test_redirects_are_never_followed_for_untrusted_urls(monkeypatch):
    FakeDns(monkeypatch, social_example=[[PUBLIC_V4]])
    with pytest.raises(ValueError, match="Redirects"):
        HttpClient().request("GET", "https://social.example/", classify=classify, untrusted=True, allow_redirects=True)
    with responses.RequestsMock() as mock:
        mock.get("https://social.example/", status=302, headers={"Location": "http://169.254.169.254/"})
        response = HttpClient().request("GET", "https://social.example/", classify=classify, ok=(302,),
                                        untrusted=True)
        assert response.status_code == 302 and len(mock.calls) == 1


# -- development and sandbox --------------------------------------------------------------------------------


@pytest.fixture()
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("DNS must not be used here")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@responses.activate
def test_in_sandbox_mode_untrusted_urls_are_checked_for_shape_but_never_resolved(no_dns):
    client = HttpClient(sandbox_url=SANDBOX)
    responses.put(f"{SANDBOX}/open-upload.tiktokapis.com/video/?upload_id=1", status=201)
    responses.put(f"{SANDBOX}/upload/1", status=201)
    client.request("PUT", "https://open-upload.tiktokapis.com/video/?upload_id=1", classify=classify, untrusted=True)
    client.request("PUT", f"{SANDBOX}/upload/1", classify=classify, untrusted=True)  # the sandbox itself is trusted
    assert [c.request.url for c in responses.calls] == [
        f"{SANDBOX}/open-upload.tiktokapis.com/video/?upload_id=1", f"{SANDBOX}/upload/1"]
    for bad in ("http://open-upload.tiktokapis.com/video/", "https://[::1/video/", "https://a:b@host.example/"):
        with pytest.raises(UnsafeHostError):
            client.request("PUT", bad, classify=classify, untrusted=True)
    assert len(responses.calls) == 2


@responses.activate
def test_with_private_hosts_allowed_local_http_servers_are_reachable(no_dns):
    responses.get("http://127.0.0.1:3000/api/v1/instance", json={})
    HttpClient(allow_private_hosts=True).request("GET", "http://127.0.0.1:3000/api/v1/instance", classify=classify,
                                                 untrusted=True)
    assert len(responses.calls) == 1


# -- the connection goes to the checked address -------------------------------------------------------------


@pytest.fixture()
def connects(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Where urllib3 opens TCP connections; every attempt is refused, so nothing leaves the machine."""
    attempts: list[tuple[str, int]] = []

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(address)
        raise ConnectionRefusedError("refused in this test")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    return attempts


def test_dns_rebinding_between_check_and_connect_cannot_reach_the_new_address(monkeypatch, connects):
    # The first answer is public, every later one private: the connection must use the first.
    dns = FakeDns(monkeypatch, rebind_example=[[PUBLIC_V4], ["127.0.0.1"]])
    with pytest.raises(TransientError, match="Could not reach"):
        HttpClient().request("POST", "https://rebind.example/upload", data=b"secret", classify=classify,
                             untrusted=True)
    assert connects == [(PUBLIC_V4, 443)]
    assert dns.asked == ["rebind.example"]  # resolved once, by the guard


def test_each_checked_address_is_tried_in_turn_while_nothing_was_sent(monkeypatch, connects):
    FakeDns(monkeypatch, dual_example=[[PUBLIC_V6, PUBLIC_V4]])
    with pytest.raises(TransientError):
        HttpClient().request("GET", "https://dual.example/", classify=classify, untrusted=True)
    assert [address for address, _ in connects] == [PUBLIC_V6, PUBLIC_V4]


def test_trusted_platform_calls_do_not_go_through_the_pinned_adapter(monkeypatch, connects):
    dns = FakeDns(monkeypatch, api_example=[["10.0.0.5"]])
    with pytest.raises(TransientError):
        HttpClient().request("GET", "https://api.example/", classify=classify)
    assert not dns.asked and connects == [("api.example", 443)]  # a fixed platform host: urllib3 resolves it


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture()
def tls_server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """An HTTPS server on 127.0.0.1 whose certificate names rebind.test; it records SNI and Host."""
    cert_path, key_path = _certificate(tmp_path, "rebind.test")
    seen: dict[str, Any] = {"sni": [], "host": []}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen["host"].append(self.headers["Host"])
            body = json.dumps({"path": self.path}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    context.sni_callback = lambda sock, name, ctx: seen["sni"].append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"port": server.server_address[1], "ca": str(cert_path), "seen": seen}
    finally:
        server.shutdown()
        server.server_close()


def loopback_only(address: str) -> bool:
    return address == "127.0.0.1"  # the one private address this test needs, instead of allowing them all


def test_the_pinned_connection_keeps_the_name_for_host_sni_and_the_certificate(monkeypatch, tls_server):
    # First answer: the loopback server; any later answer: an address that would never answer.
    dns = FakeDns(monkeypatch, rebind_test=[["127.0.0.1"], ["10.255.255.1"]])
    session = requests.Session()
    session.mount("https://", PinnedAddressAdapter(address_ok=loopback_only))
    port = tls_server["port"]
    response = session.get(f"https://rebind.test:{port}/xrpc/ping", verify=tls_server["ca"], timeout=5)
    assert response.json() == {"path": "/xrpc/ping"}
    assert dns.asked == ["rebind.test"]  # resolved once; the connection used that answer
    assert tls_server["seen"]["sni"] == ["rebind.test"]
    assert tls_server["seen"]["host"] == [f"rebind.test:{port}"]

    # The second lookup now answers an address the check refuses: nothing is sent.
    with pytest.raises(UnsafeHostError):
        session.get(f"https://rebind.test:{port}/xrpc/ping", verify=tls_server["ca"], timeout=5)
    assert len(tls_server["seen"]["host"]) == 1


def test_the_certificate_is_checked_against_the_name_not_the_pinned_address(monkeypatch, tls_server):
    # The server's certificate is trusted, but it names rebind.test: asked for other.test, the check must fail.
    FakeDns(monkeypatch, other_test=[["127.0.0.1"]])
    session = requests.Session()
    session.mount("https://", PinnedAddressAdapter(address_ok=loopback_only))
    with pytest.raises(requests.exceptions.SSLError):
        session.get(f"https://other.test:{tls_server['port']}/", verify=tls_server["ca"], timeout=5)
    assert tls_server["seen"]["sni"] == ["other.test"] and not tls_server["seen"]["host"]
