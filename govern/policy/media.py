"""Checks on attached images: registry look-alikes, someone else's copyright, GPS, unattributed reposts."""

from __future__ import annotations

import enum
import hashlib
import io
import re
import struct
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import imagehash
import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from govern.policy.findings import Detection

IMAGE_PROTECTED = "IMAGE_PROTECTED"
IMAGE_EXIF_COPYRIGHT = "IMAGE_EXIF_COPYRIGHT"
IMAGE_GPS = "IMAGE_GPS"
REPOST_UNATTRIBUTED = "REPOST_UNATTRIBUTED"

# Only these decoders ever see untrusted bytes: no EPS (it runs Ghostscript), no exotic plugins.
ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")  # a multi-picture JPEG opens as "MPO"

# A pHash is 64 bits; re-encoding and resizing move a handful of them, a different picture about half.
MATCH_DISTANCE = 10
HASH_BITS = 64


class RightsStatus(str, enum.Enum):
    """A registered image is either someone's we must not post, or one we hold a license for."""

    PROTECTED = "protected"
    LICENSED = "licensed"


class ImageRejected(ValueError):
    """The bytes are not an image we will decode: not an image, too big, a decompression bomb, or corrupt."""

    def __init__(
        self, reason: str, message: str, media_index: int | None = None, *, limit: str | None = None,
        limit_value: float | None = None,
    ) -> None:
        where = f"attachment {media_index + 1}: " if media_index is not None else ""  # people count from 1
        super().__init__(where + message)
        self.reason = reason  # not_an_image | too_large | too_many_pixels | too_many_frames | too_slow | corrupt
        self.message = message
        self.media_index = media_index
        self.limit = limit  # the ImageLimits field that refused it, when a limit did
        self.limit_value = limit_value

    def at(self, media_index: int) -> ImageRejected:
        return ImageRejected(self.reason, self.message, media_index, limit=self.limit, limit_value=self.limit_value)


@dataclass(frozen=True)
class ImageLimits:
    """What attachments may cost before they are refused; the pixel checks read only the headers.

    Decoding costs time and memory in proportion to the pixels, not the bytes: a 1-bit PNG of 8 KB can
    hold 64 million of them. So pixels are bounded per image and per request (summed over the headers
    before anything is decoded), and the time spent decoding one request is bounded too.
    """

    max_bytes: int = 25 * 1024 * 1024
    max_pixels: int = 50_000_000  # per image: a 50-megapixel phone photo passes
    max_frames: int = 500
    max_pixels_per_request: int = 150_000_000  # ten 12-megapixel photos pass, ten 64-megapixel bombs do not
    max_decode_seconds: float = 10.0  # checked between images; one image is bounded by max_pixels


DEFAULT_LIMITS = ImageLimits()


# --- the registry as the checks see it --------------------------------------------------------------

@dataclass(frozen=True)
class KnownImage:
    """One registry entry as plain data (the service builds these from the database)."""

    id: int
    label: str
    status: RightsStatus
    phash: str  # 16 hex digits
    sha256: str
    licensor: str | None = None  # who licensed it to us, or for a protected image who owns it
    license_ref: str | None = None


@dataclass(frozen=True)
class RegistrySnapshot:
    """All registered images, with their hashes packed for one vectorised comparison per attachment."""

    images: tuple[KnownImage, ...] = ()
    _hashes: np.ndarray = field(init=False, repr=False, compare=False)
    _by_sha256: dict[str, KnownImage] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        packed = np.array([int(image.phash, 16) for image in self.images], dtype=np.uint64)
        object.__setattr__(self, "_hashes", packed)
        object.__setattr__(self, "_by_sha256", {image.sha256: image for image in self.images})

    def nearest(self, fingerprint: ImageFingerprint) -> RegistryMatch | None:
        """The closest registered image over all eight orientations of the attachment, if close enough."""
        if not self.images:
            return None
        if (identical := self._by_sha256.get(fingerprint.sha256)) is not None:
            return RegistryMatch(identical, 0, ORIENTATIONS[0][1])
        variants = np.array(fingerprint.variants, dtype=np.uint64)
        distances = np.bitwise_count(self._hashes[None, :] ^ variants[:, None])  # (8 orientations, images)
        orientation, index = np.unravel_index(int(np.argmin(distances)), distances.shape)
        distance = int(distances[orientation, index])
        if distance > MATCH_DISTANCE:
            return None
        return RegistryMatch(self.images[int(index)], distance, ORIENTATIONS[int(orientation)][1])


@dataclass(frozen=True)
class RegistryMatch:
    image: KnownImage
    distance: int  # differing pHash bits, 0..64
    orientation: str  # how the attachment was turned to match, e.g. "rotated 90°"


# --- reading an image -------------------------------------------------------------------------------

ORIENTATIONS: tuple[tuple[Image.Transpose | None, str], ...] = (
    (None, "as is"),
    (Image.Transpose.ROTATE_90, "rotated 90°"),
    (Image.Transpose.ROTATE_180, "rotated 180°"),
    (Image.Transpose.ROTATE_270, "rotated 270°"),
    (Image.Transpose.FLIP_LEFT_RIGHT, "mirrored"),
    (Image.Transpose.FLIP_TOP_BOTTOM, "flipped upside down"),
    (Image.Transpose.TRANSPOSE, "mirrored and rotated 90°"),
    (Image.Transpose.TRANSVERSE, "mirrored and rotated 270°"),
)


@dataclass(frozen=True)
class RightsClaim:
    """A name in the image's metadata that claims authorship or rights (EXIF Artist/Copyright, XMP dc:*)."""

    source: str  # exif_copyright | exif_artist | xmp_rights | xmp_creator
    holder: str


@dataclass(frozen=True)
class ImageFingerprint:
    """What the checks and the registry need to know about one image; never the pixels."""

    sha256: str
    phash: str  # 16 hex digits of the image as it is stored (orientation "as is")
    variants: tuple[int, ...]  # the pHash of all eight orientations, in ORIENTATIONS order
    width: int
    height: int
    format: str
    rights_claims: tuple[RightsClaim, ...] = ()
    gps_source: str | None = None  # "exif_gps" or "xmp_gps" when the metadata holds a position


def open_image(data: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> Image.Image:
    """Open untrusted bytes lazily, refusing what is not an allowed image or is too large to decode."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageRejected("not_an_image", f"expected image bytes, got {type(data).__name__}")
    if len(data) > limits.max_bytes:
        raise ImageRejected("too_large", f"the file is {len(data):,} bytes; at most {limits.max_bytes:,} are accepted",
                            limit="max_bytes", limit_value=limits.max_bytes)
    try:
        image = Image.open(io.BytesIO(bytes(data)), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        raise ImageRejected("not_an_image", "not an image in a supported format (JPEG, PNG, GIF, WebP, BMP, TIFF)") from None
    except Image.DecompressionBombError as exc:
        raise ImageRejected("too_many_pixels", f"decompression bomb refused: {exc}", limit="max_pixels",
                            limit_value=limits.max_pixels) from None
    except (OSError, SyntaxError, ValueError, struct.error, EOFError) as exc:
        raise ImageRejected("corrupt", f"the image header cannot be read: {exc}") from None
    width, height = image.size
    if width <= 0 or height <= 0 or width * height > limits.max_pixels:
        image.close()
        raise ImageRejected(
            "too_many_pixels", f"{width}x{height} pixels is more than the {limits.max_pixels:,} accepted per image (decompression bomb?)",
            limit="max_pixels", limit_value=limits.max_pixels,
        )
    return image


def pixel_count(data: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> int:
    """Width times height from the header alone; raises ImageRejected like open_image."""
    image = open_image(data, limits)
    try:
        width, height = image.size
        return width * height
    finally:
        image.close()


def fingerprint(data: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> ImageFingerprint:
    """Hash, measure and read the metadata of one image; raises ImageRejected for anything else."""
    image = open_image(data, limits)
    try:
        claims, gps_source = _read_metadata(image)
        size, image_format = image.size, image.format or "unknown"
        variants = _phash_variants(image)
    except ImageRejected:
        raise
    except (OSError, SyntaxError, ValueError, struct.error, EOFError, MemoryError) as exc:
        raise ImageRejected("corrupt", f"the image cannot be decoded: {exc}") from None
    finally:
        image.close()
    return ImageFingerprint(
        sha256=hashlib.sha256(data).hexdigest(),
        phash=f"{variants[0]:016x}",
        variants=variants,
        width=size[0],
        height=size[1],
        format=image_format,
        rights_claims=claims,
        gps_source=gps_source,
    )


def _phash_variants(image: Image.Image) -> tuple[int, ...]:
    """pHash of the picture in all eight orientations (rotations and flips), from one 32x32 thumbnail.

    Turning the small grey thumbnail is the same as turning the picture and shrinking it, so one decode
    serves all eight. JPEGs are decoded at a reduced scale and other images are box-reduced before any
    conversion, which is plenty for a 32x32 thumbnail and keeps the copies of a large picture small.
    """
    if image.format == "JPEG":
        image.draft("RGB", (256, 256))
    if image.mode == "1" or (image.mode == "P" and "transparency" not in image.info):
        image = image.convert("L")  # the same grey values as through RGB, at a third of the memory, and reducible
    factor = min(image.size) // 128
    if factor > 1:
        try:
            image = image.reduce(factor)
        except ValueError:  # modes without reduce() (palette, 1-bit) are small per pixel anyway
            pass
    flat = _on_white(image)
    thumbnail = flat.convert("L").resize((32, 32), Image.Resampling.LANCZOS)
    hashes = []
    for operation, _ in ORIENTATIONS:
        turned = thumbnail if operation is None else thumbnail.transpose(operation)
        hashes.append(int(str(imagehash.phash(turned)), 16))
    return tuple(hashes)


def _on_white(image: Image.Image) -> Image.Image:
    """Transparent pixels hold arbitrary colours; lay the picture on white so they do not sway the hash."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode not in ("RGB", "L"):
        return image.convert("RGB")
    return image


# --- metadata ---------------------------------------------------------------------------------------

_XMP_RIGHTS_FIELDS = {"rights": "xmp_rights", "creator": "xmp_creator"}
_DC_NAMESPACE = "http://purl.org/dc/elements/1.1/"
_XMP_GPS = re.compile(rb"GPS(?:Latitude|Longitude)")


def _read_metadata(image: Image.Image) -> tuple[tuple[RightsClaim, ...], str | None]:
    claims: list[RightsClaim] = []
    exif = image.getexif()
    for tag, source in ((ExifTags.Base.Copyright, "exif_copyright"), (ExifTags.Base.Artist, "exif_artist")):
        for holder in _text_values(exif.get(tag)):
            claims.append(RightsClaim(source, holder))
    gps_source = None
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    if ExifTags.GPS.GPSLatitude in gps or ExifTags.GPS.GPSLongitude in gps:
        gps_source = "exif_gps"
    xmp = _raw_xmp(image)
    if xmp:
        claims.extend(_xmp_claims(xmp))
        if gps_source is None and _XMP_GPS.search(xmp):
            gps_source = "xmp_gps"
    unique = tuple(dict.fromkeys(claims))
    return unique, gps_source


def _text_values(value: object) -> list[str]:
    """EXIF text is ASCII or UTF-8, sometimes several NUL-separated names (photographer, then editor)."""
    if value is None:
        return []
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return [part.strip() for part in str(value).split("\x00") if part.strip()]


def _raw_xmp(image: Image.Image) -> bytes | None:
    xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8", "replace")
    return xmp or None


def _xmp_claims(xmp: bytes) -> list[RightsClaim]:
    """dc:rights and dc:creator of the XMP packet, parsed with defusedxml (no entity expansion)."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    start, end = xmp.find(b"<x:xmpmeta"), xmp.rfind(b"</x:xmpmeta>")
    packet = xmp[start:end + len(b"</x:xmpmeta>")] if start >= 0 and end > start else xmp
    try:
        root = ElementTree.fromstring(packet)
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        return []
    claims = []
    for element in root.iter():
        namespace, _, local = element.tag.partition("}")
        if namespace.lstrip("{") == _DC_NAMESPACE and local in _XMP_RIGHTS_FIELDS:
            for text in element.itertext():
                if text.strip():
                    claims.append(RightsClaim(_XMP_RIGHTS_FIELDS[local], text.strip()))
        for name, value in element.attrib.items():  # the short form: <rdf:Description dc:rights="...">
            attr_namespace, _, attr_local = name.partition("}")
            if attr_namespace.lstrip("{") == _DC_NAMESPACE and attr_local in _XMP_RIGHTS_FIELDS and value.strip():
                claims.append(RightsClaim(_XMP_RIGHTS_FIELDS[attr_local], value.strip()))
    return claims


# Words that say nothing about who holds the rights; a field made only of them is ignored.
_BOILERPLATE_WORDS = frozenset(
    "all rights reserved unknown none n a na owner author artist photographer public domain the by".split()
)
_LEGAL_SUFFIXES = re.compile(
    r"\b(?:inc|ltd|llc|plc|gmbh|corp|corporation|co|company|group|sa|ag|bv|limited|בע\"?מ|ש\.?م\.?م)\b\.?",
    re.IGNORECASE,
)


def _name_key(text: str) -> str:
    """Casefolded words only, so 'ACME Ltd.' and 'acme' compare equal."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"©|\(c\)|copyright|all rights reserved|\d{4}(?:\s*[-–]\s*\d{4})?", " ", text)
    text = _LEGAL_SUFFIXES.sub(" ", text)
    return " ".join(re.findall(r"\w+", text))


def _names_company(holder: str, company_names: Sequence[str]) -> bool:
    holder_key = _name_key(holder)
    if not holder_key:
        return False
    for company in company_names:
        company_key = _name_key(company)
        if company_key and (
            re.search(rf"(?<!\w){re.escape(company_key)}(?!\w)", holder_key)
            or re.search(rf"(?<!\w){re.escape(holder_key)}(?!\w)", company_key)
        ):
            return True
    return False


def third_party_claims(claims: Sequence[RightsClaim], company_names: Sequence[str]) -> list[RightsClaim]:
    """The metadata rights claims that name someone other than the company (generic boilerplate ignored)."""
    return [
        claim for claim in claims
        if set(_name_key(claim.holder).split()) - _BOILERPLATE_WORDS
        and not _names_company(claim.holder, company_names)
    ]


# --- reposts ----------------------------------------------------------------------------------------

# The post says it is someone else's content ...
_REPOST_MARKER = re.compile(
    r"(?<!\w)(?:#?re-?post(?:ed|ing)?|#?regram(?:med)?|RT(?=\s|:|$)|إعادة نشر|#?ريبوست|#?ריפוסט|שיתוף מחדש|פורסם מחדש)(?!\w)",
    re.IGNORECASE,
)
# ... and names where it came from.
_SOURCE_NAMED = re.compile(r"@\w|https?://|www\.", re.IGNORECASE)
_CREDIT_MARKER = re.compile(
    r"©|\(c\)|(?<!\w)(?:credits?|photo(?:graph)?\s+by|image\s+by|pic\s+by|via|h/t|hat\s+tip|source|courtesy(?:\s+of)?)(?!\w)"
    r"|📷|📸|المصدر|تصوير|بعدسة|بإذن|بإذن من|حقوق الصورة|קרדיט|צילום|באדיבות|מקור",
    re.IGNORECASE,
)


def text_repost_detections(text: str) -> list[Detection]:
    """A repost marker ("repost", "#regram", "RT", إعادة نشر, ריפוסט) in a post that names no source.

    The heuristic: a post that calls itself a repost but carries no @handle, no link and no credit
    marker (©, credit, photo by, via, source, צילום, تصوير, ...) republishes someone's content without
    saying whose. "RT @someone ..." is attributed and passes.
    """
    if not text or _SOURCE_NAMED.search(text) or _CREDIT_MARKER.search(text):
        return []
    detections = []
    for match in _REPOST_MARKER.finditer(text):
        if match.group(0).lower() == "rt" and match.group(0) != "RT":
            continue  # "RT" is a marker only in capitals
        detections.append(Detection(
            REPOST_UNATTRIBUTED, match.start(), match.end(), kind="repost_marker",
            detail=f"the post calls itself a repost ('{match.group(0)}') but names no source (@handle, link or credit)",
        ))
    return detections


def credits_source(text: str, names: Sequence[str]) -> bool:
    """Does the post credit anybody: a credit marker, an @handle or link, or one of these names?"""
    if _CREDIT_MARKER.search(text) or _SOURCE_NAMED.search(text):
        return True
    text_key = _name_key(text)
    return any(
        (key := _name_key(name)) and re.search(rf"(?<!\w){re.escape(key)}(?!\w)", text_key) for name in names
    )


# --- the checks -------------------------------------------------------------------------------------

def scan_media(
    images: Sequence[bytes],
    registry: RegistrySnapshot,
    *,
    company_names: Sequence[str] = (),
    text: str = "",
    limits: ImageLimits = DEFAULT_LIMITS,
) -> list[Detection]:
    """All media detections of one post; raises ImageRejected (with media_index) for an unusable attachment.

    Per attachment (media_index = its position, start = end = 0):
    - IMAGE_PROTECTED: within MATCH_DISTANCE pHash bits of a *protected* registry image in any of the
      eight orientations. A *licensed* registry match is allowed and produces no IMAGE_PROTECTED.
    - IMAGE_EXIF_COPYRIGHT: EXIF Copyright/Artist or XMP dc:rights/dc:creator names someone other
      than the company and the image matches no licensed registry entry (the license record).
    - IMAGE_GPS: the metadata carries a position; offer strip_metadata()'s copy instead.
    - REPOST_UNATTRIBUTED (kind "licensed_without_credit"): a licensed third-party image while the text
      credits nobody (no credit marker, @handle, link, licensor or metadata name).
    Plus the text-only REPOST_UNATTRIBUTED of text_repost_detections(), which points into the text
    (media_index None).
    """
    _check_request_pixels(images, limits)
    detections: list[Detection] = []
    started = time.monotonic()
    for media_index, data in enumerate(images):
        if media_index and time.monotonic() - started > limits.max_decode_seconds:
            raise ImageRejected(
                "too_slow", f"decoding the attachments before it took more than the {limits.max_decode_seconds:g} seconds "
                "accepted per post", media_index, limit="max_decode_seconds", limit_value=limits.max_decode_seconds,
            )
        try:
            facts = fingerprint(data, limits)
        except ImageRejected as exc:
            raise exc.at(media_index) from None
        detections.extend(_image_detections(media_index, facts, registry, company_names, text))
    detections.extend(text_repost_detections(text))
    return detections


def _check_request_pixels(images: Sequence[bytes], limits: ImageLimits) -> None:
    """Refuse the whole post from the headers' dimensions, before a single image is decoded."""
    total = 0
    for media_index, data in enumerate(images):
        try:
            total += pixel_count(data, limits)
        except ImageRejected as exc:
            raise exc.at(media_index) from None
    if total > limits.max_pixels_per_request:
        raise ImageRejected(
            "too_many_pixels", f"the attachments hold {total:,} pixels together; at most {limits.max_pixels_per_request:,} "
            "are accepted per post", limit="max_pixels_per_request", limit_value=limits.max_pixels_per_request,
        )


def _image_detections(
    media_index: int, facts: ImageFingerprint, registry: RegistrySnapshot, company_names: Sequence[str], text: str
) -> list[Detection]:
    found: list[Detection] = []
    match = registry.nearest(facts)
    licensed = match is not None and match.image.status == RightsStatus.LICENSED
    if match is not None and match.image.status == RightsStatus.PROTECTED:
        owner = f", owned by {match.image.licensor}" if match.image.licensor else ""
        found.append(_on_medium(
            IMAGE_PROTECTED, media_index, "protected",
            f"looks like the protected image '{match.image.label}' (registry #{match.image.id}{owner}): "
            f"{match.distance} of {HASH_BITS} pHash bits differ, {match.orientation}",
        ))
    others = third_party_claims(facts.rights_claims, company_names)
    if others and not licensed:
        claim = others[0]
        found.append(_on_medium(
            IMAGE_EXIF_COPYRIGHT, media_index, claim.source,
            f"the image metadata ({claim.source.replace('_', ' ')}) names '{claim.holder}', not the company, "
            "and no license for this image is registered",
        ))
    if facts.gps_source:
        found.append(_on_medium(
            IMAGE_GPS, media_index, facts.gps_source,
            "the image metadata holds GPS coordinates of where it was taken; publish the stripped copy instead",
        ))
    if licensed and match.image.licensor and not _names_company(match.image.licensor, company_names):
        names = [match.image.licensor, *(claim.holder for claim in facts.rights_claims)]
        if not credits_source(text, names):
            found.append(_on_medium(
                REPOST_UNATTRIBUTED, media_index, "licensed_without_credit",
                f"licensed from {match.image.licensor} (registry #{match.image.id}) but the post credits nobody",
            ))
    return found


def _on_medium(entity: str, media_index: int, kind: str, detail: str) -> Detection:
    return Detection(entity, 0, 0, kind=kind, media_index=media_index, detail=detail)


# --- a copy without metadata ------------------------------------------------------------------------

@dataclass(frozen=True)
class StrippedImage:
    content: bytes
    media_type: str  # image/jpeg or image/png


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_METADATA_CHUNKS = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}
_JPEG_APP0, _JPEG_APP1, _JPEG_APP2, _JPEG_APP15 = 0xE0, 0xE1, 0xE2, 0xEF
_JPEG_COM, _JPEG_SOS, _JPEG_EOI = 0xFE, 0xDA, 0xD9


def strip_metadata(data: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> StrippedImage:
    """A copy with EXIF, XMP, GPS, IPTC and comments removed and the pixels untouched.

    JPEG and PNG are rewritten segment by segment without decoding, so not one pixel changes; the
    colour profile stays, and a JPEG keeps only its Orientation so it still displays upright. Other
    formats are decoded (orientation applied) and re-encoded losslessly as PNG. The result is read
    back and checked; raises ImageRejected for anything open_image refuses.
    """
    image = open_image(data, limits)
    try:
        image_format = image.format
        orientation = image.getexif().get(ExifTags.Base.Orientation)
        frames = getattr(image, "n_frames", 1)
        if frames > limits.max_frames:
            raise ImageRejected("too_many_frames", f"{frames} frames is more than the {limits.max_frames} accepted",
                                limit="max_frames", limit_value=limits.max_frames)
        if frames * image.size[0] * image.size[1] > limits.max_pixels_per_request:  # an animation is decoded frame by frame
            raise ImageRejected(
                "too_many_pixels", f"{frames} frames of {image.size[0]}x{image.size[1]} pixels is more than the "
                f"{limits.max_pixels_per_request:,} accepted", limit="max_pixels_per_request", limit_value=limits.max_pixels_per_request,
            )
        try:
            if image_format == "JPEG":
                stripped = StrippedImage(_strip_jpeg(bytes(data), orientation), "image/jpeg")
            elif image_format == "PNG":
                stripped = StrippedImage(_strip_png(bytes(data)), "image/png")
            else:
                stripped = StrippedImage(_reencode_png(image), "image/png")
        except (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError) as exc:
            raise ImageRejected("corrupt", f"the image cannot be rewritten: {exc}") from None
    finally:
        image.close()
    if _still_has_metadata(stripped.content, limits):
        image = open_image(data, limits)
        try:
            stripped = StrippedImage(_reencode_png(image), "image/png")
        finally:
            image.close()
    return stripped


def _strip_jpeg(data: bytes, orientation: int | None) -> bytes:
    """Keep APP0 (JFIF), APP2 (ICC profile), the tables, frames and scans; drop APP1/APP3-15, COM and trailing bytes."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG stream")
    out = bytearray(b"\xff\xd8")
    if orientation and orientation != 1:
        exif = Image.Exif()
        exif[ExifTags.Base.Orientation] = orientation
        payload = exif.tobytes()
        out += bytes([0xFF, _JPEG_APP1]) + struct.pack(">H", len(payload) + 2) + payload
    position = 2
    while position + 1 < len(data):
        if data[position] != 0xFF:
            raise ValueError(f"no JPEG marker at byte {position}")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker == _JPEG_EOI:
            out += b"\xff\xd9"
            return bytes(out)
        if marker in _JPEG_STANDALONE:
            out += data[position:position + 2]
            position += 2
            continue
        if position + 4 > len(data):
            raise ValueError("the JPEG ends inside a segment header")
        (length,) = struct.unpack(">H", data[position + 2:position + 4])
        end = position + 2 + length
        if length < 2 or end > len(data):
            raise ValueError("a JPEG segment runs past the end of the file")
        metadata = marker == _JPEG_COM or (_JPEG_APP0 < marker <= _JPEG_APP15 and marker != _JPEG_APP2)
        if not metadata:
            out += data[position:end]
        position = end
        if marker == _JPEG_SOS:  # entropy-coded pixels follow, up to the next real marker: copied as they are
            next_marker = _next_jpeg_marker(data, position)
            out += data[position:next_marker]
            position = next_marker
    raise ValueError("the JPEG has no end-of-image marker")


def _next_jpeg_marker(data: bytes, position: int) -> int:
    """In scan data 0xFF is followed by 0x00 (a stuffed byte), a restart marker, or the next segment."""
    while True:
        found = data.find(b"\xff", position)
        if found < 0 or found + 1 >= len(data):
            raise ValueError("the JPEG scan data has no end")
        following = data[found + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            position = found + 2
        elif following == 0xFF:
            position = found + 1
        else:
            return found


def _strip_png(data: bytes) -> bytes:
    """Copy every chunk but the textual and EXIF ones (tEXt, zTXt, iTXt with XMP, eXIf, tIME)."""
    if data[:8] != _PNG_SIGNATURE:
        raise ValueError("not a PNG stream")
    out = bytearray(_PNG_SIGNATURE)
    position = 8
    while position + 8 <= len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        chunk_type = data[position + 4:position + 8]
        end = position + 12 + length
        if end > len(data):
            raise ValueError("a PNG chunk runs past the end of the file")
        if chunk_type not in _PNG_METADATA_CHUNKS:
            out += data[position:end]
        position = end
        if chunk_type == b"IEND":
            return bytes(out)
    raise ValueError("the PNG has no IEND chunk")


def _reencode_png(image: Image.Image) -> bytes:
    """Decode and write as PNG with nothing but pixels (every frame of a GIF/WebP animation)."""
    buffer = io.BytesIO()
    if image.format in ("GIF", "WEBP") and getattr(image, "n_frames", 1) > 1:
        frames = []
        for index in range(image.n_frames):
            image.seek(index)
            frames.append(_pixels_only(image.convert("RGBA")))
        frames[0].save(buffer, "PNG", save_all=True, append_images=frames[1:], duration=image.info.get("duration", 100))
        return buffer.getvalue()
    upright = ImageOps.exif_transpose(image)  # the first frame of an MPO/TIFF is the picture
    if upright.mode not in ("1", "L", "LA", "I", "I;16", "RGB", "RGBA"):
        has_alpha = "A" in upright.getbands() or "transparency" in upright.info
        upright = upright.convert("RGBA" if has_alpha else "RGB")
    _pixels_only(upright).save(buffer, "PNG")
    return buffer.getvalue()


def _pixels_only(image: Image.Image) -> Image.Image:
    """Pillow carries metadata in .info from decoder to encoder; a stripped copy must not."""
    image.info = {}
    return image


def _still_has_metadata(content: bytes, limits: ImageLimits) -> bool:
    image = open_image(content, limits)
    try:
        claims, gps_source = _read_metadata(image)
        exif_tags = set(image.getexif()) - {ExifTags.Base.Orientation}
        return bool(claims or gps_source or exif_tags or _raw_xmp(image) or image.info.get("comment"))
    finally:
        image.close()
