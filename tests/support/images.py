"""Deterministic pictures for the media tests: shapes on a background, encoded in any format Pillow writes."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw


def picture(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A deterministic picture with enough structure for a perceptual hash: shapes on a background."""
    rnd = random.Random(seed)
    image = Image.new("RGB", size, tuple(rnd.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x0, y0 = rnd.randrange(size[0]), rnd.randrange(size[1])
        box = (x0, y0, x0 + rnd.randrange(20, 150), y0 + rnd.randrange(20, 120))
        shape = draw.ellipse if rnd.random() < 0.5 else draw.rectangle
        shape(box, fill=tuple(rnd.randrange(256) for _ in range(3)))
    return image


def encode(image: Image.Image, image_format: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()
