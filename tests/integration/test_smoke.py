from tests.factories import make_post, make_user


def test_server_defaults_fill_a_post_inserted_without_them(db):
    user = make_user()
    post = make_post(user)
    db.session.refresh(post)
    assert post.status == "draft" and post.timezone == "UTC" and post.approval_required is False
    assert post.created_at.tzinfo is not None
