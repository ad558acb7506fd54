"""Importing a laboratory's results file (CSV) onto the site's collected screens.

One row per analyte result. Columns (header row required, names case-insensitive, spaces or
hyphens read as underscores, columns in any order, other columns ignored; docs/screening.md
shows an example):

=============  =====================================================  ========================
column         meaning                                                also accepted as
=============  =====================================================  ========================
specimen_id    the specimen id written on the cup at collection       specimen, accession,
                                                                      accession_number,
                                                                      sample_id
screen_id      the screen's number in OpenIOP (instead of specimen)   screen
analyte        catalogue code (``fentanyl``) or name (``Fentanyl``)   test, drug
method         presumptive or confirmatory (blank: presumptive)       also screen, immunoassay,
                                                                      confirmation, lc-ms/ms
result         positive, negative or inconclusive                     pos, detected, neg,
                                                                      not detected, nd, inc
value          concentration in ng/mL (optional)                      concentration, level
cutoff         the lab's cutoff in ng/mL (optional; else the panel's) cut_off, threshold
unit           must be ng/mL when given                               units
collected_at   when given, must be the screen's collection day        collected, collection_
                                                                      date, collection_time
=============  =====================================================  ========================

Rows are numbered as a spreadsheet shows them: the header is row 1. **Any bad row rejects the
whole file** — every problem found is listed with its row number — and nothing is written.
A good file is recorded in one transaction, each screen interpreted (and alerting) exactly as
results entered by hand.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from openiop.audit.models import Action
from openiop.audit.services import record_event
from openiop.lib.dates import zone
from openiop.screening.catalog import ANALYTES, Verdict
from openiop.screening.models import DrugScreen, PanelAnalyte, ScreenStatus
from openiop.screening.services_screens import (
    SPECIMEN_ID_MAX_LENGTH,
    CleanResult,
    clean_results,
    local_day,
    lock_screen,
    parse_when,
    store_results,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from openiop.accounts.models import Site, User

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_ERRORS = 20

COLUMNS: dict[str, tuple[str, ...]] = {
    "specimen_id": ("specimen_id", "specimen", "accession", "accession_number", "sample_id"),
    "screen_id": ("screen_id", "screen"),
    "analyte": ("analyte", "test", "drug"),
    "method": ("method",),
    "result": ("result", "outcome"),
    "value": ("value", "concentration", "level"),
    "cutoff": ("cutoff", "cut_off", "threshold"),
    "unit": ("unit", "units"),
    "collected_at": ("collected_at", "collected", "collection_date", "collection_time"),
}
METHODS = {
    "presumptive": "presumptive",
    "screen": "presumptive",
    "immunoassay": "presumptive",
    "": "presumptive",
    "confirmatory": "confirmatory",
    "confirmation": "confirmatory",
    "confirm": "confirmatory",
    "lc-ms/ms": "confirmatory",
    "lcms": "confirmatory",
    "gc-ms": "confirmatory",
}
RESULTS = {
    "positive": "positive",
    "pos": "positive",
    "detected": "positive",
    "negative": "negative",
    "neg": "negative",
    "not detected": "negative",
    "nd": "negative",
    "inconclusive": "inconclusive",
    "inc": "inconclusive",
}
ANALYTE_NAMES = {a.code: a.code for a in ANALYTES} | {a.name.lower(): a.code for a in ANALYTES}


@dataclass
class ImportReport:
    rows: int
    screens: list[DrugScreen] = field(default_factory=list)

    @property
    def unexpected(self) -> list[DrugScreen]:
        return [s for s in self.screens if s.verdict == Verdict.UNEXPECTED.value]


@dataclass
class _Row:
    number: int
    screen_key: tuple[str, str]
    values: dict[str, str]


def _header_name(text: str) -> str:
    return "_".join(text.strip().lower().replace("-", " ").split())


def _read_text(file: Any) -> str:
    # Read one byte past the limit, not the whole of a huge upload.
    raw = file.read(MAX_BYTES + 1) if hasattr(file, "read") else file
    if isinstance(raw, str):
        raw = raw.encode("utf-8", errors="replace")
    if len(raw) > MAX_BYTES:
        raise ValidationError({"file": f"The file is larger than {MAX_BYTES // 1024 // 1024} MB."})
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"file": "The file is not UTF-8 text; export it as CSV."}) from None
    if "\x00" in text:
        # PostgreSQL cannot store (nor look up) text with NUL; a spreadsheet never writes one.
        row = text.count("\n", 0, text.index("\x00")) + 1
        raise ValidationError(
            {"file": f"Row {row}: a NUL character (\\0); the file is not a text CSV."}
        )
    return text


def _columns(header: list[str]) -> dict[str, int]:
    positions: dict[str, int] = {}
    names = [_header_name(cell) for cell in header]
    for column, aliases in COLUMNS.items():
        for index, name in enumerate(names):
            if name in aliases:
                positions.setdefault(column, index)
    missing = [c for c in ("analyte", "result") if c not in positions]
    if "specimen_id" not in positions and "screen_id" not in positions:
        missing.insert(0, "specimen_id (or screen_id)")
    if missing:
        raise ValidationError({"file": f"Row 1 (the header) has no {', '.join(missing)} column."})
    return positions


def _parse(text: str) -> list[_Row]:
    if not text.strip():
        raise ValidationError({"file": "The file is empty."})
    try:
        dialect: Any = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        records = list(reader)
    except csv.Error as exc:
        raise ValidationError({"file": f"Row {reader.line_num}: {exc}."}) from None
    positions = _columns(records[0])
    rows: list[_Row] = []
    errors: list[str] = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        values = {
            column: (record[index].strip() if index < len(record) else "")
            for column, index in positions.items()
        }
        specimen, screen = values.get("specimen_id", ""), values.get("screen_id", "")
        if screen:
            key = ("screen", screen.lstrip("#"))
        elif specimen:
            key = ("specimen", " ".join(specimen.split()))
        else:
            errors.append(f"Row {number}: no specimen id or screen number.")
            continue
        rows.append(_Row(number, key, values))
    if len(rows) > MAX_ROWS:
        raise ValidationError({"file": f"At most {MAX_ROWS:,} rows per file."})
    if errors:
        raise ValidationError({"file": errors[:MAX_ERRORS]})
    if not rows:
        raise ValidationError({"file": "The file has a header but no results."})
    return rows


def _screen_number(text: str) -> int:
    """The screen number in ``text``, 0 when it is none ("²" is a digit but no number)."""
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return 0
    return int(text)


def _screens(site: Site, rows: list[_Row]) -> dict[tuple[str, str], DrugScreen]:
    ids = {_screen_number(k[1]) for k in (r.screen_key for r in rows) if k[0] == "screen"}
    specimens = {r.screen_key[1] for r in rows if r.screen_key[0] == "specimen"}
    found = DrugScreen.objects.filter(site=site).filter(
        Q(pk__in=[i for i in ids if 0 < i < 2**63])
        | Q(specimen_id__in=[s for s in specimens if len(s) <= SPECIMEN_ID_MAX_LENGTH])
    )
    by_key: dict[tuple[str, str], DrugScreen] = {}
    for screen in found.select_related("site", "patient", "panel"):
        by_key[("screen", str(screen.pk))] = screen
        if screen.specimen_id:
            by_key[("specimen", screen.specimen_id)] = screen
    return by_key


def _cutoffs(panel_ids: set[int]) -> dict[int, dict[str, tuple[Decimal | None, Decimal]]]:
    cutoffs: dict[int, dict[str, tuple[Decimal | None, Decimal]]] = defaultdict(dict)
    for row in PanelAnalyte.objects.filter(panel_id__in=panel_ids).only(
        "panel_id", "analyte", "screen_cutoff", "confirm_cutoff"
    ):
        cutoffs[row.panel_id][row.analyte] = (row.screen_cutoff, row.confirm_cutoff)
    return cutoffs


def _row_problem(row: _Row, screen: DrugScreen | None) -> str | None:
    what = (
        f"specimen id {row.screen_key[1]}"
        if row.screen_key[0] == "specimen"
        else (f"screen #{row.screen_key[1]}")
    )
    if screen is None:
        return f"no screen at this site has {what}."
    if screen.status != ScreenStatus.COLLECTED:
        return f"{what} is not recorded as collected; record the collection first."
    unit = row.values.get("unit", "")
    if unit and unit.replace(" ", "").lower() not in ("ng/ml", "ngml"):
        return f"unit “{unit[:20]}”: values must be in ng/mL."
    if row.values.get("collected_at"):
        try:
            when = parse_when(row.values["collected_at"], screen.site.time_zone)
        except ValueError:
            return f"collected_at “{row.values['collected_at'][:30]}” is not a date and time."
        day = when.astimezone(zone(screen.site.time_zone)).date()
        if day != local_day(screen):
            return (
                f"collected on {day:%Y-%m-%d} per the file, but {what} was collected on "
                f"{local_day(screen):%Y-%m-%d}: is it the right specimen?"
            )
    return None


def _result_dict(row: _Row) -> dict[str, Any] | str:
    analyte = row.values.get("analyte", "")
    code = ANALYTE_NAMES.get(analyte.strip().lower(), analyte)
    method = METHODS.get(row.values.get("method", "").strip().lower())
    if method is None:
        return f"method “{row.values.get('method', '')[:20]}” is not presumptive or confirmatory."
    result = RESULTS.get(" ".join(row.values.get("result", "").lower().split()))
    if result is None:
        return (
            f"result “{row.values.get('result', '')[:20]}” is not positive, negative or "
            "inconclusive."
        )
    return {
        "analyte": code,
        "method": method,
        "result": result,
        "value": row.values.get("value", ""),
        "cutoff": row.values.get("cutoff", ""),
    }


def _check(site: Site, rows: list[_Row]) -> list[tuple[DrugScreen, list[CleanResult]]]:
    """Every row checked; the cleaned results grouped by screen, or ValidationError."""
    screens = _screens(site, rows)
    cutoffs = _cutoffs({s.panel_id for s in screens.values() if s.panel_id is not None})
    errors: list[str] = []
    grouped: dict[int, tuple[DrugScreen, list[dict[str, Any]], list[str]]] = {}
    for row in rows:
        screen = screens.get(row.screen_key)
        problem = _row_problem(row, screen)
        parsed = _result_dict(row) if problem is None else problem
        if isinstance(parsed, str):
            errors.append(f"Row {row.number}: {parsed}")
            continue
        assert screen is not None  # noqa: S101 - _row_problem said so
        entry = grouped.setdefault(screen.pk, (screen, [], []))
        entry[1].append(parsed)
        entry[2].append(f"Row {row.number}")
    checked: list[tuple[DrugScreen, list[CleanResult]]] = []
    for screen, results, labels in grouped.values():
        try:
            cleaned = clean_results(
                results,
                specimen=screen.specimen,
                cutoffs=cutoffs.get(screen.panel_id or 0, {}),
                labels=labels,
            )
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                label = key.split(".", 1)[0]
                errors.extend(f"{label}: {message}" for message in messages)
            continue
        checked.append((screen, cleaned))
    if errors:
        errors.sort(key=lambda text: int(text.split(":", 1)[0].split()[-1]))
        shown = errors[:MAX_ERRORS]
        if len(errors) > MAX_ERRORS:
            shown.append(f"… and {len(errors) - MAX_ERRORS} more problems.")
        raise ValidationError({"file": shown})
    return checked


@transaction.atomic
def import_lab_csv(
    file: Any, *, site: Site, by: User, request: HttpRequest | None = None
) -> ImportReport:
    """Record a lab's results file onto the site's screens; all rows or none.

    ``file`` is an uploaded file, bytes or text. Bad rows: ValidationError({"file": [one
    message per problem, "Row N: reason"]}). A screen changed by someone else during the
    import: ScreenConflict (nothing written).
    """
    rows = _parse(_read_text(file))
    checked = _check(site, rows)
    report = ImportReport(rows=len(rows))
    for screen, cleaned in checked:
        current = lock_screen(screen, screen.version)
        report.screens.append(
            store_results(current, cleaned, by=by, source="lab_csv", request=request)
        )
    record_event(
        request=request,
        actor=by,
        site=site,
        action=Action.CREATE,
        object_type="lab_results_file",
        detail=f"imported {len(rows)} results onto screens "
        + ", ".join(f"#{s.pk}" for s in report.screens),
    )
    return report
