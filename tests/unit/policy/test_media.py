"""Media checks: registry look-alikes (flipped, turned, re-encoded), EXIF rights, GPS, stripping, hostile files, reposts."""

from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
from PIL import ExifTags, Image

from govern.policy.images import fingerprints
from govern.policy.images.checks import IMAGE_EXIF_COPYRIGHT, IMAGE_GPS, IMAGE_PROTECTED, REPOST_UNATTRIBUTED, scan_media
from govern.policy.images.fingerprints import KnownImage, RegistrySnapshot, fingerprint
from govern.policy.images.limits import ImageLimits, ImageRejected
from govern.policy.images.stripping import strip_metadata
from govern.policy.models import RightsStatus
from tests.support.images import encode, picture

COMPANY = ["ACME Ltd.", "أكمي", "אקמי"]


def registry_of(*entries: tuple[bytes, RightsStatus, str | None]) -> RegistrySnapshot:
    known = []
    for number, (data, status, licensor) in enumerate(entries, start=1):
        facts = fingerprint(data)
        known.append(KnownImage(number, f"image {number}", status, facts.phash, facts.sha256, licensor, None))
    return RegistrySnapshot(tuple(known))


def exif_with(copyright: str | None = None, artist: str | None = None, gps: bool = False,
              orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    if copyright:
        exif[ExifTags.Base.Copyright] = copyright
    if artist:
        exif[ExifTags.Base.Artist] = artist
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        position = exif.get_ifd(ExifTags.IFD.GPSInfo)
        position[ExifTags.GPS.GPSLatitudeRef] = "N"
        position[ExifTags.GPS.GPSLatitude] = (32.0, 4.0, 50.0)
        position[ExifTags.GPS.GPSLongitudeRef] = "E"
        position[ExifTags.GPS.GPSLongitude] = (34.0, 46.0, 50.0)
    return exif.tobytes()


XMP = (
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:exif="http://ns.adobe.com/exif/1.0/"{gps}>'
    '<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">{rights}</rdf:li></rdf:Alt></dc:rights>'
    '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def entities(detections) -> list[str]:
    return sorted(d.entity for d in detections)


# --- the registry -----------------------------------------------------------------------------------

PROTECTED = encode(picture(1), "PNG")


@pytest.mark.parametrize("operation, _", fingerprints.ORIENTATIONS, ids=[label for _, label in fingerprints.ORIENTATIONS])
def test_a_protected_image_is_found_turned_shrunk_and_re_encoded(operation, _):
    turned = picture(1) if operation is None else picture(1).transpose(operation)
    attachment = encode(turned.resize((turned.width // 2, turned.height // 2)), "JPEG", quality=45)

    found = scan_media([encode(picture(7)), attachment], registry_of((PROTECTED, RightsStatus.PROTECTED, "Rival Co")))

    assert [(d.entity, d.media_index, d.start, d.end) for d in found] == [(IMAGE_PROTECTED, 1, 0, 0)]
    assert "image 1" in found[0].detail and "Rival Co" in found[0].detail


@pytest.mark.parametrize("seed", range(2, 14))
def test_other_pictures_are_not_mistaken_for_a_registered_one(seed):
    facts = fingerprint(encode(picture(seed)))
    assert registry_of((PROTECTED, RightsStatus.PROTECTED, None)).nearest(facts) is None


def test_transparent_and_webp_copies_still_match():
    rgba = picture(1).convert("RGBA")
    for attachment in (encode(rgba, "PNG"), encode(picture(1), "WEBP", quality=60), encode(picture(1).convert("L"), "GIF")):
        match = registry_of((PROTECTED, RightsStatus.PROTECTED, None)).nearest(fingerprint(attachment))
        assert match is not None and match.distance <= fingerprints.MATCH_DISTANCE


def test_a_licensed_image_is_allowed():
    registry = registry_of((PROTECTED, RightsStatus.LICENSED, "ACME Ltd."))
    assert scan_media([encode(picture(1), quality=70)], registry, company_names=COMPANY) == []


def test_the_same_bytes_match_with_distance_zero():
    match = registry_of((PROTECTED, RightsStatus.PROTECTED, None)).nearest(fingerprint(PROTECTED))
    assert (match.distance, match.orientation) == (0, "as is")


def test_an_empty_registry_matches_nothing():
    assert RegistrySnapshot().nearest(fingerprint(PROTECTED)) is None


# --- rights in the metadata -------------------------------------------------------------------------

@pytest.mark.parametrize("copyright, artist, flagged", [
    ("© 2025 Jane Doe Photography", None, True),
    (None, "Getty Images", True),
    ("Copyright 2024 ACME Ltd. All rights reserved", None, False),
    ("(c) acme", "אקמי", False),
    ("All rights reserved", "Unknown", False),
    ("Copyright 2024", None, False),
])
def test_exif_copyright_of_someone_else(copyright, artist, flagged):
    attachment = encode(picture(3), exif=exif_with(copyright=copyright, artist=artist))
    found = scan_media([attachment], RegistrySnapshot(), company_names=COMPANY)
    assert entities(found) == ([IMAGE_EXIF_COPYRIGHT] if flagged else [])
    if flagged:
        assert found[0].media_index == 0 and (copyright or artist).split()[-1] in found[0].detail


def test_a_license_record_clears_the_exif_copyright():
    licensed = encode(picture(3), exif=exif_with(copyright="© Jane Doe"))
    registry = registry_of((licensed, RightsStatus.LICENSED, "Jane Doe"))
    assert scan_media([licensed], registry, company_names=COMPANY, text="Photo by Jane Doe") == []


def test_xmp_rights_count_too():
    attachment = encode(picture(3), "PNG", pnginfo=_png_text("XML:com.adobe.xmp", XMP.format(rights="Reuters", gps="")))
    found = scan_media([attachment], RegistrySnapshot(), company_names=COMPANY)
    assert [(d.entity, d.kind) for d in found] == [(IMAGE_EXIF_COPYRIGHT, "xmp_rights")]


# --- GPS --------------------------------------------------------------------------------------------

def test_gps_in_exif_is_a_privacy_finding():
    found = scan_media([encode(picture(4)), encode(picture(5), exif=exif_with(gps=True))], RegistrySnapshot())
    assert [(d.entity, d.media_index, d.kind) for d in found] == [(IMAGE_GPS, 1, "exif_gps")]
    assert "32" not in found[0].detail  # the position itself is not repeated into findings and audit events


def test_gps_in_xmp_is_found():
    xmp = XMP.format(rights="ACME Ltd.", gps=' exif:GPSLatitude="32,4.8N" exif:GPSLongitude="34,46.8E"')
    attachment = encode(picture(4), "PNG", pnginfo=_png_text("XML:com.adobe.xmp", xmp))
    found = scan_media([attachment], RegistrySnapshot(), company_names=COMPANY)
    assert [(d.entity, d.kind) for d in found] == [(IMAGE_GPS, "xmp_gps")]


# --- the stripped copy ------------------------------------------------------------------------------

def _pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGBA").tobytes()


def _assert_clean(data: bytes) -> None:
    facts = fingerprint(data)
    assert facts.gps_source is None and facts.rights_claims == ()
    with Image.open(io.BytesIO(data)) as image:
        assert set(image.getexif()) <= {ExifTags.Base.Orientation}
        assert "xmp" not in image.info and "comment" not in image.info and "XML:com.adobe.xmp" not in image.info


def test_stripping_a_jpeg_removes_metadata_and_keeps_every_pixel_and_the_orientation():
    original = encode(picture(6), exif=exif_with(copyright="Jane", gps=True, orientation=6), comment=b"shot at home", quality=88)
    stripped = strip_metadata(original)

    assert stripped.media_type == "image/jpeg"
    _assert_clean(stripped.content)
    assert _pixels(stripped.content) == _pixels(original)
    with Image.open(io.BytesIO(stripped.content)) as image:
        assert image.getexif().get(ExifTags.Base.Orientation) == 6
    assert scan_media([stripped.content], RegistrySnapshot()) == []


def test_stripping_a_progressive_jpeg_with_trailing_bytes():
    original = encode(picture(6), exif=exif_with(gps=True), progressive=True) + b"GPS 32.08,34.78 appended"
    stripped = strip_metadata(original)
    _assert_clean(stripped.content)
    assert _pixels(stripped.content) == _pixels(original)
    assert b"GPS 32.08" not in stripped.content


def test_stripping_a_png_removes_text_exif_and_xmp_chunks_losslessly():
    info = _png_text("XML:com.adobe.xmp", XMP.format(rights="Reuters", gps=' exif:GPSLatitude="32,4.8N"'))
    info.add_text("Comment", "taken at 12 Herzl St")
    original = encode(picture(8).convert("RGBA"), "PNG", pnginfo=info, exif=exif_with(gps=True), compress_level=1)
    assert entities(scan_media([original], RegistrySnapshot(), company_names=COMPANY)) == [IMAGE_EXIF_COPYRIGHT, IMAGE_GPS]

    stripped = strip_metadata(original)

    assert stripped.media_type == "image/png"
    _assert_clean(stripped.content)
    assert b"Herzl" not in stripped.content
    assert _pixels(stripped.content) == _pixels(original)
    image_data = original[original.index(b"IDAT") - 4:]
    assert stripped.content.endswith(image_data)  # chunks copied, not re-encoded


def test_stripping_other_formats_re_encodes_losslessly_as_png():
    original = encode(picture(9), "WEBP", lossless=True, exif=exif_with(gps=True, artist="Jane"))
    stripped = strip_metadata(original)
    assert stripped.media_type == "image/png"
    _assert_clean(stripped.content)
    assert _pixels(stripped.content) == _pixels(original)


# --- hostile files ----------------------------------------------------------------------------------

def _png_text(key: str, value: str):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_itxt(key, value)
    return info


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge picture: the decompression-bomb shape."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("data, limits, reason", [
    (b"hello, this is text", ImageLimits(), "not_an_image"),
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", ImageLimits(), "not_an_image"),
    (b"", ImageLimits(), "not_an_image"),
    (encode(picture(1)), ImageLimits(max_bytes=1000), "too_large"),
    (_png_claiming(9_000, 9_000), ImageLimits(), "too_many_pixels"),  # under Pillow's own limit, over ours
    (_png_claiming(100_000, 100_000), ImageLimits(max_pixels=10**12), "too_many_pixels"),  # Pillow's own guard
    (encode(picture(1))[:600], ImageLimits(), "corrupt"),
])
def test_unusable_files_are_refused_with_a_reason_and_never_crash(data, limits, reason):
    started = time.perf_counter()
    with pytest.raises(ImageRejected) as refused:
        scan_media([encode(Image.new("RGB", (8, 8)), "PNG"), data], RegistrySnapshot(), limits=limits)
    assert refused.value.reason == reason and refused.value.media_index == 1
    assert str(refused.value).startswith("attachment 2: ")  # media_index counts from 0, the message from 1
    with pytest.raises(ImageRejected):
        strip_metadata(data, limits)
    assert time.perf_counter() - started < 2


# --- reposts ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, marker", [
    ("Repost! What a view", "Repost"),
    ("Love this one #regram", "#regram"),
    ("RT: the market is up today", "RT"),
    ("إعادة نشر: صورة رائعة من الحفل", "إعادة نشر"),
    ("ריפוסט לתמונה המדהימה הזאת", "ריפוסט"),
])
def test_a_repost_that_names_no_source(text, marker):
    found = scan_media([], RegistrySnapshot(), text=text)
    assert [(d.entity, d.media_index, text[d.start:d.end]) for d in found] == [(REPOST_UNATTRIBUTED, None, marker)]


@pytest.mark.parametrize("text", [
    "RT @jane_doe: the market is up today",
    "Repost from https://example.com/post/1",
    "#repost 📷 Jane Doe",
    "إعادة نشر — المصدر: وكالة الأنباء",
    "ריפוסט, קרדיט: נועה כהן",
    "Our art team is smart",  # "rt" inside words
    "please rt this",  # lower-case rt is not the marker
    "Posting our new product today",
])
def test_attributed_posts_and_ordinary_words_are_not_reposts(text):
    assert scan_media([], RegistrySnapshot(), text=text) == []


def test_a_licensed_third_party_image_needs_a_credit():
    attachment = encode(picture(1), quality=80)
    registry = registry_of((PROTECTED, RightsStatus.LICENSED, "Jane Doe Studio"))

    uncredited = scan_media([attachment], registry, company_names=COMPANY, text="Our new office")
    credited = scan_media([attachment], registry, company_names=COMPANY, text="Our new office, by Jane Doe Studio")
    ours = scan_media([attachment], registry_of((PROTECTED, RightsStatus.LICENSED, "Acme")), company_names=COMPANY, text="x")

    assert [(d.entity, d.kind, d.media_index) for d in uncredited] == [(REPOST_UNATTRIBUTED, "licensed_without_credit", 0)]
    assert credited == [] and ours == []
