"""PKCE (RFC 7636) S256 pairs, made with oauthlib."""

from __future__ import annotations

from oauthlib.oauth2.rfc6749.clients.base import Client


def make_pkce_pair() -> tuple[str, str]:
    """Return (code_verifier, code_challenge) for the S256 method."""
    client = Client("pkce")
    verifier = client.create_code_verifier(64)
    challenge = client.create_code_challenge(verifier, "S256")
    return verifier, challenge
