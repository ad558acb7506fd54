from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from openiop.audit.models import Action, AuditEvent, Outcome
from tests.factories import sign_in

URL = "/audit/export.csv"
MARCH_3 = datetime(2025, 3, 3, 18, 0, 0, 123456, tzinfo=UTC)
HEADER = [
    "id",
    "occurred_at_utc",
    "actor_id",
    "actor_username",
    "role",
    "site_id",
    "site_name",
    "action",
    "object_type",
    "object_id",
    "patient_id",
    "outcome",
    "detail",
    "ip",
    "user_agent",
    "request_id",
]


def make_event(**fields) -> AuditEvent:
    fields.setdefault("occurred_at", MARCH_3)
    fields.setdefault("action", Action.VIEW)
    if "actor" in fields and "actor_username" not in fields:
        fields["actor_username"] = fields["actor"].username
    return AuditEvent.objects.create(**fields)


def rows_of(response) -> list[dict[str, str]]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    assert header == HEADER
    return [dict(zip(header, row, strict=True)) for row in reader]


@pytest.fixture
def auditor_client(client, site, audrey):
    sign_in(client, audrey, site=site)
    return client


def test_it_streams_every_matching_event_as_csv(auditor_client, site, dana, tom):
    viewed = make_event(
        site=site,
        actor=dana,
        role="director",
        patient_id=7,
        object_type="patient",
        object_id="7",
        ip="192.0.2.10",
        user_agent="Mozilla/5.0",
        request_id="abc123abc123",
        detail="opened the chart",
    )
    make_event(site=site, actor=tom, action=Action.UPDATE)

    response = auditor_client.get(URL, {"action": "view"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-trail-site')
    assert "no-store" in response["Cache-Control"]
    assert rows_of(response) == [
        {
            "id": str(viewed.pk),
            "occurred_at_utc": "2025-03-03T18:00:00.123456Z",
            "actor_id": str(dana.pk),
            "actor_username": "dana",
            "role": "director",
            "site_id": str(site.pk),
            "site_name": "Testville Clinic",
            "action": "view",
            "object_type": "patient",
            "object_id": "7",
            "patient_id": "7",
            "outcome": "success",
            "detail": "opened the chart",
            "ip": "192.0.2.10",
            "user_agent": "Mozilla/5.0",
            "request_id": "abc123abc123",
        }
    ]


def test_it_exports_more_rows_than_a_page(auditor_client, site, dana):
    for i in range(120):
        make_event(site=site, actor=dana, occurred_at=MARCH_3 + timedelta(seconds=i))

    rows = rows_of(auditor_client.get(URL))

    assert len(rows) == 120
    assert rows[0]["occurred_at_utc"] > rows[-1]["occurred_at_utc"]


def test_it_applies_every_filter_and_the_sort(auditor_client, site, dana, tom):
    make_event(site=site, actor=dana, patient_id=7, occurred_at=MARCH_3 - timedelta(days=3))
    make_event(site=site, actor=tom, patient_id=7)
    make_event(site=site, actor=dana, patient_id=8)
    make_event(site=site, actor=dana, patient_id=7, outcome=Outcome.DENIED)
    wanted = [make_event(site=site, actor=dana, patient_id=7, ip=f"10.0.0.{n}") for n in (3, 1, 2)]

    response = auditor_client.get(
        URL,
        {
            "date_from": "2025-03-03",
            "date_to": "2025-03-03",
            "user": dana.pk,
            "patient": "7",
            "action": "view",
            "outcome": "success",
            "sort": "ip",
        },
    )

    assert [row["id"] for row in rows_of(response)] == [
        str(wanted[1].pk),
        str(wanted[2].pk),
        str(wanted[0].pk),
    ]


def test_it_never_exports_other_sites(auditor_client, site, other_site, dana, oscar):
    ours = make_event(site=site, actor=dana)
    make_event(site=other_site, actor=oscar)
    make_event(actor=oscar, action=Action.LOGIN_FAILED)

    assert [row["id"] for row in rows_of(auditor_client.get(URL))] == [str(ours.pk)]


def test_it_records_the_export_with_its_filters(auditor_client, site, audrey, dana):
    make_event(site=site, actor=dana, patient_id=7)
    make_event(site=site, actor=dana, patient_id=7)

    response = auditor_client.get(URL, {"patient": "7", "action": "view", "sort": "user"})
    rows = rows_of(response)

    export = AuditEvent.objects.get(action=Action.EXPORT)
    assert (export.actor, export.site, export.object_type, export.outcome) == (
        audrey,
        site,
        "audit_event",
        Outcome.SUCCESS,
    )
    assert export.role == "auditor"
    assert export.detail == "CSV, 2 row(s); filters: patient=7; action=view; sort=user"
    assert export.request_id == response["X-Request-ID"]
    # The export's own event is not part of what it exported.
    assert str(export.pk) not in {row["id"] for row in rows}


def test_it_records_an_export_without_filters_too(auditor_client, site, dana):
    rows_of(auditor_client.get(URL))

    export = AuditEvent.objects.get(action=Action.EXPORT)
    assert export.detail == "CSV, 0 row(s); filters: none; sort=-time"


def test_a_second_export_lists_the_first(auditor_client):
    rows_of(auditor_client.get(URL))
    rows = rows_of(auditor_client.get(URL))

    assert [row["action"] for row in rows] == ["export"]


@pytest.mark.parametrize(
    "value", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]
)
def test_it_defuses_spreadsheet_formulas(auditor_client, site, value):
    # A failed sign-in records whatever was typed as the username: anyone can choose it.
    make_event(
        site=site,
        actor_username=value,
        action=Action.LOGIN_FAILED,
        outcome=Outcome.FAILURE,
        detail=value,
        user_agent=value,
        object_id=value,
    )

    (row,) = rows_of(auditor_client.get(URL))

    for column in ("actor_username", "detail", "user_agent", "object_id"):
        assert row[column] == f"'{value}"


def test_it_leaves_ordinary_text_alone(auditor_client, site):
    make_event(site=site, actor_username="o'neil", detail='said "hi", then left')

    (row,) = rows_of(auditor_client.get(URL))

    assert (row["actor_username"], row["detail"]) == ("o'neil", 'said "hi", then left')


def test_it_refuses_bad_filters_without_exporting(auditor_client, site, dana):
    make_event(site=site, actor=dana)

    response = auditor_client.get(URL, {"date_from": "2025-03-05", "date_to": "2025-03-01"})

    assert response.status_code == 400
    assert "must be on or after" in response.content.decode()
    assert not AuditEvent.objects.filter(action=Action.EXPORT).exists()


@pytest.mark.parametrize("who", ["dana", "tom"])
def test_it_refuses_other_roles(client, site, request, who):
    sign_in(client, request.getfixturevalue(who), site=site)

    response = client.get(URL)

    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action=Action.EXPORT).exists()
    assert AuditEvent.objects.get(action=Action.ACCESS_DENIED).object_id == "audit.export"


def test_it_sends_anonymous_visitors_to_sign_in(client, db):
    response = client.get(URL)

    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action=Action.EXPORT).exists()
