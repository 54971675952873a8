"""A copy of an image without metadata (EXIF, XMP, GPS, IPTC, comments), its pixels untouched where possible."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from PIL import ExifTags, Image, ImageOps

from govern.policy.images.decoding import open_image
from govern.policy.images.limits import DEFAULT_LIMITS, ImageLimits, ImageRejected
from govern.policy.images.metadata import raw_xmp, read_metadata


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
        claims, gps_source = read_metadata(image)
        exif_tags = set(image.getexif()) - {ExifTags.Base.Orientation}
        return bool(claims or gps_source or exif_tags or raw_xmp(image) or image.info.get("comment"))
    finally:
        image.close()
