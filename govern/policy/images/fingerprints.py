"""Fingerprints of an image (sha256, a pHash in all eight orientations, size, metadata) and matching the registry."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

import imagehash
import numpy as np
from PIL import Image

from govern.policy.images.decoding import open_image
from govern.policy.images.limits import DEFAULT_LIMITS, ImageLimits, ImageRejected
from govern.policy.images.metadata import RightsClaim, read_metadata
from govern.policy.models import RightsStatus

# A pHash is 64 bits; re-encoding and resizing move a handful of them, a different picture about half.
MATCH_DISTANCE = 10
HASH_BITS = 64


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


def fingerprint(data: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> ImageFingerprint:
    """Hash, measure and read the metadata of one image; raises ImageRejected for anything else."""
    image = open_image(data, limits)
    try:
        claims, gps_source = read_metadata(image)
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
