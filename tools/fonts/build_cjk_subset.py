"""Build ``app/platform/fonts/NotoSansCJK-Subset.ttf``: the Chinese, Japanese and Korean glyphs
the PDFs fall back to for names DejaVu Sans cannot draw.

Source: Noto Sans CJK SC Regular (Google and Adobe, SIL Open Font License 1.1), the pan-CJK
OpenType/CFF file (``NotoSansCJKsc-Regular.otf``, version 1.004). Usage::

    python tools/fonts/build_cjk_subset.py NotoSansCJKsc-Regular.otf

The subset keeps every character of GB 2312, JIS X 0208, KS X 1001 (Hangul and Hanja) and Big5
level 1, the CJK symbols and punctuation, kana, full-width forms, ASCII and the no-break space
(about 14,600 characters, 7.8 MB). Its outlines are converted from CFF to TrueType: WeasyPrint
subsets a TrueType font into a few kilobytes per document and writes it with an Identity-H
encoding that every PDF reader extracts text from (a CFF subset made each PDF 70 KB).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable

TARGET = Path(__file__).resolve().parents[2] / "app/platform/fonts/NotoSansCJK-Subset.ttf"

# (codec, first lead byte, last lead byte, first trail byte, last trail byte)
CHARSETS = [
    ("gb2312", 0xA1, 0xF7, 0xA1, 0xFE),
    ("euc_jp", 0xA1, 0xF4, 0xA1, 0xFE),
    ("euc_kr", 0xA1, 0xFD, 0xA1, 0xFE),
    ("big5", 0xA4, 0xC6, 0x40, 0xFE),
]
RANGES = [(0x20, 0x7E), (0xA0, 0xA0), (0x3000, 0x30FF), (0xFF00, 0xFFEF)]


def characters() -> set[str]:
    chars: set[str] = set()
    for codec, lead_lo, lead_hi, trail_lo, trail_hi in CHARSETS:
        for lead in range(lead_lo, lead_hi + 1):
            for trail in range(trail_lo, trail_hi + 1):
                try:
                    chars.add(bytes([lead, trail]).decode(codec))
                except UnicodeDecodeError:
                    continue
    for low, high in RANGES:
        chars.update(chr(code) for code in range(low, high + 1))
    return chars


def to_truetype(font: TTFont) -> None:
    """Replace the CFF outlines by quadratic TrueType ones (in place)."""
    order = font.getGlyphOrder()
    glyphs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for field in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
        "maxComponentDepth",
    ):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    font["head"].indexToLocFormat = 0
    font["head"].glyphDataFormat = 0
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font.sfntVersion = "\x00\x01\x00\x00"


def main(source: str) -> None:
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.hinting = False
    font = subset.load_font(source, options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(characters())))
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)  # reloaded, so that saving recomputes bounds and maxp for the new outlines
    font = TTFont(io.BytesIO(buffer.getvalue()))
    to_truetype(font)
    font.save(TARGET)
    print(f"{TARGET}: {TARGET.stat().st_size:,} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
