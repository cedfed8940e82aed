"""The score trend as a PNG, for e-mail (Gmail and Outlook strip inline SVG, and every mail
client shows an inline PNG) and as the tagged PDF's figure. Drawn with Pillow."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from app.platform.pdf import FONT_DIR

# Drawn at twice the size it is shown (440 x 180 CSS pixels) so it stays sharp on dense screens.
SCALE = 2
WIDTH, HEIGHT = 440 * SCALE, 180 * SCALE
LEFT, RIGHT, TOP, BOTTOM = 40 * SCALE, 20 * SCALE, 25 * SCALE, 25 * SCALE
LINE, GRID, INK = (31, 111, 235), (208, 215, 222), (26, 26, 26)
X_STEPS, Y_STEPS = (1, 8, 15, 22, 29), (0, 25, 50, 75, 100)


def score_chart_png(points: Sequence[tuple[float, float]], *, caption: str, empty: str) -> bytes:
    """Scores (day of month 1..31, score 0..100) as a line chart; ``empty`` when there are none."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT_DIR / "DejaVuSans.ttf"), 10 * SCALE)
    if not points:
        draw.text((10 * SCALE, HEIGHT / 2), empty, fill=INK, font=font, anchor="lm")
        return _png(image)
    left, right, top, bottom = LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM

    def x_of(day: float) -> float:
        return left + (day - 1) / 30 * (right - left)

    def y_of(score: float) -> float:
        return bottom - max(0.0, min(100.0, score)) / 100 * (bottom - top)

    draw.text((left, 4 * SCALE), caption, fill=INK, font=font)
    for score in Y_STEPS:
        y = y_of(score)
        draw.line([(left, y), (right, y)], fill=GRID, width=1)
        draw.text((left - 4 * SCALE, y), str(score), fill=INK, font=font, anchor="rm")
    for day in X_STEPS:
        draw.text((x_of(day), bottom + 4 * SCALE), str(day), fill=INK, font=font, anchor="mt")
    draw.line([(left, top), (left, bottom), (right, bottom)], fill=INK, width=SCALE)
    xy = [(x_of(day), y_of(score)) for day, score in points]
    if len(xy) > 1:
        draw.line(xy, fill=LINE, width=2 * SCALE, joint="curve")
    radius = 3 * SCALE
    for x, y in xy:
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=LINE)
    return _png(image)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
