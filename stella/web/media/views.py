"""Media: upload a file or add one by URL from the composer, its thumbnail, and the public URL platforms fetch.

`GET /media/<token>/<name>` is the one public route here: Instagram, Threads, Pinterest, TikTok and Google fetch
media by URL without signing in, so the token (unguessable, one per asset) is the only key.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request, send_file, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from stella.extensions import db
from stella.models import MediaAsset
from stella.models.types import now_utc
from stella.permissions import Ability, public, requires
from stella.services import media as service
from stella.services.errors import DomainError, NotFoundError, ValidationError, settle

bp = Blueprint("media", __name__, url_prefix="/media")

# The bytes behind a token never change (a new file gets a new asset and token), so caches may keep them a year.
PUBLIC_MAX_AGE = 365 * 24 * 3600


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _asset_json(asset: MediaAsset) -> dict[str, Any]:
    return {
        "id": str(asset.id),
        "kind": asset.kind,
        "mime_type": asset.mime_type,
        "size_bytes": asset.size_bytes,
        "width": asset.width,
        "height": asset.height,
        "duration_seconds": asset.duration_seconds,
        "video_codec": asset.video_codec,
        "audio_codec": asset.audio_codec,
        "frame_rate": asset.frame_rate,
        "location_removed": asset.location_removed,
        "original_filename": asset.original_filename,
        "sha256": asset.sha256,
        "url": service.media_url(asset),
        "thumbnail_url": url_for("media.thumbnail", media_id=asset.id, _external=False),
    }


def _added(asset: MediaAsset) -> Any:
    if _wants_json():
        return jsonify(_asset_json(asset)), 201
    return render_template("media/_item.html", asset=asset, info=service.describe_media(asset), alt_text=""), 201


def _refused(error: DomainError) -> Any:
    if _wants_json():
        return jsonify({"errors": [{"field": error.field, "platform": None, "message": error.message}]}), 422
    # htmx swaps 4xx answers only where the page's htmx-config allows it; the composer does for 422.
    return render_template("media/_error.html", error=error), 422


def _end_sign_in_transaction() -> None:
    """Finish the transaction the sign-in check opened before the slow part (receiving, downloading, probing).

    On SQLite a POST's transaction holds the write lock from its first read; holding it through a download would
    make every other writer wait. The service writes its row at the end, in a transaction of its own.
    """
    db.session.rollback()


@bp.post("", strict_slashes=False)
@requires(Ability.CREATE_POSTS)
def upload() -> Any:
    """Multipart upload from the composer (field `file`); answers the item fragment, or JSON when asked."""
    actor = current_user._get_current_object()
    _end_sign_in_transaction()
    try:
        file = request.files.get("file")
    except RequestEntityTooLarge:
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        return _refused(ValidationError(
            f"That file is larger than the {service.size_text(limit)} Stella can receive in one upload.", field="file"))
    if file is None or not file.filename:
        return _refused(ValidationError("Choose a photo or video to upload.", field="file"))
    try:
        asset = service.store_upload(file.read(), filename=file.filename, declared_type=file.mimetype, actor=actor,
                                     now=now_utc())
    except DomainError as error:
        settle(error)
        return _refused(error)
    settle()
    return _added(asset)


@bp.post("/from-url")
@requires(Ability.CREATE_POSTS)
def from_url() -> Any:
    """Add a photo or video by its address (form or JSON field `url`)."""
    actor = current_user._get_current_object()
    if request.is_json:
        payload = request.get_json(silent=True)
        url = str(payload.get("url") or "") if isinstance(payload, dict) else ""
    else:
        url = request.form.get("url", "")
    _end_sign_in_transaction()
    try:
        asset = service.store_from_url(url, actor=actor, now=now_utc())
    except DomainError as error:
        settle(error)
        return _refused(error)
    settle()
    return _added(asset)


@bp.get("/<uuid:media_id>/thumbnail")
@requires(Ability.VIEW)
def thumbnail(media_id: Any) -> Response:
    try:
        asset = service.get_media(media_id)
    except NotFoundError:
        abort(404)
    path = service.thumbnail_path(asset)
    if not path.is_file():
        abort(404)
    # Signed-in answers are not cached (security_headers sets no-store); the ETag still spares a re-download.
    return send_file(path, mimetype=service.THUMBNAIL_MIME, conditional=True, etag=asset.sha256)


@bp.get("/<token>/<name>")
@public
def public_file(token: str, name: str) -> Response:
    """The file itself, for platforms (no sign-in). `name` is cosmetic: the token alone finds the file."""
    asset = service.public_media(token)
    if asset is None:
        abort(404)
    path = service.media_path(asset)
    if not path.is_file():
        abort(404)
    # conditional=True answers Range requests (206) and If-None-Match; video players and platforms use both.
    response = send_file(path, mimetype=asset.mime_type, conditional=True, etag=asset.sha256,
                         max_age=PUBLIC_MAX_AGE, download_name=service.public_name(asset))
    response.cache_control.immutable = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Media is data, never a document: nothing in it may run if a browser opens it directly.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
