"""PDF documents: an HTML template rendered by WeasyPrint as tagged PDF (PDF/UA-1), every font
embedded.

Tagged: the file carries a structure tree (``/StructTreeRoot``, ``/MarkInfo``) built from the
HTML: headings, paragraphs, tables with their header cells, figures with their alternative
text, in reading order; the document language (``/Lang``) and title (shown as the window title)
come from ``<html lang>`` and ``<title>``. A screen reader reads a receipt or a report as a
document, not as loose text.

Fonts: DejaVu Sans (regular and bold) draws Latin, Greek, Cyrillic, Hebrew and Arabic letters;
Chinese, Japanese and Korean characters fall back to a subset of Noto Sans CJK (about 14,600
characters of GB 2312, JIS X 0208, KS X 1001 and Big5 level 1; ``tools/fonts``). Both ship in
``app/platform/fonts`` (licences beside them) and only the glyphs a document uses are embedded
(``FontFile2``), so "Zoë Łukasiewicz 李雷" renders in any viewer and can be searched and copied.

WeasyPrint draws text with Pango (a system library, present with the GTK stack on Debian and
Ubuntu; ``README.md`` lists it); it is imported only when a PDF is rendered.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from flask import render_template

FONT_DIR = Path(__file__).resolve().parent / "fonts"
SANS = "ParkMind Sans"  # DejaVu Sans, under a name no system font has
CJK = "ParkMind CJK"  # the Noto Sans CJK subset

STYLESHEET = f"""
@font-face {{ font-family: "{SANS}"; src: url("{(FONT_DIR / "DejaVuSans.ttf").as_uri()}"); }}
@font-face {{
  font-family: "{SANS}"; font-weight: bold;
  src: url("{(FONT_DIR / "DejaVuSans-Bold.ttf").as_uri()}");
}}
@font-face {{ font-family: "{CJK}"; src: url("{(FONT_DIR / "NotoSansCJK-Subset.ttf").as_uri()}"); }}
@page {{ size: A4; margin: 20mm; }}
html {{ font-family: "{SANS}", "{CJK}"; font-size: 10pt; line-height: 1.35; color: #1a1a1a; }}
h1 {{ font-size: 18pt; margin: 0 0 4mm; }}
h2 {{ font-size: 14pt; margin: 6mm 0 3mm; }}
h3 {{ font-size: 12pt; margin: 6mm 0 2mm; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 0.5pt solid #b0b8c4; padding: 4pt 6pt; text-align: left; vertical-align: top; }}
th {{ background: #e8eef7; }}
table.figures th[scope="row"] {{ background: none; font-weight: normal; }}
th[scope="row"] {{ width: 55mm; }}
figure {{ margin: 4mm 0; }}
figure img {{ width: 440px; }}
.note {{ color: #57606a; }}
"""


class _QuietSubsetting(logging.Filter):
    """WeasyPrint warns on every document that it subsets fonts with fontTools because the
    system's HarfBuzz-Subset library is missing (Debian's ``libharfbuzz-subset0``, faster); the
    output is the same, so the warning is said once in the README instead of in every log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "HarfBuzz-Subset" not in record.getMessage()


logging.getLogger("weasyprint").addFilter(_QuietSubsetting())
# Each document would otherwise log a dozen INFO lines of progress and ~60 of font subsetting.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
logging.getLogger("fontTools").setLevel(logging.WARNING)
warnings.filterwarnings("ignore", message="HarfBuzz-Subset will be required")


def render_pdf(
    template: str, *, title: str, author: str, subject: str, language: str, **context: Any
) -> bytes:
    """``template`` (under ``templates/pdf/``) as a tagged PDF/UA-1 document with its metadata:
    title, author, subject, creator ``ParkMind`` and the document language."""
    # Lazy: WeasyPrint loads Pango through cffi, and only receipts and reports are PDFs.
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    html = render_template(
        f"pdf/{template}",
        title=title,
        author=author,
        subject=subject,
        language=language,
        **context,
    )
    # One font configuration per document: nothing is shared between threads.
    fonts = FontConfiguration()
    return HTML(string=html).write_pdf(
        stylesheets=[CSS(string=STYLESHEET, font_config=fonts)],
        font_config=fonts,
        pdf_variant="pdf/ua-1",
    )
