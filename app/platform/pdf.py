"""PDF documents that render every name: fonts embedded in the file, and document metadata.

ReportLab's built-in Helvetica is not embedded and covers Latin-1 only, so "Łukasiewicz" lost its
letters. Every PDF uses DejaVu Sans (regular and bold, shipped in ``app/platform/fonts``, licence
beside them), embedded as a subset (``FontFile2``). DejaVu has no Chinese, Japanese or Korean
glyphs, and a CJK font is 10-20 MB: runs of those characters fall back to ReportLab's built-in CID
font ``STSong-Light``, which is not embedded (the viewer supplies the glyphs; the text and its
Unicode mapping are in the file, so it can be searched and copied).

Metadata: title, author, subject, creator and the document language (``/Lang`` in the catalog).
ReportLab (the open-source edition) writes no structure tree (no ``/StructTreeRoot`` or
``/MarkInfo``), so the PDFs are not tagged PDF (PDF/UA); only the language is declared.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

FONT_DIR = Path(__file__).resolve().parent / "fonts"
REGULAR = "DejaVuSans"
BOLD = "DejaVuSans-Bold"
FAMILY = "DejaVuSans"
CJK_FALLBACK = "STSong-Light"
# Han, kana, Hangul and their punctuation and full-width forms: drawn with the CJK fallback.
CJK_RUN = re.compile(
    "[\u2e80-\u2fdf\u3000-\u30ff\u3100-\u31ff\u3200-\u9fff\uac00-\ud7af\uf900-\ufaff"
    "\uff00-\uffef\U00020000-\U0002fa1f]+"
)

# A table sets its cells' font even when every cell is a paragraph: without this style command
# each table pulls in Helvetica.
TABLE_FONT = ("FONTNAME", (0, 0), (-1, -1), REGULAR)


def register_fonts() -> None:
    """Register the embedded fonts and the CJK fallback with ReportLab (once per process)."""
    # Lazy: ReportLab costs ~80 ms to import and only receipts and reports use it.
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    if REGULAR in pdfmetrics.getRegisteredFontNames():
        return
    pdfmetrics.registerFont(TTFont(REGULAR, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FALLBACK))
    # <b> in a paragraph picks the bold face; there is no italic face, so <i> stays upright.
    addMapping(FAMILY, 0, 0, REGULAR)
    addMapping(FAMILY, 1, 0, BOLD)
    addMapping(FAMILY, 0, 1, REGULAR)
    addMapping(FAMILY, 1, 1, BOLD)


def stylesheet():
    """ReportLab's sample styles, set in the embedded fonts (headings and titles bold)."""
    # Lazy: ReportLab costs ~80 ms to import and only receipts and reports use it.
    from reportlab.lib.styles import getSampleStyleSheet

    register_fonts()
    styles = getSampleStyleSheet()
    for name in styles.byName:
        style = styles[name]
        if not hasattr(style, "fontName"):
            continue
        bold = "Bold" in style.fontName or name.startswith(("Heading", "Title"))
        style.fontName = BOLD if bold else REGULAR
    return styles


def markup(text: str) -> str:
    """``text`` as paragraph markup: escaped, with CJK runs set in the fallback font."""
    return CJK_RUN.sub(
        lambda run: f'<font name="{CJK_FALLBACK}">{run.group(0)}</font>', escape(text)
    )


def document(buffer: io.BytesIO, *, title: str, author: str, language: str, **options: Any):
    """A platypus document in ``buffer`` with its metadata, drawn in the embedded fonts."""
    # Lazy: ReportLab costs ~80 ms to import and only receipts and reports use it.
    from reportlab.platypus import SimpleDocTemplate

    register_fonts()
    return SimpleDocTemplate(
        buffer,
        title=title,
        author=author,
        creator="ParkMind",
        lang=language,
        initialFontName=REGULAR,
        **options,
    )
