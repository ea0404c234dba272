"""Publishing one post to one connected account: publish, then poll the platform until it says published.

Time is injected so tests never sleep: `wait(seconds)` sleeps in production and moves a test clock in tests, and
`now()` is the clock token refreshes are judged by. Flushes (a refreshed token), never commits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from stella.models import SocialConnection
from stella.models.types import now_utc
from stella.providers.base import OutboundPost, Provider, PublishResult
from stella.providers.errors import ProviderError
from stella.services.connections import provider_for_connection
from stella.services.tokens import call_with_fresh_token

DEFAULT_POLLS = 20
DEFAULT_POLL_SECONDS = 60.0


class PublishNotFinishedError(ProviderError):
    """The platform was still processing after every poll. The post may yet appear: `result.poll` lets a later run
    keep checking instead of publishing it again."""

    def __init__(self, message: str, *, result: PublishResult, platform: str | None = None) -> None:
        super().__init__(message, platform=platform)
        self.result = result


def publish_until_done(
    connection: SocialConnection,
    post: OutboundPost,
    wait: Callable[[float], None],
    *,
    now: Callable[[], datetime] = now_utc,
    provider: Provider | None = None,
    polls: int = DEFAULT_POLLS,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
) -> PublishResult:
    """Publish `post` through `connection`, then poll every `poll_seconds` (via `wait`) until it is published.

    Each call refreshes an expired token once and retries (`call_with_fresh_token`). Returns the final result:
    `published`, or `processing` when the platform gave nothing to poll. Provider errors propagate as they are;
    still processing after `polls` checks raises PublishNotFinishedError.
    """
    provider = provider or provider_for_connection(connection)
    result = call_with_fresh_token(connection, partial(provider.publish, post=post), now=now())
    checks = 0
    while result.state != "published" and result.poll is not None:
        if checks == polls:
            raise PublishNotFinishedError(
                f"{provider.display_name} was still processing the post after {polls} checks.",
                result=result,
                platform=connection.provider,
            )
        wait(poll_seconds)
        # partial binds this round's poll handle; a lambda would read the loop variable late (B023).
        result = call_with_fresh_token(connection, partial(provider.check_publish, poll=result.poll), now=now())
        checks += 1
    return result
