"""The post status workflow of the seed, enforced in one place (SocialPost.move_to)."""

from __future__ import annotations

import itertools

import pytest

from stella.models.post import POST_STATUSES, POST_TRANSITIONS, InvalidTransitionError, SocialPost

ALLOWED = {
    ("draft", "scheduled"),
    ("draft", "published"),
    ("scheduled", "queued"),
    ("queued", "published"),
    ("queued", "failed"),
    ("failed", "scheduled"),
}


def test_the_transition_table_is_exactly_the_seed_workflow():
    table = {(src, dst) for src, targets in POST_TRANSITIONS.items() for dst in targets}
    assert table == ALLOWED and set(POST_TRANSITIONS) == set(POST_STATUSES)


@pytest.mark.parametrize("source,target", sorted(itertools.product(POST_STATUSES, POST_STATUSES)))
def test_a_post_moves_only_along_the_workflow(source: str, target: str):
    post = SocialPost(content="Open house", platforms=["x"], status=source)
    if (source, target) in ALLOWED:
        post.move_to(target)
        assert post.status == target
    else:
        with pytest.raises(InvalidTransitionError, match=f"{source} post cannot become {target}"):
            post.move_to(target)
        assert post.status == source
