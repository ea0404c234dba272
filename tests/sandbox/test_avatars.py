"""The sandbox serves its own profile pictures: a connected sandbox shows no broken images offline."""

from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa
from flask.testing import FlaskClient

import stella.providers as registry
from stella.extensions import db as _db
from stella.models import SocialConnection
from stella.sandbox.avatars import avatar_name, initials
from stella.sandbox.platforms import SANDBOX_PLATFORMS
from tests.sandbox_support import connect_through_sandbox


@pytest.mark.parametrize("platform", SANDBOX_PLATFORMS, ids=lambda p: p.name)
def test_each_platform_has_a_picture_in_its_colour(sandbox_client: FlaskClient, platform) -> None:
    response = sandbox_client.get(f"/_sandbox/avatars/{platform.name}/harbor-vine-realty.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<svg") and f'fill="{platform.color}"' in svg and ">HV</text>" in svg
    assert "max-age" in response.headers["Cache-Control"]


@pytest.mark.parametrize("path", [
    "/_sandbox/avatars/myspace/harbor.svg",       # not a platform
    "/_sandbox/avatars/x/Harbor%20Vine.svg",      # not a picture name: never drawn into the SVG
    "/_sandbox/avatars/x/%3Cscript%3E.svg",
])
def test_anything_else_is_not_found(sandbox_client: FlaskClient, path: str) -> None:
    assert sandbox_client.get(path).status_code == 404


def test_picture_names_and_initials() -> None:
    assert avatar_name("Harbor & Vine Realty — Waterfront Office") == "harbor-vine-realty-waterfront-office"
    assert avatar_name("  ") == "account"
    assert initials("maya-chen") == "MC" and initials("harbor") == "H"


@pytest.mark.parametrize("name", [cls.name for cls in registry.PROVIDER_CLASSES])
def test_a_connected_account_pictures_come_from_the_sandbox_itself(client, login, db, sandboxed, name) -> None:
    user = login("marketing")
    connect_through_sandbox(client, name)
    _db.session.expire_all()
    connection = _db.session.execute(
        sa.select(SocialConnection).filter_by(user_id=user.id, provider=name)
    ).scalar_one()
    assert connection.status == "connected", connection.auth_metadata.get("error_reason")
    picture = connection.tokens.profile_image_url
    assert picture and picture.startswith(f"{sandboxed}/_sandbox/avatars/{name}/"), picture
    served = requests.get(picture, timeout=5)
    assert served.status_code == 200 and served.headers["Content-Type"].startswith("image/svg+xml")
