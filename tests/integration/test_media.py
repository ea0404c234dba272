"""Media through the routes: upload and add-by-URL from the composer, the thumbnail, and the public URL platforms
fetch. Real files (made with Pillow and PyAV) go through the real probe, cleaning and storage."""

from __future__ import annotations

import hashlib
import io
import socket
import uuid
from pathlib import Path

import pytest
import responses
from PIL import Image

from stella.extensions import db as _db
from stella.models import MediaAsset
from stella.providers.http import HttpClient
from stella.services import media
from stella.services.errors import ValidationError
from stella.services.platforms import HTTP_CLIENT_KEY
from tests.factories import make_user
from tests.unit.test_media_probe import GPS_IFD, ORIENTATION, PDF, make_exif, make_image, make_video

JSON = {"Accept": "application/json"}


def upload(client, data: bytes, filename: str = "photo.jpg", content_type: str = "image/jpeg", **kwargs):
    return client.post("/media", data={"file": (io.BytesIO(data), filename, content_type)},
                       content_type="multipart/form-data", **kwargs)


def stored_files(app) -> set[Path]:
    root = Path(app.instance_path) / "media"
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def asset_count() -> int:
    return _db.session.scalar(_db.select(_db.func.count()).select_from(MediaAsset)) or 0


def public_path(asset: MediaAsset) -> str:
    return media.media_url(asset).removeprefix("http://127.0.0.1:5000")


# -- uploading --------------------------------------------------------------------------------------------------------


def test_a_photo_upload_is_cleaned_stored_and_shown(app, client, login):
    user = login("marketing")
    original = make_image("JPEG", size=(64, 48), exif=make_exif(orientation=6))

    response = upload(client, original, filename="12 Elm St kitchen.jpg", headers={"HX-Request": "true"})

    assert response.status_code == 201
    page = response.get_data(as_text=True)
    asset = _db.session.execute(_db.select(MediaAsset)).scalars().one()
    assert (asset.kind, asset.mime_type, asset.width, asset.height) == ("image", "image/jpeg", 48, 64)
    assert asset.location_removed is True
    assert asset.created_by == user.id and asset.original_filename == "12 Elm St kitchen.jpg"
    assert len(asset.public_token) >= 32
    # The fragment: thumbnail, type, dimensions, size, the location note and an alt-text field.
    assert f'/media/{asset.id}/thumbnail' in page
    assert "JPEG photo" in page and "48 \N{MULTIPLICATION SIGN} 64" in page and "KB" in page
    assert "Location removed" in page
    assert 'name="alt_text"' in page and f'value="{asset.id}"' in page
    # On disk by content hash, without GPS, orientation kept; the hash is of the cleaned bytes.
    path = Path(app.instance_path) / "media" / asset.sha256[:2] / f"{asset.sha256}.jpg"
    stored = path.read_bytes()
    assert hashlib.sha256(stored).hexdigest() == asset.sha256 and len(stored) == asset.size_bytes
    assert stored != original
    exif = Image.open(io.BytesIO(stored)).getexif()
    assert GPS_IFD not in exif and exif[ORIENTATION] == 6
    assert path.with_name(f"{asset.sha256}.thumb.webp").is_file()


def test_the_type_comes_from_the_bytes_not_the_name(client, login):
    login("marketing")
    response = upload(client, make_image("PNG"), filename="listing.jpg", content_type="image/jpeg", headers=JSON)

    assert response.status_code == 201
    body = response.get_json()
    assert body["mime_type"] == "image/png" and body["kind"] == "image"
    assert body["url"].endswith("/listing.png")
    assert body["location_removed"] is False


def test_a_video_upload_reads_duration_and_codecs(client, login):
    login("marketing")
    response = upload(client, make_video("mp4", size=(64, 48), frames=20), filename="tour.mp4",
                      content_type="video/mp4", headers=JSON)

    assert response.status_code == 201
    body = response.get_json()
    assert (body["kind"], body["mime_type"], body["width"], body["height"]) == ("video", "video/mp4", 64, 48)
    assert body["duration_seconds"] == pytest.approx(2.0, abs=0.1)
    assert (body["video_codec"], body["audio_codec"], body["frame_rate"]) == ("h264", "aac", 10.0)


def test_a_video_fragment_shows_its_duration(client, login):
    login("marketing")
    response = upload(client, make_video("mov", frames=20), filename="tour.mov", content_type="video/quicktime")
    page = response.get_data(as_text=True)
    assert response.status_code == 201
    assert "MOV video" in page and "0:02" in page


def test_a_pdf_is_refused_and_nothing_is_stored(app, client, login):
    login("marketing")
    before = stored_files(app)

    response = upload(client, PDF, filename="brochure.jpg", headers={"HX-Request": "true"})

    assert response.status_code == 422
    assert "That file is a PDF; Stella accepts JPEG, PNG, WebP and GIF photos" in response.get_data(as_text=True)
    assert asset_count() == 0
    assert stored_files(app) == before


def test_refusals_answer_json_errors_when_asked(client, login):
    login("marketing")
    response = upload(client, b"", headers=JSON)
    assert response.status_code == 422
    assert response.get_json() == {"errors": [{"field": "file", "platform": None, "message": "That file is empty."}]}


def test_a_request_without_a_file_is_refused(client, login):
    login("marketing")
    response = client.post("/media", data={}, headers=JSON)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["message"] == "Choose a photo or video to upload."


def test_an_oversized_photo_is_refused_and_nothing_is_stored(app, client, login, monkeypatch):
    login("marketing")
    monkeypatch.setattr(media, "MAX_IMAGE_BYTES", 1 * media.MB)
    before = stored_files(app)

    response = upload(client, make_image("PNG") + bytes(int(1.5 * media.MB)), headers=JSON)

    assert response.status_code == 422
    assert response.get_json()["errors"][0]["message"] == "That photo is 1.5 MB; Stella accepts photos up to 1 MB."
    assert asset_count() == 0
    assert stored_files(app) == before


def test_a_body_over_the_request_limit_is_refused_with_a_message(app, client, login, monkeypatch):
    login("marketing")
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    response = upload(client, make_image("PNG", size=(300, 300)) + bytes(8192), headers=JSON)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["message"] == (
        "That file is larger than the 4 KB Stella can receive in one upload.")


def test_the_same_bytes_twice_share_one_file(app, client, login):
    login("marketing")
    photo = make_image("JPEG", exif=make_exif())

    first = upload(client, photo, headers=JSON).get_json()
    second = upload(client, photo, filename="again.jpg", headers=JSON).get_json()

    assert first["sha256"] == second["sha256"]
    assert first["id"] != second["id"] and first["url"] != second["url"]
    assert len([p for p in stored_files(app) if p.name.startswith(first["sha256"])]) == 2  # the file and its thumb


def test_staff_cannot_upload(app, client, login):
    login("staff")
    before = stored_files(app)
    response = upload(client, make_image("JPEG"))
    assert response.status_code == 403
    assert client.post("/media/from-url", data={"url": "https://cdn.example.com/a.jpg"}).status_code == 403
    assert asset_count() == 0 and stored_files(app) == before


def test_anonymous_visitors_cannot_upload(client, db):
    response = upload(client, make_image("JPEG"))
    assert response.status_code in (302, 401)
    assert asset_count() == 0


# -- adding by URL ----------------------------------------------------------------------------------------------------


@responses.activate
def test_a_photo_is_added_from_its_address(client, login):
    login("marketing")
    photo = make_image("JPEG", exif=make_exif())
    responses.get("https://cdn.example.com/listings/house%20front.jpg", body=photo,
                  content_type="application/octet-stream")

    response = client.post("/media/from-url", data={"url": "https://cdn.example.com/listings/house%20front.jpg"},
                           headers=JSON)

    assert response.status_code == 201
    body = response.get_json()
    assert body["mime_type"] == "image/jpeg" and body["location_removed"] is True
    assert body["original_filename"] == "house front.jpg"
    asset = _db.session.get(MediaAsset, uuid.UUID(body["id"]))
    assert asset.source_url == "https://cdn.example.com/listings/house%20front.jpg"


@responses.activate
def test_an_address_that_answers_an_error_is_refused(client, login):
    login("marketing")
    responses.get("https://cdn.example.com/missing.jpg", status=404)
    response = client.post("/media/from-url", json={"url": "https://cdn.example.com/missing.jpg"}, headers=JSON)
    assert response.status_code == 422
    error = response.get_json()["errors"][0]
    assert error["field"] == "url" and "404" in error["message"]
    assert asset_count() == 0


@pytest.mark.parametrize("url", ["ftp://cdn.example.com/a.jpg", "file:///etc/passwd", "cdn.example.com/a.jpg", ""])
def test_only_http_addresses_are_fetched(client, login, url):
    login("marketing")
    response = client.post("/media/from-url", data={"url": url}, headers=JSON)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["message"].startswith("Enter the full address of a photo or video")


@pytest.fixture()
def guarded(app, monkeypatch):
    """The HTTP layer as in production: private and local addresses refused."""
    monkeypatch.setitem(app.extensions, HTTP_CLIENT_KEY, HttpClient(allow_private_hosts=False))


@responses.activate
def test_a_private_address_is_refused_and_never_contacted(app, client, login, guarded, monkeypatch):
    login("marketing")
    before = stored_files(app)
    # A public-looking name that resolves into the office network.
    monkeypatch.setattr(socket, "getaddrinfo",
                        lambda host, *args, **kwargs: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 443))])
    for url in ("https://printer.example.com/scan.jpg", "https://127.0.0.1/photo.jpg", "https://[::1]/photo.jpg",
                "https://169.254.169.254/latest/meta-data/"):
        response = client.post("/media/from-url", data={"url": url}, headers=JSON)
        assert response.status_code == 422, url
        message = response.get_json()["errors"][0]["message"]
        assert "private or local network address" in message, message
    assert len(responses.calls) == 0
    assert asset_count() == 0 and stored_files(app) == before


# -- serving ----------------------------------------------------------------------------------------------------------


def stored_asset(client, login, data: bytes, filename: str, content_type: str) -> MediaAsset:
    login("marketing")
    body = upload(client, data, filename=filename, content_type=content_type, headers=JSON).get_json()
    return _db.session.get_one(MediaAsset, uuid.UUID(body["id"]))


def test_the_public_url_serves_the_file_to_anyone(app, client, login):
    asset = stored_asset(client, login, make_image("JPEG", exif=make_exif()), "Kitchen view!.jpg", "image/jpeg")
    url = media.media_url(asset)
    assert url == f"http://127.0.0.1:5000/media/{asset.public_token}/Kitchen_view.jpg"

    anonymous = app.test_client()
    response = anonymous.get(public_path(asset))

    assert response.status_code == 200
    assert response.data == media.media_path(asset).read_bytes()
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert response.headers["Accept-Ranges"] == "bytes"
    assert "Set-Cookie" not in response.headers


def test_the_public_url_can_be_cached_for_a_long_time(app, client, login):
    asset = stored_asset(client, login, make_image("PNG"), "a.png", "image/png")
    response = app.test_client().get(public_path(asset))
    cache = response.headers.get("Cache-Control", "")
    assert "public" in cache and "max-age=31536000" in cache, (
        f"Cache-Control is {cache!r}: media.public_file must be in security_headers.CACHEABLE_ENDPOINTS")


def test_the_public_url_answers_range_requests(app, client, login):
    asset = stored_asset(client, login, make_video("mp4", frames=20), "tour.mp4", "video/mp4")
    whole = media.media_path(asset).read_bytes()

    response = app.test_client().get(public_path(asset), headers={"Range": "bytes=100-299"})

    assert response.status_code == 206
    assert response.data == whole[100:300]
    assert response.headers["Content-Range"] == f"bytes 100-299/{len(whole)}"
    assert response.headers["Content-Type"] == "video/mp4"


def test_an_unknown_token_is_not_found(app, db):
    assert app.test_client().get("/media/not-a-real-token-at-all-0000000000/photo.jpg").status_code == 404


def test_the_thumbnail_needs_a_signed_in_user(app, client, login):
    asset = stored_asset(client, login, make_image("JPEG", size=(900, 600)), "big.jpg", "image/jpeg")

    response = client.get(f"/media/{asset.id}/thumbnail")
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/webp"
    assert Image.open(io.BytesIO(response.data)).size == (480, 320)

    assert app.test_client().get(f"/media/{asset.id}/thumbnail").status_code in (302, 401)
    assert client.get("/media/00000000-0000-0000-0000-000000000001/thumbnail").status_code == 404


# -- the service's other faces ---------------------------------------------------------------------------------------


def test_media_item_is_what_providers_take(db, now):
    user = make_user("marketing")
    asset = media.store_upload(make_image("JPEG"), filename="porch.jpg", declared_type="image/jpeg", actor=user,
                               now=now)
    item = media.media_item(asset, "A red front door")
    assert item.url == media.media_url(asset) and item.url.endswith("/porch.jpg")
    assert (item.kind, item.mime_type, item.size_bytes, item.alt_text) == (
        "image", "image/jpeg", asset.size_bytes, "A red front door")
    assert asset.created_at == now


def test_the_service_refuses_without_storing(app, db, now):
    before = stored_files(app)
    with pytest.raises(ValidationError) as refused:
        media.store_upload(b"GIF89a-not-really", filename="x.gif", declared_type="image/gif", actor=None, now=now)
    assert refused.value.field == "file" and "could not be read" in refused.value.message
    assert stored_files(app) == before
