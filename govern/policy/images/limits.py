"""What an attachment may cost before it is refused, and the refusal; importable without loading the imaging library."""

from __future__ import annotations

from dataclasses import dataclass


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
