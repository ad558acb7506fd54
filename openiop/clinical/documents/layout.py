"""The layout every issued document shares (ReportLab).

A letterhead with the site's name and address and the document's title on every page, the
patient identification block and the "prepared for" block at the top of the first page, and
on every page a footer with the 42 CFR Part 2 notice against redisclosure, the time the
document was generated (in the site's time zone) and "Page X of Y".

Builders hand ``render`` a ``DocumentContext`` and a list of flowables made with the helpers
here; text from the database always goes through ``para`` so that it is escaped.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from openiop.lib.dates import zone

# 42 CFR §2.32 (as amended in 2024): each disclosure made with the patient's written consent
# carries a notice that the record is protected by Part 2, that it may not be used or
# disclosed further unless the consent expressly permits it or Part 2 otherwise allows it,
# and that it may not be used to investigate or prosecute the patient or in proceedings
# against the patient. The wording is ours; the elements are the regulation's.
PART2_NOTICE_TITLE = "Confidential: protected by federal law (42 CFR Part 2)"
PART2_NOTICE = (
    "This information has been disclosed to you from records protected by federal "
    "confidentiality rules (42 CFR Part 2). Those rules prohibit you from making any further "
    "use or disclosure of it (redisclosure) unless the written consent of the patient it "
    "concerns expressly permits it or 42 CFR Part 2 otherwise allows it. A general "
    "authorization to release medical or other information is not sufficient for this "
    "purpose. Neither this information nor testimony describing it may be used to "
    "investigate or prosecute the patient for a crime, or in any civil, criminal, "
    "administrative or legislative proceeding against the patient, unless the patient "
    "consents in writing or a court orders it under 42 CFR 2.64 or 2.65."
)

PAGE_WIDTH, PAGE_HEIGHT = LETTER
MARGIN = 0.75 * inch
HEADER_HEIGHT = 0.85 * inch
FOOTER_HEIGHT = 1.25 * inch
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN

INK = colors.HexColor("#1f2937")
MUTED = colors.HexColor("#5b6472")
RULE = colors.HexColor("#9aa3ad")
SHADE = colors.HexColor("#eef1f4")

_base = getSampleStyleSheet()
STYLES: dict[str, ParagraphStyle] = {
    "body": ParagraphStyle(
        "body", parent=_base["Normal"], fontName="Helvetica", fontSize=10, leading=13.5
    ),
    "small": ParagraphStyle(
        "small", parent=_base["Normal"], fontName="Helvetica", fontSize=8.5, leading=11
    ),
    "muted": ParagraphStyle(
        "muted",
        parent=_base["Normal"],
        fontName="Helvetica",
        fontSize=8.5,
        leading=11,
        textColor=MUTED,
    ),
    "title": ParagraphStyle(
        "title",
        parent=_base["Title"],
        fontName="Helvetica-Bold",
        fontSize=16,
        leading=20,
        alignment=0,
        spaceAfter=6,
        textColor=INK,
    ),
    "h2": ParagraphStyle(
        "h2",
        parent=_base["Heading2"],
        fontName="Helvetica-Bold",
        fontSize=12,
        leading=15,
        spaceBefore=10,
        spaceAfter=4,
        textColor=INK,
    ),
    "h3": ParagraphStyle(
        "h3",
        parent=_base["Heading3"],
        fontName="Helvetica-Bold",
        fontSize=10.5,
        leading=13.5,
        spaceBefore=6,
        spaceAfter=2,
        textColor=INK,
    ),
    "cell": ParagraphStyle(
        "cell", parent=_base["Normal"], fontName="Helvetica", fontSize=9, leading=11.5
    ),
    "cell_bold": ParagraphStyle(
        "cell_bold", parent=_base["Normal"], fontName="Helvetica-Bold", fontSize=9, leading=11.5
    ),
    "cell_right": ParagraphStyle(
        "cell_right",
        parent=_base["Normal"],
        fontName="Helvetica",
        fontSize=9,
        leading=11.5,
        alignment=TA_RIGHT,
    ),
    "notice_title": ParagraphStyle(
        "notice_title", fontName="Helvetica-Bold", fontSize=7.5, leading=9, textColor=INK
    ),
    "notice": ParagraphStyle("notice", fontName="Helvetica", fontSize=7, leading=8.4),
}


@dataclass(frozen=True)
class DocumentContext:
    """Who the document is about, where it comes from, for whom, and when it was made."""

    title: str
    site_name: str
    site_address: str
    time_zone: str
    patient_name: str
    patient_legal_name: str
    patient_born_on: date
    patient_mrn: str
    recipient: str
    purpose: str
    basis: str
    issued_by: str
    generated_at: datetime


def local(moment: datetime, time_zone: str) -> datetime:
    return timezone.localtime(moment, timezone=zone(time_zone))


def fmt_date(day: date | None) -> str:
    return f"{day:%b} {day.day}, {day.year}" if day else "—"


def fmt_time(moment: datetime | None, time_zone: str) -> str:
    """``Nov 3, 2026 9:05 AM CST`` in the site's time zone."""
    if moment is None:
        return "—"
    at = local(moment, time_zone)
    hour = at.hour % 12 or 12
    return f"{fmt_date(at.date())} {hour}:{at:%M} {'AM' if at.hour < 12 else 'PM'} {at:%Z}"


def fmt_clock(moment: datetime, time_zone: str) -> str:
    at = local(moment, time_zone)
    hour = at.hour % 12 or 12
    return f"{hour}:{at:%M} {'AM' if at.hour < 12 else 'PM'}"


def fmt_hours(minutes: int) -> str:
    """Minutes as decimal hours, two places at most: 150 → "2.5", 50 → "0.83", 0 → "0"."""
    text = f"{minutes / 60:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def text(value: object) -> str:
    """Escape text for a Paragraph and keep its line breaks."""
    return escape(str(value)).replace("\r\n", "\n").replace("\n", "<br/>")


def para(value: object, style: str = "body") -> Paragraph:
    return Paragraph(text(value), STYLES[style])


def markup(value: str, style: str = "body") -> Paragraph:
    """A Paragraph of trusted markup (built here, with data already escaped by ``text``)."""
    return Paragraph(value, STYLES[style])


def heading(value: str, level: int = 2) -> Paragraph:
    return para(value, f"h{level}")


def narrative(value: str, *, empty: str = "Not documented.") -> Paragraph:
    return para(value.strip(), "body") if value.strip() else para(empty, "muted")


def fields(rows: Sequence[tuple[str, object]], *, label_width: float = 1.7 * inch) -> Table:
    """A two-column label/value block."""
    data = [
        [para(label, "cell_bold"), value if isinstance(value, Flowable) else para(value, "cell")]
        for label, value in rows
    ]
    table = Table(data, colWidths=[label_width, CONTENT_WIDTH - label_width], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    return table


def grid(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    widths: Sequence[float],
    *,
    right: Sequence[int] = (),
    total: Sequence[object] | None = None,
) -> Table:
    """A ruled table with a shaded header row (repeated on each page) and an optional total."""

    def cell(value: object, index: int, bold: bool = False) -> Flowable:
        if isinstance(value, Flowable):
            return value
        style = "cell_right" if index in right else ("cell_bold" if bold else "cell")
        return para(value, style)

    data: list[list[Any]] = [[para(label, "cell_bold") for label in header]]
    data += [[cell(value, i) for i, value in enumerate(row)] for row in rows]
    if total is not None:
        data.append([cell(value, i, bold=True) for i, value in enumerate(total)])
    scale = CONTENT_WIDTH / sum(widths)
    table = Table(data, colWidths=[w * scale for w in widths], repeatRows=1, hAlign="LEFT")
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("LINEBELOW", (0, 0), (-1, 0), 0.75, RULE),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if total is not None:
        style += [
            ("LINEABOVE", (0, -1), (-1, -1), 0.75, INK),
            ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
        ]
    table.setStyle(TableStyle(style))
    return table


def _identification(ctx: DocumentContext) -> list[Flowable]:
    name = ctx.patient_name
    if ctx.patient_legal_name and ctx.patient_legal_name != ctx.patient_name:
        name = f"{ctx.patient_name} (legal name {ctx.patient_legal_name})"
    return [
        para(ctx.title, "title"),
        fields(
            [
                ("Patient", name),
                ("Date of birth", fmt_date(ctx.patient_born_on)),
                ("MRN", ctx.patient_mrn),
            ]
        ),
        Spacer(1, 6),
        fields(
            [
                ("Prepared for", ctx.recipient),
                ("Purpose", ctx.purpose),
                ("Basis of disclosure", ctx.basis),
                ("Issued by", ctx.issued_by),
            ]
        ),
        Spacer(1, 8),
    ]


class _NumberedCanvas(Canvas):
    """Holds each page until the end so every footer can say "Page X of Y"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont("Helvetica", 8)
            self.setFillColor(MUTED)
            self.drawRightString(
                PAGE_WIDTH - MARGIN, MARGIN - 12, f"Page {self._pageNumber} of {total}"
            )
            super().showPage()
        super().save()


def _frame(ctx: DocumentContext) -> Any:
    generated = f"Generated {fmt_time(ctx.generated_at, ctx.time_zone)} by {ctx.issued_by}"
    notice = [
        Paragraph(escape(PART2_NOTICE_TITLE), STYLES["notice_title"]),
        Paragraph(escape(PART2_NOTICE), STYLES["notice"]),
    ]
    address = [line.strip() for line in ctx.site_address.splitlines() if line.strip()]

    def draw(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        # Letterhead.
        top = PAGE_HEIGHT - MARGIN
        canvas.setFillColor(INK)
        canvas.setFont("Helvetica-Bold", 13)
        canvas.drawString(MARGIN, top - 10, ctx.site_name)
        canvas.setFont("Helvetica", 8.5)
        canvas.setFillColor(MUTED)
        for index, line in enumerate(address[:3]):
            canvas.drawString(MARGIN, top - 23 - index * 10, line)
        canvas.setFillColor(INK)
        canvas.setFont("Helvetica-Bold", 9)
        canvas.drawRightString(PAGE_WIDTH - MARGIN, top - 10, ctx.title)
        canvas.setFont("Helvetica", 8.5)
        canvas.drawRightString(
            PAGE_WIDTH - MARGIN, top - 23, f"{ctx.patient_name} · MRN {ctx.patient_mrn}"
        )
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.75)
        rule_y = PAGE_HEIGHT - MARGIN - HEADER_HEIGHT + 12
        canvas.line(MARGIN, rule_y, PAGE_WIDTH - MARGIN, rule_y)
        # Footer: the Part 2 notice on every page, then when and the page number.
        bottom = MARGIN
        canvas.line(
            MARGIN, bottom + FOOTER_HEIGHT - 8, PAGE_WIDTH - MARGIN, bottom + FOOTER_HEIGHT - 8
        )
        y = bottom + FOOTER_HEIGHT - 14
        for paragraph in notice:
            _, height = paragraph.wrap(CONTENT_WIDTH, FOOTER_HEIGHT)
            y -= height
            paragraph.drawOn(canvas, MARGIN, y)
            y -= 1
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN, bottom - 12, generated)
        canvas.restoreState()

    return draw


def render(ctx: DocumentContext, story: Sequence[Flowable]) -> bytes:
    """The PDF: identification block, then ``story``, laid out in the shared frame."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + HEADER_HEIGHT,
        bottomMargin=MARGIN + FOOTER_HEIGHT,
        title=f"{ctx.title}: {ctx.patient_name}",
        author=ctx.site_name,
        subject=PART2_NOTICE_TITLE,
        creator="OpenIOP",
    )
    draw = _frame(ctx)
    doc.build(
        [*_identification(ctx), *story],
        onFirstPage=draw,
        onLaterPages=draw,
        canvasmaker=_NumberedCanvas,
    )
    return buffer.getvalue()


def signature_block(rows: Sequence[tuple[str, object]]) -> KeepTogether:
    return KeepTogether([heading("Signatures", 2), fields(rows)])
