"""Finding patients: by name, MRN or date of birth, fast on 100,000 patients.

Names are matched by prefix on the lower-cased ``*_name_key`` columns so an index serves the
search: on PostgreSQL ``LIKE 'abc%'`` uses the ``varchar_pattern_ops`` indexes (migration
0002); on SQLite the columns have the default BINARY collation, where ``LIKE`` (which SQLite
makes case-insensitive) cannot use an index, so the same prefix is written as the range
``key >= 'abc' AND key < 'abd'``, which is exact for code-point-ordered text and uses the
plain b-tree indexes. MRNs are stored upper-case ("OI0000123"), so the query is upper-cased.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from django.db import connections
from django.db.models import Q, QuerySet

from openiop.patients.models import Patient
from openiop.patients.services import MRN_PREFIX, format_mrn

PAGE_SIZE = 25

# Search kinds, recorded in the audit trail instead of the query text (which may be a name).
ALL = "all"
NAME = "name"
MRN = "mrn"
DOB = "date of birth"
INVALID = "invalid"

_ISO_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
_US_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$")
_MRN = re.compile(rf"^{MRN_PREFIX}\d*$", re.IGNORECASE)
_DIGITS = re.compile(r"^\d{1,12}$")
_MAX_QUERY = 100


@dataclass(frozen=True)
class PatientSearch:
    """The patients found (ordered, not yet paginated), what kind of search it was, and a
    message for the person when the query could not be understood."""

    patients: QuerySet[Patient]
    kind: str
    error: str = ""


def _key(text: str) -> str:
    """The same normalisation as ``Patient.refresh_search_keys`` (and the register service)."""
    return " ".join(text.split()).lower()


def _starts_with(field: str, prefix: str, vendor: str) -> Q:
    if vendor == "sqlite":
        # Range form of "starts with" that SQLite's b-tree index can serve (see module doc).
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1) if ord(prefix[-1]) < 0x10FFFF else None
        condition = Q(**{f"{field}__gte": prefix})
        if upper is not None:
            condition &= Q(**{f"{field}__lt": upper})
        return condition
    return Q(**{f"{field}__startswith": prefix})


def _parse_date(text: str) -> date | None:
    for pattern, fmt in ((_ISO_DATE, "%Y-%m-%d"), (_US_DATE, "%m/%d/%Y")):
        if pattern.match(text):
            try:
                return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date
            except ValueError:
                return None
    return None


def _name_condition(text: str, vendor: str) -> Q | None:
    def given(prefix: str) -> Q:
        return _starts_with("first_name_key", prefix, vendor) | _starts_with(
            "preferred_name_key", prefix, vendor
        )

    def family(prefix: str) -> Q:
        return _starts_with("last_name_key", prefix, vendor)

    if "," in text:
        # "Last, First" — the way charts and lists print names.
        last, _, first = (_key(part) for part in text.partition(","))
        if not last and not first:
            return None
        if not last:
            return given(first)
        return family(last) & given(first) if first else family(last)
    words = _key(text).split(" ")
    if not words or not words[0]:
        return None
    if len(words) == 1:
        return given(words[0]) | family(words[0])
    # "First Last" (also "Mary Ann Smith" either way round) and "Last First".
    condition = given(words[0]) & family(" ".join(words[1:]))
    if len(words) > 2:
        condition |= given(" ".join(words[:-1])) & family(words[-1])
    condition |= family(words[0]) & given(" ".join(words[1:]))
    return condition


def search_patients(
    queryset: QuerySet[Patient], q: str, *, include_inactive: bool = False
) -> PatientSearch:
    """Narrow ``queryset`` (already scoped by the access helper) to the patients ``q`` names.

    ``q`` may be a name prefix ("Sam", "Sample, Ca", "Casey Sam"), an MRN or its start
    ("OI0000123", "oi00001", "123"), or a date of birth (YYYY-MM-DD or MM/DD/YYYY). An empty
    ``q`` lists everyone. Inactive patients are left out unless ``include_inactive``. The
    result is ordered by last name, first name, id; one query per page plus one count.
    """
    vendor = connections[queryset.db].vendor
    text = " ".join((q or "").split())[:_MAX_QUERY]
    if not include_inactive:
        queryset = queryset.filter(is_active=True)
    queryset = queryset.order_by("last_name_key", "first_name_key", "id")
    if not text:
        return PatientSearch(queryset, ALL)
    if _ISO_DATE.match(text) or _US_DATE.match(text):
        born = _parse_date(text)
        if born is None:
            return PatientSearch(
                queryset.none(),
                INVALID,
                f"“{text}” is not a real date. Use YYYY-MM-DD or MM/DD/YYYY.",
            )
        return PatientSearch(queryset.filter(date_of_birth=born), DOB)
    if _MRN.match(text):
        return PatientSearch(queryset.filter(_starts_with("mrn", text.upper(), vendor)), MRN)
    if _DIGITS.match(text):
        # Just the number: the exact MRN, or MRNs starting with these digits ("00001").
        condition = Q(mrn=format_mrn(int(text))) | _starts_with(
            "mrn", f"{MRN_PREFIX}{text}", vendor
        )
        return PatientSearch(queryset.filter(condition), MRN)
    condition = _name_condition(text, vendor)
    if condition is None:
        return PatientSearch(queryset, ALL)
    return PatientSearch(queryset.filter(condition), NAME)
