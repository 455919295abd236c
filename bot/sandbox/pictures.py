"""Pictures the sandbox's fake people and posts use: profile pictures and product photos.

Drawn with Pillow (already a runtime dependency) so the sandbox needs no image
files and no network: a customer's profile picture is a coloured circle, a post
or a customer's photo shows the demo shop's T-shirts and bags.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

PINK, WHITE, BLACK = (244, 143, 177), (250, 250, 250), (48, 48, 48)
_BACKGROUND = (236, 239, 241)
_SHIRT = ((0.30, 0.10), (0.42, 0.06), (0.58, 0.06), (0.70, 0.10), (0.92, 0.28), (0.80, 0.42),
          (0.72, 0.36), (0.72, 0.92), (0.28, 0.92), (0.28, 0.36), (0.20, 0.42), (0.08, 0.28))


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def avatar(colour: tuple[int, int, int], size: int = 96) -> bytes:
    """A profile picture: a head and shoulders in the person's colour."""
    image = Image.new("RGB", (size, size), colour)
    draw = ImageDraw.Draw(image)
    light = tuple(min(255, c + 90) for c in colour)
    draw.ellipse((size * 0.32, size * 0.16, size * 0.68, size * 0.52), fill=light)
    draw.ellipse((size * 0.16, size * 0.58, size * 0.84, size * 1.2), fill=light)
    return _png(image)


def _shirt(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int],
           colour: tuple[int, int, int]) -> None:
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    points = [(left + x * width, top + y * height) for x, y in _SHIRT]
    draw.polygon(points, fill=colour, outline=(120, 120, 120), width=2)


def shirts(colours: tuple[tuple[int, int, int], ...] = (PINK, WHITE, BLACK),
           size: tuple[int, int] = (480, 240)) -> bytes:
    """T-shirts side by side: the demo post's picture, or a customer's photo of one."""
    image = Image.new("RGB", size, _BACKGROUND)
    draw = ImageDraw.Draw(image)
    step = size[0] // len(colours)
    for index, colour in enumerate(colours):
        _shirt(draw, (index * step + 8, 16, (index + 1) * step - 8, size[1] - 8), colour)
    return _png(image)


def bag(size: tuple[int, int] = (320, 320)) -> bytes:
    """A cloth bag with an elephant-ish pattern: the demo Instagram post."""
    image = Image.new("RGB", size, (255, 243, 224))
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.arc((width * 0.32, height * 0.08, width * 0.68, height * 0.45), 180, 360,
             fill=(121, 85, 72), width=10)
    draw.rectangle((width * 0.18, height * 0.26, width * 0.82, height * 0.9),
                   fill=(161, 136, 127), outline=(93, 64, 55), width=4)
    for row in range(3):
        for col in range(3):
            x = width * (0.28 + 0.2 * col)
            y = height * (0.36 + 0.17 * row)
            draw.ellipse((x, y, x + width * 0.1, y + height * 0.08), fill=(239, 235, 233))
    return _png(image)
