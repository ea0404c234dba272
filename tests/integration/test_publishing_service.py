"""The publishing service: publish, poll on an injected clock until published, and let provider errors through."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest

from stella.extensions import db as _db
from stella.models import SocialAccountToken, SocialConnection
from stella.providers.base import Account, ClientCredentials, OutboundPost, PublishResult
from stella.providers.errors import AuthExpiredError, ProviderError, RateLimitedError, RejectedError
from stella.providers.http import HttpClient
from stella.services.publishing import PublishNotFinishedError, publish_until_done
from tests.factories import make_user
from tests.fake_providers import ACCESS, CLIENT_ID, CLIENT_SECRET, FAKE, REFRESH, FakeProvider

POST = OutboundPost(text="Open house Saturday at 12 Elm Street", idempotency_key="post-1:x")
PUBLISHED = PublishResult(state="published", platform_post_id="9001", permalink="https://fake.example/p/9001")
NEW_ACCESS = "fresh-access-token-GGGG7777"


def processing(job: str) -> PublishResult:
    return PublishResult(state="processing", poll={"job": job})


class ScriptedProvider(FakeProvider):
    """Answers publish, then each check_publish, from a script (an exception in it is raised); records the calls."""

    def __init__(self, answers: Iterable[PublishResult | ProviderError]) -> None:
        super().__init__(ClientCredentials(CLIENT_ID, CLIENT_SECRET), HttpClient())
        self.answers = list(answers)
        self.calls: list[tuple[str, str, Any]] = []

    def publish(self, account: Account, post: OutboundPost) -> PublishResult:
        self.calls.append(("publish", account.access_token, post.idempotency_key))
        return self._answer()

    def check_publish(self, account: Account, poll: Mapping[str, Any]) -> PublishResult:
        self.calls.append(("check_publish", account.access_token, dict(poll)))
        return self._answer()

    def _answer(self) -> PublishResult:
        answer = self.answers.pop(0)
        if isinstance(answer, ProviderError):
            raise answer
        return answer


class FakeClock:
    """`now()` and `wait(seconds)` for the service: waiting moves the clock forward, nothing sleeps."""

    def __init__(self, start: datetime) -> None:
        self.moment = start
        self.waits: list[float] = []

    def now(self) -> datetime:
        return self.moment

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.moment += timedelta(seconds=seconds)


@pytest.fixture()
def connection(db, now) -> SocialConnection:
    connection = SocialConnection(user_id=make_user().id, provider="x", status="connected", connected_at=now)
    connection.tokens = SocialAccountToken(access_token=ACCESS, refresh_token=REFRESH, platform_account_id="4242",
                                           token_expires_at=now + timedelta(hours=1))
    _db.session.add(connection)
    _db.session.flush()
    return connection


@pytest.fixture()
def clock(now) -> FakeClock:
    return FakeClock(now)


def test_a_post_published_at_once_is_returned_without_waiting(connection, clock):
    provider = ScriptedProvider([PUBLISHED])
    result = publish_until_done(connection, POST, clock.wait, now=clock.now, provider=provider)
    assert result == PUBLISHED
    assert provider.calls == [("publish", ACCESS, "post-1:x")]
    assert clock.waits == []


def test_a_processing_post_is_polled_until_published(connection, clock):
    provider = ScriptedProvider([processing("a"), processing("b"), processing("c"), PUBLISHED])
    result = publish_until_done(connection, POST, clock.wait, now=clock.now, provider=provider, poll_seconds=30)
    assert result == PUBLISHED
    # Each check carries the handle the previous answer gave.
    assert [call[2] for call in provider.calls] == ["post-1:x", {"job": "a"}, {"job": "b"}, {"job": "c"}]
    assert clock.waits == [30, 30, 30]


def test_the_last_allowed_poll_may_finish_the_publish(connection, clock):
    provider = ScriptedProvider([processing("a"), processing("b"), PUBLISHED])
    assert publish_until_done(connection, POST, clock.wait, now=clock.now, provider=provider, polls=2) == PUBLISHED


def test_processing_without_a_poll_handle_is_returned_as_it_is(connection, clock):
    pending = PublishResult(state="processing", platform_post_id="9002")
    provider = ScriptedProvider([pending])
    assert publish_until_done(connection, POST, clock.wait, now=clock.now, provider=provider) == pending
    assert clock.waits == []


def test_a_post_still_processing_after_every_poll_raises_not_finished(connection, clock):
    provider = ScriptedProvider([processing(str(n)) for n in range(4)])
    with pytest.raises(PublishNotFinishedError) as raised:
        publish_until_done(connection, POST, clock.wait, now=clock.now, provider=provider, polls=3)
    error = raised.value
    assert isinstance(error, ProviderError) and not error.retryable
    assert error.platform == "x" and error.result.poll == {"job": "3"}  # a later run can keep checking
    assert str(error) == "FakeNet was still processing the post after 3 checks."
    assert len(clock.waits) == 3 and len(provider.calls) == 4


@pytest.mark.parametrize("script", [
    [RateLimitedError("Slow down", retry_after=120, platform="x")],
    [processing("a"), RejectedError("The video is too long", platform="x", code="duration")],
], ids=["on-publish", "while-polling"])
def test_a_provider_error_propagates_typed(connection, clock, script):
    expected = script[-1]
    provider = ScriptedProvider(script)
    with pytest.raises(type(expected)) as raised:
        publish_until_done(connection, POST, clock.wait, now=clock.now, provider=provider)
    assert raised.value is expected


def test_an_expired_token_is_refreshed_once_and_the_publish_retried(connection, clock, fake):
    fake.post(f"{FAKE}/oauth/token", json={"access_token": NEW_ACCESS, "expires_in": 3600})
    provider = ScriptedProvider([AuthExpiredError("Token expired", platform="x"), PUBLISHED])
    assert publish_until_done(connection, POST, clock.wait, now=clock.now, provider=provider) == PUBLISHED
    assert [call[1] for call in provider.calls] == [ACCESS, NEW_ACCESS]
    assert connection.tokens.access_token == NEW_ACCESS


def test_a_failed_refresh_marks_the_connection_at_the_injected_time(connection, clock, fake):
    fake.post(f"{FAKE}/oauth/token", json={"error": "invalid_grant"}, status=400)
    provider = ScriptedProvider([AuthExpiredError("Token expired", platform="x")])
    with pytest.raises(AuthExpiredError):
        publish_until_done(connection, POST, clock.wait, now=clock.now, provider=provider)
    assert connection.status == "error"
    assert connection.auth_metadata["error_at"] == clock.moment.isoformat()
