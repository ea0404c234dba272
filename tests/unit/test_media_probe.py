"""Reading media from its bytes and removing location: real small files made here with Pillow and PyAV."""

from __future__ import annotations

import io
import random
import struct
from typing import Any

import av
import pytest
from PIL import Image, PngImagePlugin

from stella.services import media
from stella.services.errors import ValidationError

GPS_IFD = 0x8825
EXIF_IFD = 0x8769
ORIENTATION = 0x0112
# 122°25'9.84"W, stored as three rationals: the bytes a leak would show.
LONGITUDE = (122.0, 25.0, 9.84)
LOCATION_TEXT = "+37.7749-122.4194+010.000/"
XMP_WITH_GPS = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="37,46.494N" '
    b'exif:GPSLongitude="122,25.164W"/></rdf:RDF></x:xmpmeta>'
)


# -- making media ---------------------------------------------------------------------------------------------------


def make_exif(*, orientation: int | None = None, gps: bool = True) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    if orientation:
        exif[ORIENTATION] = orientation
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (37.0, 46.0, 29.64), 3: "W", 4: LONGITUDE}
    exif[EXIF_IFD] = {0x9003: "2026:11:20 10:00:00"}
    return exif.tobytes()


def make_image(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), **options: Any) -> bytes:
    """A small photo with its own colours (so two calls never make the same bytes unless asked to)."""
    image = Image.new("RGB", size, tuple(random.randrange(256) for _ in range(3)))
    image.putpixel((0, 0), (random.randrange(256), 0, 0))
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def make_video(fmt: str = "mp4", *, codec: str = "libx264", size: tuple[int, int] = (64, 48), frames: int = 10,
               rate: int = 10, audio: bool = True, rotation: int | None = None,
               metadata: dict[str, str] | None = None, options: dict[str, str] | None = None) -> bytes:
    """A one-second clip (by default) encoded with PyAV: a coloured picture and a silent audio track."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt, options=options or {}) as out:
        for key, value in (metadata or {}).items():
            out.metadata[key] = value
        video = out.add_stream(codec, rate=rate)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        if rotation:
            video.set_display_rotation(rotation)
        sound = out.add_stream("libopus" if fmt == "webm" else "aac", rate=48000) if audio else None
        for index in range(frames):
            picture = Image.new("RGB", size, (index * 20 % 256, 100, 200))
            for packet in video.encode(av.VideoFrame.from_image(picture)):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if sound is not None:
            samples = sound.codec_context.frame_size or 1024
            for index in range(48000 * frames // rate // samples):
                chunk = av.AudioFrame(format=sound.codec_context.format.name, layout="mono", samples=samples)
                chunk.sample_rate = 48000
                chunk.pts = index * samples
                for plane in chunk.planes:
                    plane.update(bytes(plane.buffer_size))
                for packet in sound.encode(chunk):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)
    return buffer.getvalue()


def make_audio_only_mp4() -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        sound = out.add_stream("aac", rate=48000)
        for index in range(10):
            chunk = av.AudioFrame(format="fltp", layout="mono", samples=1024)
            chunk.sample_rate = 48000
            chunk.pts = index * 1024
            for plane in chunk.planes:
                plane.update(bytes(plane.buffer_size))
            for packet in sound.encode(chunk):
                out.mux(packet)
        for packet in sound.encode():
            out.mux(packet)
    return buffer.getvalue()


PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def exif_of(data: bytes) -> Image.Exif:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.getexif()


def rationals(values: tuple[float, ...], order: str) -> list[bytes]:
    """How each rational is stored in EXIF (Pillow writes 9.84 as 246/25), in both byte orders to be safe."""
    from fractions import Fraction

    found = []
    for value in values:
        fraction = Fraction(value).limit_denominator(1_000_000)
        found.append(struct.pack(order + "LL", fraction.numerator, fraction.denominator))
    return found


def thumbnail_size(probe: media.Probe) -> tuple[int, int]:
    with Image.open(io.BytesIO(probe.thumbnail)) as image:
        assert image.format == "WEBP"
        return image.size


# -- what a file is -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "name", "mime"), [
    ("JPEG", "JPEG", "image/jpeg"), ("PNG", "PNG", "image/png"), ("WEBP", "WebP", "image/webp"),
    ("GIF", "GIF", "image/gif"),
])
def test_photo_type_and_size_are_read_from_the_bytes(fmt, name, mime):
    probe = media.probe_media(make_image(fmt, size=(80, 50)))
    assert (probe.format.name, probe.format.mime_type, probe.kind) == (name, mime, "image")
    assert (probe.width, probe.height) == (80, 50)
    assert probe.duration_seconds is None and probe.video_codec is None
    assert thumbnail_size(probe) == (80, 50)


def test_a_pdf_is_refused_saying_what_it_is():
    with pytest.raises(ValidationError) as refused:
        media.probe_media(PDF)
    assert refused.value.message == (
        "That file is a PDF; Stella accepts JPEG, PNG, WebP and GIF photos and MP4, MOV or WebM videos."
    )
    assert refused.value.field == "file"


@pytest.mark.parametrize(("data", "named"), [
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64), "a HEIC photo"),
    (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + bytes(64), "an AVIF image"),
    (b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00M4A isommp42" + bytes(64), "an M4A audio file"),
    (b"PK\x03\x04" + bytes(64), "a ZIP archive"),
    (b"BM" + struct.pack("<I", 70) + bytes(8) + bytes(56), "a BMP image"),
    (b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>", "an SVG image"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska" + bytes(64), "a Matroska (MKV) video"),
])
def test_other_types_are_named_in_the_refusal(data, named):
    with pytest.raises(ValidationError) as refused:
        media.probe_media(data)
    assert refused.value.message.startswith(f"That file is {named}")


def test_unknown_bytes_are_refused_plainly():
    with pytest.raises(ValidationError, match="could not tell what kind of file that is"):
        media.probe_media(b"just some text, not a photo")


def test_an_empty_file_is_refused():
    with pytest.raises(ValidationError, match="That file is empty"):
        media.probe_media(b"")


def test_a_damaged_photo_is_refused():
    damaged = make_image("PNG", size=(200, 200))[:120]
    with pytest.raises(ValidationError, match="looks like a PNG photo but could not be read"):
        media.probe_media(damaged)


def test_a_photo_over_the_size_limit_is_refused(monkeypatch):
    monkeypatch.setattr(media, "MAX_IMAGE_BYTES", 2 * media.MB)
    with pytest.raises(ValidationError, match=r"^That photo is 3 MB; Stella accepts photos up to 2 MB\.$"):
        media.probe_media(b"\xff\xd8\xff" + bytes(3 * media.MB))


def test_a_photo_over_the_pixel_limit_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(media, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ValidationError, match="megapixels"):
        media.probe_media(make_image("PNG", size=(100, 100)))


def test_exif_orientation_gives_the_displayed_size_and_an_upright_thumbnail():
    probe = media.probe_media(make_image("JPEG", size=(64, 48), exif=make_exif(orientation=6, gps=False)))
    assert (probe.width, probe.height) == (48, 64)
    assert thumbnail_size(probe) == (48, 64)


def test_an_mp4_is_probed_for_size_duration_codecs_and_frame_rate():
    probe = media.probe_media(make_video("mp4", size=(64, 48), frames=20, rate=10))
    assert (probe.format.name, probe.format.mime_type, probe.kind) == ("MP4", "video/mp4", "video")
    assert (probe.width, probe.height) == (64, 48)
    assert probe.duration_seconds == pytest.approx(2.0, abs=0.1)
    assert (probe.video_codec, probe.audio_codec) == ("h264", "aac")
    assert probe.frame_rate == pytest.approx(10.0)
    assert thumbnail_size(probe) == (64, 48)


def test_a_mov_and_a_webm_are_recognised():
    mov = media.probe_media(make_video("mov", audio=False))
    assert (mov.format.name, mov.format.mime_type, mov.audio_codec) == ("MOV", "video/quicktime", None)
    webm = media.probe_media(make_video("webm", codec="libvpx-vp9"))
    assert (webm.format.name, webm.format.mime_type) == ("WebM", "video/webm")
    assert (webm.video_codec, webm.audio_codec) == ("vp9", "opus")


def test_a_phone_video_shot_upright_reports_its_displayed_size():
    # Phones store portrait video as landscape frames plus a display rotation.
    probe = media.probe_media(make_video("mp4", size=(64, 48), rotation=-90))
    assert (probe.width, probe.height) == (48, 64)
    assert thumbnail_size(probe) == (48, 64)


def test_an_audio_only_mp4_is_refused():
    with pytest.raises(ValidationError, match="has no picture"):
        media.probe_media(make_audio_only_mp4())


def test_a_video_whose_codec_is_not_decoded_gets_a_placeholder_poster():
    probe = media.probe_media(make_video("mov", codec="mpeg2video", audio=False))
    assert probe.video_codec == "mpeg2video"
    assert thumbnail_size(probe) == (320, 180)


# -- removing location ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_gps_is_removed_and_every_other_tag_kept(fmt):
    original = make_image(fmt, exif=make_exif(orientation=6))
    assert GPS_IFD in exif_of(original)
    probe = media.probe_media(original)

    cleaned = media.remove_location(original, probe.format)

    assert cleaned.location_removed is True
    exif = exif_of(cleaned.data)
    assert GPS_IFD not in exif and not exif.get_ifd(GPS_IFD)
    assert exif[ORIENTATION] == 6
    assert exif[0x010F] == "Canon"
    assert exif.get_ifd(EXIF_IFD)[0x9003] == "2026:11:20 10:00:00"
    for stored in rationals(LONGITUDE, "<") + rationals(LONGITUDE, ">"):
        assert stored not in cleaned.data
    # Edited in place: same length, and for a JPEG the compressed picture is byte for byte the original.
    assert len(cleaned.data) == len(original)
    if fmt == "JPEG":
        assert cleaned.data[cleaned.data.index(b"\xff\xda"):] == original[original.index(b"\xff\xda"):]


def test_a_photo_without_location_is_kept_byte_for_byte():
    original = make_image("JPEG", exif=make_exif(orientation=3, gps=False))
    cleaned = media.remove_location(original, media.FORMATS["JPEG"])
    assert cleaned.location_removed is False
    assert cleaned.data == original


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "PNG"])
def test_xmp_that_repeats_the_gps_position_is_dropped(fmt):
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", XMP_WITH_GPS.decode(), zip=True)
        original = make_image(fmt, pnginfo=info)
    else:
        original = make_image(fmt, xmp=XMP_WITH_GPS)
    cleaned = media.remove_location(original, media.probe_media(original).format)
    assert cleaned.location_removed is True
    assert b"GPSLongitude" not in cleaned.data
    with Image.open(io.BytesIO(cleaned.data)) as image:
        image.load()
        assert "xmp" not in image.info and "XML:com.adobe.xmp" not in image.info
    if fmt == "JPEG":
        assert len(cleaned.data) == len(original)  # blanked in place


def test_every_picture_of_a_multi_picture_jpeg_loses_its_gps():
    # Phones and cameras store gain maps, depth maps or stereo pairs as further pictures after the first (MPO).
    buffer = io.BytesIO()
    first, second = Image.new("RGB", (64, 48), (200, 0, 0)), Image.new("RGB", (64, 48), (0, 200, 0))
    first.save(buffer, "MPO", save_all=True, append_images=[second], exif=make_exif(orientation=6))
    original = buffer.getvalue()
    probe = media.probe_media(original)
    assert probe.format.name == "JPEG"

    cleaned = media.remove_location(original, probe.format)

    assert cleaned.location_removed is True and len(cleaned.data) == len(original)
    for stored in rationals(LONGITUDE, "<") + rationals(LONGITUDE, ">"):
        assert stored not in cleaned.data
    with Image.open(io.BytesIO(cleaned.data)) as image:
        assert image.n_frames == 2
        for frame in range(2):
            image.seek(frame)
            image.load()
            assert GPS_IFD not in image.getexif() and image.getexif()[ORIENTATION] == 6


def test_when_the_metadata_cannot_be_edited_in_place_the_photo_is_resaved_without_gps(monkeypatch):
    monkeypatch.setattr(media, "_clean_jpeg", lambda data: data)  # as if the segments had not parsed
    original = make_image("JPEG", exif=make_exif(orientation=8), quality=92)

    cleaned = media.remove_location(original, media.FORMATS["JPEG"])

    assert cleaned.location_removed is True
    exif = exif_of(cleaned.data)
    assert GPS_IFD not in exif
    assert exif[ORIENTATION] == 8


@pytest.mark.parametrize(("fmt", "metadata", "options"), [
    # FFmpeg writes `location` as ©xyz in a MOV (what Android phones write) and as a 3GPP `loci` box in an MP4.
    ("mov", {"location": "+37.7749-122.4194/"}, {}),
    ("mp4", {"location": "+37.7749-122.4194/"}, {}),
    # iPhones write Apple's `mdta` keys.
    ("mp4", {"com.apple.quicktime.location.ISO6709": LOCATION_TEXT, "com.apple.quicktime.make": "Apple"},
     {"movflags": "use_metadata_tags"}),
])
def test_location_is_removed_from_phone_videos_without_moving_a_byte(fmt, metadata, options):
    original = make_video(fmt, metadata=metadata, options=options)
    probe = media.probe_media(original)

    cleaned = media.remove_location(original, probe.format)

    assert cleaned.location_removed is True
    assert len(cleaned.data) == len(original)
    assert b"37.7749" not in cleaned.data and b"loci" not in cleaned.data
    with av.open(io.BytesIO(cleaned.data)) as container:
        assert not any("location" in key.lower() for key in container.metadata)
        assert sum(1 for _ in container.decode(video=0)) == 10
    if "com.apple.quicktime.make" in metadata:
        assert container.metadata.get("com.apple.quicktime.make") == "Apple"


def test_a_video_without_location_is_kept_byte_for_byte():
    original = make_video("mp4")
    cleaned = media.remove_location(original, media.FORMATS["MP4"])
    assert (cleaned.location_removed, cleaned.data) == (False, original)
