"""Opening untrusted bytes as an image: only the allowed decoders, and refused before decoding when too large."""

from __future__ import annotations

import io
import struct

from PIL import Image, UnidentifiedImageError

from govern.policy.images.limits import DEFAULT_LIMITS, ImageLimits, ImageRejected

# Only these decoders ever see untrusted bytes: no EPS (it runs Ghostscript), no exotic plugins.
ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")  # a multi-picture JPEG opens as "MPO"


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
