"""Media for posts: photos and videos uploaded or fetched by URL, checked, cleaned and kept by content hash.

What a file is comes from its bytes alone (never its name or the type the browser declared): Pillow reads photos,
PyAV (FFmpeg) probes videos. Location is removed before anything is stored: the GPS block of a photo's EXIF (and XMP
that repeats it), and the location atoms of a phone video; edits are made in place in the file's metadata so the
picture is never re-encoded and the orientation tag stays. The stored bytes, after that, are what `sha256` hashes.

Files live under `<instance>/media/<sha256[:2]>/<sha256>.<ext>` with a `.thumb.webp` thumbnail beside them; the same
bytes uploaded twice share the file (each upload still gets its own asset row and public token). Platforms fetch
media from `media_url(asset)`, public but unguessable.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import secrets
import struct
import tempfile
import uuid
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

import av
import av.error
import requests
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError
from werkzeug.utils import secure_filename

from stella.config import get_config
from stella.extensions import db
from stella.models import MediaAsset, User
from stella.providers.base import MediaItem
from stella.providers.errors import ProviderError, RejectedError, TransientError, UnsafeHostError
from stella.services.errors import NotFoundError, ValidationError
from stella.services.platforms import http_client

log = logging.getLogger(__name__)

MB = 1024 * 1024
# The largest files Stella keeps. Platforms take less (Instagram photos 8 MB, X videos 512 MB): their rules say so.
MAX_IMAGE_BYTES = 30 * MB
MAX_VIDEO_BYTES = 1024 * MB
# Larger photos are refused before they are decoded (a small file can claim a huge canvas).
MAX_IMAGE_PIXELS = 100_000_000
THUMBNAIL_SIZE = (480, 480)
THUMBNAIL_SUFFIX = ".thumb.webp"
THUMBNAIL_MIME = "image/webp"
PUBLIC_TOKEN_BYTES = 24

ACCEPTED = "Stella accepts JPEG, PNG, WebP and GIF photos and MP4, MOV or WebM videos."

MediaKindName = Literal["image", "video"]


@dataclass(frozen=True)
class MediaFormat:
    name: str  # shown to people: "JPEG", "MOV"
    kind: MediaKindName
    mime_type: str
    extension: str


FORMATS: dict[str, MediaFormat] = {
    f.name: f
    for f in (
        MediaFormat("JPEG", "image", "image/jpeg", "jpg"),
        MediaFormat("PNG", "image", "image/png", "png"),
        MediaFormat("WebP", "image", "image/webp", "webp"),
        MediaFormat("GIF", "image", "image/gif", "gif"),
        MediaFormat("MP4", "video", "video/mp4", "mp4"),
        MediaFormat("MOV", "video", "video/quicktime", "mov"),
        MediaFormat("WebM", "video", "video/webm", "webm"),
    )
}
FORMATS_BY_MIME: dict[str, MediaFormat] = {f.mime_type: f for f in FORMATS.values()}
# Pillow's name for each accepted photo format (an MPO is a JPEG with extra pictures after the first).
PILLOW_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF"}
# Video codecs whose first frames Stella decodes for a poster; anything else gets a neutral placeholder.
POSTER_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"})


@dataclass(frozen=True)
class Probe:
    """What was read from a file's bytes. `width`/`height` are as displayed (EXIF or video rotation applied)."""

    format: MediaFormat
    width: int
    height: int
    duration_seconds: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    frame_rate: float | None = None
    # A WebP thumbnail (a poster frame for a video, a placeholder when none could be decoded).
    thumbnail: bytes = field(default=b"", repr=False)

    @property
    def kind(self) -> MediaKindName:
        return self.format.kind


@dataclass(frozen=True)
class Cleaned:
    data: bytes = field(repr=False)
    location_removed: bool = False


# -- storing -------------------------------------------------------------------------------------------------------


def store_upload(
    data: bytes, *, filename: str | None, declared_type: str | None, actor: User | None, now: datetime
) -> MediaAsset:
    """Check, clean and keep an uploaded file; add (and flush) its `MediaAsset`.

    `declared_type` (the browser's guess) is only logged: the type is read from the bytes. Raises ValidationError
    (field `file`) for an empty, oversized, unsupported or unreadable file; nothing is stored then.
    """
    if declared_type:
        log.debug("upload declared as %s", declared_type)
    return _store(data, filename=filename, source_url=None, actor=actor, now=now, field_name="file")


def store_from_url(url: str, *, actor: User | None, now: datetime) -> MediaAsset:
    """Download a photo or video from `url` (http or https, never a private address) and keep it like an upload.

    Raises ValidationError (field `url`) when the address is refused, the download fails or the file is refused.
    """
    address = (url or "").strip()
    parts = urlsplit(address)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValidationError("Enter the full address of a photo or video, starting with https://.", field="url")
    try:
        data, _declared = http_client().download(address, max_bytes=MAX_VIDEO_BYTES, classify=_classify_download)
    except UnsafeHostError as error:  # the SSRF guard: a private or local address, or not a server address at all
        raise ValidationError(error.message, field="url") from None
    except ProviderError as error:
        raise ValidationError(f"Could not download that file: {error.message}", field="url") from None
    filename = unquote(parts.path.rsplit("/", 1)[-1]) or None
    return _store(data, filename=filename, source_url=address, actor=actor, now=now, field_name="url")


def _store(
    data: bytes, *, filename: str | None, source_url: str | None, actor: User | None, now: datetime, field_name: str
) -> MediaAsset:
    probe = probe_media(data, field_name=field_name)
    cleaned = remove_location(data, probe.format)
    digest = hashlib.sha256(cleaned.data).hexdigest()
    path = _path_for(digest, probe.format.extension)
    _write_once(path, cleaned.data)
    _write_once(path.with_name(digest + THUMBNAIL_SUFFIX), probe.thumbnail)
    asset = MediaAsset(
        id=uuid.uuid4(),
        sha256=digest,
        kind=probe.kind,
        mime_type=probe.format.mime_type,
        size_bytes=len(cleaned.data),
        width=probe.width,
        height=probe.height,
        duration_seconds=probe.duration_seconds,
        video_codec=probe.video_codec,
        audio_codec=probe.audio_codec,
        frame_rate=probe.frame_rate,
        original_filename=(filename or "").strip()[:255] or None,
        source_url=source_url,
        public_token=secrets.token_urlsafe(PUBLIC_TOKEN_BYTES),
        location_removed=cleaned.location_removed,
        created_by=actor.id if actor is not None else None,
        created_at=now,
    )
    db.session.add(asset)
    db.session.flush()
    log.info("media %s stored (%s, %d bytes, location removed: %s)", asset.id, asset.mime_type, asset.size_bytes,
             asset.location_removed)
    return asset


def _classify_download(response: requests.Response) -> ProviderError:
    host = urlsplit(response.url).hostname or "The server"
    if 300 <= response.status_code < 400:
        return RejectedError(f"{host} answered with a redirect; paste the file's direct address instead.")
    if response.status_code >= 500:
        return TransientError(f"{host} had a problem ({response.status_code}); try again later.")
    return RejectedError(f"{host} answered {response.status_code} {response.reason or ''}".rstrip() + ".")


def media_root() -> Path:
    return Path(get_config().instance_path) / "media"


def _path_for(digest: str, extension: str) -> Path:
    return media_root() / digest[:2] / f"{digest}.{extension}"


def media_path(asset: MediaAsset) -> Path:
    """Where the asset's bytes are on disk."""
    return _path_for(asset.sha256, FORMATS_BY_MIME[asset.mime_type].extension)


def thumbnail_path(asset: MediaAsset) -> Path:
    return media_root() / asset.sha256[:2] / (asset.sha256 + THUMBNAIL_SUFFIX)


def _write_once(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically (a temporary file renamed into place); keep a complete file already there."""
    if path.is_file() and path.stat().st_size == len(data):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# -- finding and describing ----------------------------------------------------------------------------------------


def get_media(media_id: uuid.UUID | str) -> MediaAsset:
    """The asset with this id; NotFoundError otherwise."""
    try:
        key = media_id if isinstance(media_id, uuid.UUID) else uuid.UUID(str(media_id))
    except ValueError:
        raise NotFoundError("That media file does not exist.") from None
    asset = db.session.get(MediaAsset, key)
    if asset is None:
        raise NotFoundError("That media file does not exist.")
    return asset


def public_media(token: str) -> MediaAsset | None:
    """The asset served at a public URL, or None (tokens are compared by the unique index)."""
    if not token or len(token) > 64:
        return None
    return db.session.execute(db.select(MediaAsset).filter_by(public_token=token)).scalar_one_or_none()


def public_name(asset: MediaAsset) -> str:
    """A safe file name with the extension of the real type ("kitchen.jpg"); some platforms look at it."""
    stem = secure_filename(Path(asset.original_filename or "").stem)[:60].strip("._-") or "media"
    return f"{stem}.{FORMATS_BY_MIME[asset.mime_type].extension}"


def media_url(asset: MediaAsset) -> str:
    """The public address platforms fetch the file from: `{public_url}/media/{token}/{name}`."""
    return f"{get_config().public_url}/media/{asset.public_token}/{public_name(asset)}"


def media_item(asset: MediaAsset, alt_text: str = "") -> MediaItem:
    """The asset as providers take it."""
    return MediaItem(
        url=media_url(asset),
        kind="video" if asset.kind == "video" else "image",
        mime_type=asset.mime_type,
        size_bytes=asset.size_bytes,
        alt_text=alt_text,
        width=asset.width,
        height=asset.height,
        duration_seconds=asset.duration_seconds,
    )


@dataclass(frozen=True)
class MediaDescription:
    """What the composer shows about a file, worded for people."""

    label: str  # "JPEG photo", "MP4 video"
    dimensions: str | None  # "4032 by 3024", with a multiplication sign
    duration: str | None  # "0:42"
    size: str  # "2.4 MB"
    codecs: str | None  # "h264 / aac"


def describe_media(asset: MediaAsset) -> MediaDescription:
    found = FORMATS_BY_MIME.get(asset.mime_type)
    noun = "video" if asset.kind == "video" else "photo"
    duration = None
    if asset.duration_seconds is not None:
        seconds = max(round(asset.duration_seconds), 1)
        hours, rest = divmod(seconds, 3600)
        duration = f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
    codecs = " / ".join(c for c in (asset.video_codec, asset.audio_codec) if c) or None
    return MediaDescription(
        label=f"{found.name if found else asset.mime_type} {noun}",
        dimensions=f"{asset.width} \N{MULTIPLICATION SIGN} {asset.height}" if asset.width and asset.height else None,
        duration=duration,
        size=size_text(asset.size_bytes),
        codecs=codecs,
    )


# -- reading what a file is ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sniffed:
    # What people call it, with its article ("a PDF"); None for a format Stella accepts.
    refused_as: str | None
    format: MediaFormat | None = None


_ISO_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_ISO_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})
# Atoms an old QuickTime file may start with when it has no `ftyp`.
_QUICKTIME_FIRST_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"II*\x00", "a TIFF image (or a camera RAW file)"),
    (b"MM\x00*", "a TIFF image (or a camera RAW file)"),
    (b"8BPS", "a Photoshop (PSD) file"),
    (b"ID3", "an MP3 audio file"),
    (b"OggS", "an Ogg audio or video file"),
    (b"fLaC", "a FLAC audio file"),
    (b"\x00\x00\x01\xba", "an MPEG video"),
    (b"\x00\x00\x01\xb3", "an MPEG video"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"Rar!", "a RAR archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)


def _sniff(data: bytes) -> _Sniffed:
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return _Sniffed(None, FORMATS["JPEG"])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _Sniffed(None, FORMATS["PNG"])
    if head.startswith((b"GIF87a", b"GIF89a")):
        return _Sniffed(None, FORMATS["GIF"])
    if head[:4] == b"RIFF":
        riff_type = head[8:12]
        if riff_type == b"WEBP":
            return _Sniffed(None, FORMATS["WebP"])
        if riff_type == b"AVI ":
            return _Sniffed("an AVI video")
        if riff_type == b"WAVE":
            return _Sniffed("a WAV audio file")
    if head[4:8] == b"ftyp":
        return _sniff_iso(data)
    if head[4:8] in _QUICKTIME_FIRST_ATOMS:
        return _Sniffed(None, FORMATS["MOV"])
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # Matroska and WebM share the EBML header; its DocType says which.
        return _Sniffed(None, FORMATS["WebM"]) if b"webm" in data[:256] else _Sniffed("a Matroska (MKV) video")
    for magic, label in _MAGIC:
        if head.startswith(magic):
            return _Sniffed(label)
    if head.startswith(b"BM") and head[6:10] == bytes(4):  # the two reserved fields of a bitmap header are zero
        return _Sniffed("a BMP image")
    if head.startswith((b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")):
        return _Sniffed("an MP3 audio file")
    text = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return _Sniffed("an SVG image")
    if text.startswith((b"<!doctype html", b"<html")):
        return _Sniffed("a web page (HTML)")
    return _Sniffed("")


def _sniff_iso(data: bytes) -> _Sniffed:
    """ISO base media files (MP4, MOV, HEIC, AVIF, M4A, 3GP) say what they are in their `ftyp` brands."""
    size = struct.unpack(">I", data[:4])[0]
    major = data[8:12]
    compatible = {data[i:i + 4] for i in range(16, min(size, 256, len(data)) - 3, 4)}
    brands = {major} | compatible
    if brands & {b"avif", b"avis"}:
        return _Sniffed("an AVIF image")
    if major in _ISO_HEIF_BRANDS or (brands & _ISO_HEIF_BRANDS and major not in (b"isom", b"mp41", b"mp42")):
        return _Sniffed("a HEIC photo (export it as JPEG: on an iPhone, Settings > Camera > Formats > Most Compatible)")
    if major in _ISO_AUDIO_BRANDS:
        return _Sniffed("an M4A audio file")
    if major.startswith(b"3g"):
        return _Sniffed("a 3GP video")
    if major == b"qt  ":
        return _Sniffed(None, FORMATS["MOV"])
    return _Sniffed(None, FORMATS["MP4"])


def _refusal(label: str) -> str:
    if not label:
        return f"Stella could not tell what kind of file that is. {ACCEPTED}"
    return f"That file is {label}; {ACCEPTED}"


def size_text(size: int) -> str:
    """A size as people read it: "820 KB", "2.4 MB", "1 GB"."""
    if size >= 1024 * MB:
        return f"{size / (1024 * MB):.1f}".removesuffix(".0") + " GB"
    if size >= MB:
        return f"{size / MB:.1f}".removesuffix(".0") + " MB"
    return f"{max(round(size / 1024), 1)} KB"


def probe_media(data: bytes, *, field_name: str = "file") -> Probe:
    """Read what `data` is (from its bytes), its dimensions, and for a video its duration, codecs and frame rate.

    Also makes the thumbnail, which decodes the picture: a damaged file is refused here. Raises ValidationError.
    """
    if not data:
        raise ValidationError("That file is empty.", field=field_name)
    if len(data) > MAX_VIDEO_BYTES:
        raise ValidationError(
            f"That file is {size_text(len(data))}; Stella accepts photos up to {size_text(MAX_IMAGE_BYTES)} and "
            f"videos up to {size_text(MAX_VIDEO_BYTES)}.", field=field_name)
    sniffed = _sniff(data)
    found = sniffed.format
    if found is None:
        raise ValidationError(_refusal(sniffed.refused_as or ""), field=field_name)
    limit = MAX_IMAGE_BYTES if found.kind == "image" else MAX_VIDEO_BYTES
    if len(data) > limit:
        raise ValidationError(
            f"That {'photo' if found.kind == 'image' else 'video'} is {size_text(len(data))}; Stella accepts "
            f"{'photos' if found.kind == 'image' else 'videos'} up to {size_text(limit)}.", field=field_name)
    if found.kind == "image":
        return _probe_image(data, found, field_name)
    return _probe_video(data, found, field_name)


def _unreadable(found: MediaFormat, field_name: str) -> ValidationError:
    noun = "photo" if found.kind == "image" else "video"
    return ValidationError(
        f"That file looks like a{'n' if found.name[0] in 'AEIMO' else ''} {found.name} {noun} but could not be read; "
        "it may be damaged or incomplete.", field=field_name)


def _open_image(data: bytes) -> Image.Image:
    # Pillow warns about canvases over its own limit; MAX_IMAGE_PIXELS is checked by the caller before decoding.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data))


def _probe_image(data: bytes, found: MediaFormat, field_name: str) -> Probe:
    try:
        with _open_image(data) as image:
            if PILLOW_FORMATS.get(image.format or "") != found.name:
                raise _unreadable(found, field_name)
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise ValidationError(
                    f"That photo is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); Stella accepts "
                    f"photos up to {MAX_IMAGE_PIXELS // 1_000_000} megapixels.", field=field_name)
            orientation = image.getexif().get(0x0112)
            if orientation in (5, 6, 7, 8):  # turned a quarter: shown with width and height swapped
                width, height = height, width
            thumbnail = _image_thumbnail(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise _unreadable(found, field_name) from None
    return Probe(format=found, width=width, height=height, thumbnail=thumbnail)


def _image_thumbnail(image: Image.Image) -> bytes:
    image.draft("RGB", THUMBNAIL_SIZE)  # JPEG: decode at a reduced scale, much faster for large photos
    upright = ImageOps.exif_transpose(image)  # the thumbnail is shown as the photo is, and carries no EXIF
    upright.thumbnail(THUMBNAIL_SIZE)
    if upright.mode not in ("RGB", "RGBA"):
        upright = upright.convert("RGBA" if "transparency" in upright.info or upright.mode in ("LA", "PA") else "RGB")
    return _webp(upright)


def _webp(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "WEBP", quality=80, method=4)
    return out.getvalue()


def _placeholder_thumbnail() -> bytes:
    """A neutral grey card with a play symbol, for a video whose frames could not be decoded."""
    image = Image.new("RGB", (320, 180), (108, 117, 125))
    ImageDraw.Draw(image).polygon([(140, 60), (140, 120), (192, 90)], fill=(233, 236, 239))
    return _webp(image)


def _probe_video(data: bytes, found: MediaFormat, field_name: str) -> Probe:
    # The demuxer is named, not guessed, so FFmpeg only ever parses the container the bytes claimed to be.
    demuxer = "matroska" if found.name == "WebM" else "mov"
    try:
        with av.open(io.BytesIO(data), mode="r", format=demuxer) as container:
            if not container.streams.video:
                raise ValidationError(
                    f"That {found.name} file has no picture (audio only?). {ACCEPTED}", field=field_name)
            video = container.streams.video[0]
            audio = container.streams.audio[0] if container.streams.audio else None
            width, height = video.codec_context.width, video.codec_context.height
            if not width or not height:
                raise _unreadable(found, field_name)
            duration = _duration(container.duration, video.duration, video.time_base)
            rate = video.average_rate or video.guessed_rate
            codec = video.codec_context.name
            poster, rotation = _poster(container, video, duration) if codec in POSTER_CODECS else (None, 0)
    except av.error.FFmpegError:
        raise _unreadable(found, field_name) from None
    if rotation % 180 == 90:
        width, height = height, width
    return Probe(
        format=found,
        width=width,
        height=height,
        duration_seconds=duration,
        video_codec=codec,
        audio_codec=audio.codec_context.name if audio is not None else None,
        frame_rate=round(float(rate), 3) if rate else None,
        thumbnail=poster or _placeholder_thumbnail(),
    )


def _duration(container_duration: int | None, stream_duration: int | None, time_base: Fraction | None) -> float | None:
    if container_duration and container_duration > 0:
        return round(container_duration / av.time_base, 3)
    if stream_duration and time_base:
        return round(float(stream_duration * time_base), 3)
    return None


def _poster(container: av.container.InputContainer, video: av.VideoStream, duration: float | None
            ) -> tuple[bytes | None, int]:
    """A frame a little way in (first frames are often black), turned as the video is shown, and its rotation."""
    target = min(1.0, (duration or 0) / 10)
    chosen = None
    try:
        for index, frame in enumerate(container.decode(video)):
            chosen = frame
            if (frame.time or 0) >= target or index >= 60:
                break
        if chosen is None:
            return None, 0
        rotation = chosen.rotation or 0
        image = chosen.to_image()
    except (av.error.FFmpegError, ValueError, OSError):
        return None, 0
    if rotation % 360:
        image = image.rotate(rotation, expand=True)  # the display matrix turns it counter-clockwise by `rotation`
    image.thumbnail(THUMBNAIL_SIZE)
    return _webp(image), rotation


# -- removing location ---------------------------------------------------------------------------------------------


class _Malformed(ValueError):
    """A metadata structure did not parse; the caller falls back to a safe re-encode (photos) or leaves it."""


_XMP_JPEG_HEADERS = (b"http://ns.adobe.com/xap/1.0/\x00", b"http://ns.adobe.com/xmp/extension/\x00")
_GPS_IFD_TAG = 0x8825


def remove_location(data: bytes, found: MediaFormat) -> Cleaned:
    """Remove where a photo or video was taken; `location_removed` says whether there was anything to remove.

    Photos: the EXIF GPS block is blanked in place and unlinked (every other tag, orientation included, is kept),
    and XMP that carries GPS coordinates is blanked (JPEG) or dropped (PNG, WebP); the picture data is untouched.
    If that cannot be done cleanly the photo is re-saved without GPS (a JPEG with its own quantisation tables).
    Videos (MP4/MOV): the QuickTime and 3GPP location atoms become `free` atoms of the same size, so no offset
    moves. WebM files are kept as they are (cameras and phones do not write location into them).
    """
    if found.kind == "video":
        if found.name == "WebM":
            return Cleaned(data, False)
        return _clean_quicktime(data)
    if found.name == "GIF" or not _image_has_location(data):
        return Cleaned(data, False)
    cleaner: dict[str, Callable[[bytes], bytes]] = {"JPEG": _clean_jpeg, "PNG": _clean_png, "WebP": _clean_webp}
    try:
        cleaned = cleaner[found.name](data)
    except (_Malformed, struct.error, IndexError, zlib.error):
        log.info("metadata did not parse; re-saving the photo without GPS")
        cleaned = data
    if _image_has_location(cleaned):
        cleaned = _resave_without_location(data, found)
    return Cleaned(cleaned, True)


def _xmp_has_gps(xmp: bytes | str | None) -> bool:
    if not xmp:
        return False
    raw = xmp.encode("utf-8", "replace") if isinstance(xmp, str) else xmp
    return b"GPSLatitude" in raw or b"GPSLongitude" in raw


def _image_has_location(data: bytes) -> bool:
    with _open_image(data) as image:
        exif = image.getexif()
        if _GPS_IFD_TAG in exif:
            return True
        return any(_xmp_has_gps(image.info.get(key)) for key in ("xmp", "XML:com.adobe.xmp"))


def _resave_without_location(data: bytes, found: MediaFormat) -> bytes:
    """The fallback: re-save the pixels with every EXIF tag but GPS (orientation kept) and no XMP."""
    with _open_image(data) as image:
        exif = image.getexif()
        exif.pop(_GPS_IFD_TAG, None)
        options: dict[str, object] = {"exif": exif.tobytes()}
        if image.info.get("icc_profile"):
            options["icc_profile"] = image.info["icc_profile"]
        if found.name == "JPEG":
            options.update(quality="keep", subsampling="keep")
        elif found.name == "WebP":
            options.update(quality=95, lossless=bool(image.info.get("lossless")))
        if getattr(image, "is_animated", False):
            options["save_all"] = True
        out = io.BytesIO()
        image.save(out, "JPEG" if found.name == "JPEG" else found.name.upper(), **options)
        return out.getvalue()


def _scrub_gps(tiff: bytearray, base: int, end: int) -> bool:
    """Blank the GPS IFD of the TIFF structure at tiff[base:end] and unlink it from IFD0, in place, same size.

    Returns whether a GPS IFD was there. Raises _Malformed when an offset points outside the structure.
    """

    def check(start: int, length: int) -> None:
        if start < base or start + length > end:
            raise _Malformed("offset out of range")

    check(base, 8)
    order = {b"II": "<", b"MM": ">"}.get(bytes(tiff[base:base + 2]))
    if order is None or struct.unpack(order + "H", tiff[base + 2:base + 4])[0] != 42:
        raise _Malformed("not a TIFF header")
    ifd0 = base + struct.unpack(order + "I", tiff[base + 4:base + 8])[0]
    check(ifd0, 2)
    count = struct.unpack(order + "H", tiff[ifd0:ifd0 + 2])[0]
    check(ifd0, 2 + 12 * count + 4)
    entries = [bytes(tiff[ifd0 + 2 + 12 * i:ifd0 + 14 + 12 * i]) for i in range(count)]
    gps_entries = [e for e in entries if struct.unpack(order + "H", e[:2])[0] == _GPS_IFD_TAG]
    if not gps_entries:
        return False
    for entry in gps_entries:
        gps = base + struct.unpack(order + "I", entry[8:12])[0]
        check(gps, 2)
        gps_count = struct.unpack(order + "H", tiff[gps:gps + 2])[0]
        check(gps, 2 + 12 * gps_count)
        for i in range(gps_count):
            at = gps + 2 + 12 * i
            kind, number = struct.unpack(order + "HI", tiff[at + 2:at + 8])
            size = _TIFF_TYPE_SIZES.get(kind, 1) * number
            if size > 4:
                value = base + struct.unpack(order + "I", tiff[at + 8:at + 12])[0]
                check(value, size)
                tiff[value:value + size] = bytes(size)
        gps_end = gps + 2 + 12 * gps_count + 4 if gps + 2 + 12 * gps_count + 4 <= end else gps + 2 + 12 * gps_count
        tiff[gps:gps_end] = bytes(gps_end - gps)
    # IFD0 without the GPS pointer: one entry fewer, the next-IFD offset moved up, the freed bytes zeroed.
    kept = [e for e in entries if e not in gps_entries]
    next_ifd = bytes(tiff[ifd0 + 2 + 12 * count:ifd0 + 6 + 12 * count])
    rebuilt = struct.pack(order + "H", len(kept)) + b"".join(kept) + next_ifd
    tiff[ifd0:ifd0 + 2 + 12 * count + 4] = rebuilt + bytes(12 * len(gps_entries))
    return True


_TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}


def _clean_jpeg(data: bytes) -> bytes:
    """Scrub EXIF GPS and blank XMP that carries GPS, in place, in the photo and in every picture stored after it.

    Nothing changes length, so the offsets of a multi-picture file (MPO: gain maps, depth maps, the second half of
    a stereo pair) stay right. The byte pair FF D8 cannot occur inside compressed picture data (an FF there is
    always followed by 00 or a restart marker), so each one after a picture's start of scan begins another picture.
    """
    out = bytearray(data)
    start = 0
    while start >= 0:
        scan = _clean_jpeg_headers(out, start)
        start = out.find(b"\xff\xd8\xff", scan)
    return bytes(out)


def _clean_jpeg_headers(jpeg: bytearray, start: int) -> int:
    """Clean the segments of the picture starting at `start`; return where its picture data starts."""
    position = start + 2
    while position + 4 <= len(jpeg):
        if jpeg[position] != 0xFF:
            raise _Malformed("expected a JPEG marker")
        marker = jpeg[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            position += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan, end of image: picture data from here on
            return position
        length = struct.unpack(">H", jpeg[position + 2:position + 4])[0]
        end = position + 2 + length
        if length < 2 or end > len(jpeg):
            raise _Malformed("segment runs past the end")
        if marker == 0xE1 and jpeg.startswith(b"Exif\x00\x00", position + 4):
            _scrub_gps(jpeg, position + 10, end)
        elif marker == 0xE1 and jpeg.startswith(_XMP_JPEG_HEADERS, position + 4) and _xmp_has_gps(
            bytes(jpeg[position + 4:end])
        ):
            # An APP1 of zeros: no reader takes it for XMP (or anything else), and no offset moves.
            jpeg[position + 4:end] = bytes(end - position - 4)
        position = end
    return position


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _png_text(kind: bytes, body: bytes) -> tuple[bytes, bytes]:
    """(keyword, text) of a tEXt/zTXt/iTXt chunk, decompressed (with a cap) when it is compressed."""
    keyword, _, rest = body.partition(b"\x00")
    if kind == b"zTXt":
        return keyword, zlib.decompressobj().decompress(rest[1:], 16 * MB)
    if kind == b"iTXt":
        compressed = rest[:1] == b"\x01"
        text = rest[2:].split(b"\x00", 2)[-1]
        return keyword, zlib.decompressobj().decompress(text, 16 * MB) if compressed else text
    return keyword, rest


def _clean_png(data: bytes) -> bytes:
    """Scrub the eXIf chunk's GPS (new CRC); drop XMP with GPS and ImageMagick's hex-encoded EXIF text chunks."""
    out = bytearray(data[:8])
    position = 8
    while position + 12 <= len(data):
        length = struct.unpack(">I", data[position:position + 4])[0]
        kind = data[position + 4:position + 8]
        end = position + 12 + length
        if end > len(data):
            raise _Malformed("chunk runs past the end")
        body = data[position + 8:position + 8 + length]
        if kind == b"eXIf":
            tiff = bytearray(body)
            _scrub_gps(tiff, 0, len(tiff))
            out += _png_chunk(kind, bytes(tiff))
        elif kind in (b"tEXt", b"zTXt", b"iTXt"):
            keyword, text = _png_text(kind, body)
            drop = keyword.startswith(b"Raw profile type") or (keyword == b"XML:com.adobe.xmp" and _xmp_has_gps(text))
            if not drop:
                out += data[position:end]
        else:
            out += data[position:end]
        position = end
        if kind == b"IEND":
            break
    out += data[position:]
    return bytes(out)


def _clean_webp(data: bytes) -> bytes:
    """Scrub the EXIF chunk's GPS in place; drop an XMP chunk with GPS (and its VP8X flag); fix the RIFF size."""
    chunks: list[bytes] = []
    position = 12
    dropped_xmp = False
    while position + 8 <= len(data):
        kind = data[position:position + 4]
        length = struct.unpack("<I", data[position + 4:position + 8])[0]
        end = position + 8 + length + (length & 1)
        if position + 8 + length > len(data):
            raise _Malformed("chunk runs past the end")
        chunk = bytearray(data[position:min(end, len(data))])
        if kind == b"EXIF":
            start = 14 if chunk[8:14] == b"Exif\x00\x00" else 8
            _scrub_gps(chunk, start, 8 + length)
        elif kind == b"XMP " and _xmp_has_gps(bytes(chunk[8:8 + length])):
            dropped_xmp = True
            position = end
            continue
        chunks.append(bytes(chunk))
        position = end
    if dropped_xmp and chunks and chunks[0][:4] == b"VP8X":
        first = bytearray(chunks[0])
        first[8] &= ~0x04 & 0xFF  # the "has XMP" flag
        chunks[0] = bytes(first)
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


# QuickTime/MP4 containers that can hold location, directly or further down.
_ATOM_CONTAINERS = frozenset({b"moov", b"trak", b"udta", b"meta", b"ilst", b"mdia", b"minf"})
_LOCATION_ATOMS = frozenset({b"\xa9xyz", b"loci"})


def _atoms(data: bytes | bytearray, start: int, end: int) -> list[tuple[int, int, int, bytes]]:
    """(start, header length, end, type) of each atom in data[start:end]; stops at the first one that does not fit."""
    found = []
    position = start
    while position + 8 <= end:
        size, kind = struct.unpack(">I4s", data[position:position + 8])
        header = 8
        if size == 1:
            if position + 16 > end:
                break
            size = struct.unpack(">Q", data[position + 8:position + 16])[0]
            header = 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            break
        found.append((position, header, position + size, kind))
        position += size
    return found


def _location_edits(data: bytes, start: int, end: int, edits: list[tuple[int, int]]) -> None:
    """Collect (start, end) of each atom holding a location, found under the moov atom."""
    for position, header, stop, kind in _atoms(data, start, end):
        if kind in _LOCATION_ATOMS:
            edits.append((position, stop))
        elif kind == b"meta":
            _meta_location_edits(data, position + header, stop, edits)
        elif kind in _ATOM_CONTAINERS:
            _location_edits(data, position + header, stop, edits)


def _meta_location_edits(data: bytes, start: int, end: int, edits: list[tuple[int, int]]) -> None:
    # QuickTime's `meta` starts with its children; the ISO one with four bytes of version and flags first.
    if data[start + 4:start + 8] != b"hdlr":
        start += 4
    children = _atoms(data, start, end)
    location_keys: set[int] = set()
    for position, header, stop, kind in children:
        if kind == b"keys":  # Apple's `mdta` keys: ilst items are named by their 1-based index in this list
            at = position + header + 8
            for index in range(1, struct.unpack(">I", data[position + header + 4:position + header + 8])[0] + 1):
                if at + 8 > stop:
                    break
                key_size = struct.unpack(">I", data[at:at + 4])[0]
                if key_size < 8:
                    break
                if b"location" in data[at + 8:at + key_size].lower():
                    location_keys.add(index)
                at += key_size
    for position, header, stop, kind in children:
        if kind == b"ilst":
            for item, _item_header, item_stop, item_kind in _atoms(data, position + header, stop):
                if item_kind in _LOCATION_ATOMS or struct.unpack(">I", item_kind)[0] in location_keys:
                    edits.append((item, item_stop))
        elif kind in _ATOM_CONTAINERS:
            _location_edits(data, position + header, stop, edits)


def _clean_quicktime(data: bytes) -> Cleaned:
    edits: list[tuple[int, int]] = []
    try:
        for position, header, stop, kind in _atoms(data, 0, len(data)):
            if kind == b"moov":
                _location_edits(data, position + header, stop, edits)
    except (struct.error, IndexError):
        log.info("video metadata did not parse; location atoms left as they are")
        return Cleaned(data, False)
    if not edits:
        return Cleaned(data, False)
    cleaned = bytearray(data)
    for start, stop in edits:
        # Same size, so no sample offset moves; `free` atoms are skipped by every reader.
        if struct.unpack(">I", data[start:start + 4])[0] == 1:
            head = struct.pack(">I4sQ", 1, b"free", stop - start)
        else:
            head = struct.pack(">I4s", stop - start, b"free")
        cleaned[start:stop] = head + bytes(stop - start - len(head))
    return Cleaned(bytes(cleaned), True)
