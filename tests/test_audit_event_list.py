from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openiop.accounts.models import Membership
from openiop.accounts.roles import Role
from openiop.audit.models import Action, AuditEvent, Outcome
from tests.factories import sign_in

URL = "/audit/"
MARCH_3 = datetime(2025, 3, 3, 18, 0, tzinfo=UTC)


def make_event(**fields) -> AuditEvent:
    fields.setdefault("occurred_at", MARCH_3)
    fields.setdefault("action", Action.VIEW)
    if "actor" in fields and "actor_username" not in fields:
        fields["actor_username"] = fields["actor"].username
    return AuditEvent.objects.create(**fields)


def listed(response) -> list[int]:
    """The event ids in the table, top to bottom."""
    return [int(pk) for pk in re.findall(r'data-event-id="(\d+)"', response.content.decode())]


@pytest.fixture
def auditor_client(client, site, audrey):
    sign_in(client, audrey, site=site)
    return client


def test_it_lists_the_sites_events_newest_first(auditor_client, site, dana, tom):
    older = make_event(site=site, actor=dana, occurred_at=MARCH_3 - timedelta(hours=1))
    newer = make_event(site=site, actor=tom, occurred_at=MARCH_3)

    response = auditor_client.get(URL)

    assert response.status_code == 200
    assert listed(response) == [newer.pk, older.pk]
    assert 'aria-sort="descending"' in response.content.decode()


def test_it_never_shows_other_sites(auditor_client, site, other_site, audrey, dana, oscar):
    ours = make_event(site=site, actor=dana)
    dana_failed_sign_in = make_event(actor=dana, action=Action.LOGIN_FAILED)
    make_event(site=other_site, actor=oscar, patient_id=99)
    make_event(actor=oscar, action=Action.LOGIN_FAILED)
    # Audrey audits the other site too, but the screen shows the site she is working at.
    Membership.objects.create(user=audrey, site=other_site, role=Role.AUDITOR)
    make_event(site=other_site, actor=audrey)

    response = auditor_client.get(URL)

    assert sorted(listed(response)) == sorted([ours.pk, dana_failed_sign_in.pk])
    assert "oscar" not in response.content.decode()


def test_it_shows_times_in_the_sites_time_zone_and_names_it(auditor_client, site, dana):
    make_event(site=site, actor=dana, occurred_at=MARCH_3)

    body = auditor_client.get(URL).content.decode()

    assert "America/Chicago" in body
    assert "Mar 3, 2025 12:00:00" in body
    assert "CST" in body


def test_it_filters_by_days_of_the_sites_time_zone(auditor_client, site, dana):
    # Chicago is UTC-6 in early March: the local March 3 runs 06:00 UTC to 06:00 UTC.
    make_event(site=site, actor=dana, occurred_at=datetime(2025, 3, 3, 5, 59, tzinfo=UTC))
    first = make_event(site=site, actor=dana, occurred_at=datetime(2025, 3, 3, 6, 0, tzinfo=UTC))
    last = make_event(site=site, actor=dana, occurred_at=datetime(2025, 3, 4, 5, 59, tzinfo=UTC))
    make_event(site=site, actor=dana, occurred_at=datetime(2025, 3, 4, 6, 0, tzinfo=UTC))

    response = auditor_client.get(URL, {"date_from": "2025-03-03", "date_to": "2025-03-03"})

    assert listed(response) == [last.pk, first.pk]


@pytest.mark.parametrize(
    ("field", "value", "kept"),
    [
        ("user", "<tom>", {"tom_view", "tom_failed_sign_in"}),
        ("patient", "7", {"dana_view_7"}),
        ("action", Action.LOGIN_FAILED, {"tom_failed_sign_in"}),
        ("outcome", Outcome.DENIED, {"dana_denied"}),
    ],
)
def test_it_filters(auditor_client, site, dana, tom, field, value, kept):
    events = {
        "dana_view_7": make_event(site=site, actor=dana, patient_id=7),
        "tom_view": make_event(site=site, actor=tom, patient_id=8),
        "tom_failed_sign_in": make_event(
            actor=tom, action=Action.LOGIN_FAILED, outcome=Outcome.FAILURE
        ),
        "dana_denied": make_event(
            site=site, actor=dana, action=Action.ACCESS_DENIED, outcome=Outcome.DENIED
        ),
    }
    if value == "<tom>":
        value = tom.pk

    response = auditor_client.get(URL, {field: value})

    assert response.status_code == 200
    assert sorted(listed(response)) == sorted(events[name].pk for name in kept)
    assert "these filters" in response.content.decode()


def test_it_combines_filters(auditor_client, site, dana, tom):
    make_event(site=site, actor=dana, patient_id=7, action=Action.UPDATE)
    make_event(site=site, actor=tom, patient_id=7, action=Action.VIEW)
    wanted = make_event(site=site, actor=dana, patient_id=7, action=Action.VIEW)

    response = auditor_client.get(URL, {"user": dana.pk, "patient": 7, "action": "view"})

    assert listed(response) == [wanted.pk]


def test_it_offers_the_sites_staff_as_users(auditor_client, dana, tom, oscar):
    body = auditor_client.get(URL).content.decode()

    assert f'<option value="{dana.pk}">Dana Testperson (dana)</option>' in body
    assert f'value="{tom.pk}"' in body
    assert "Oscar" not in body


@pytest.fixture
def four_events(site):
    """Four events ordered differently by every column, so a mixed-up column shows."""

    def event(minute, username, role, action, object_type, patient, outcome, ip):
        return make_event(
            site=site,
            occurred_at=MARCH_3 + timedelta(minutes=minute),
            actor_username=username,
            role=role,
            action=action,
            object_type=object_type,
            object_id="1",
            patient_id=patient,
            outcome=outcome,
            ip=ip,
        )

    a = event(1, "cat", "billing", "view", "patient", 10, "success", "10.0.0.4")
    b = event(2, "amy", "therapist", "login", "api_token", 30, "denied", "10.0.0.2")
    c = event(3, "dan", "auditor", "export", "user", 20, "failure", "10.0.0.3")
    d = event(4, "bob", "director", "create", "session", 40, "denied", "10.0.0.1")
    return {"a": a, "b": b, "c": c, "d": d}


# Expected order of the four events, ascending and descending. Equal values (two denied
# outcomes) list the newest first in both directions.
EXPECTED = {
    "time": ("abcd", "dcba"),
    "user": ("bdac", "cadb"),
    "role": ("cadb", "bdac"),
    "action": ("dcba", "abcd"),
    "object": ("badc", "cdab"),
    "patient": ("acbd", "dbca"),
    "outcome": ("dbca", "acdb"),
    "ip": ("dbca", "acbd"),
}


@pytest.mark.parametrize("column", list(EXPECTED))
@pytest.mark.parametrize("descending", [False, True])
def test_it_sorts_by_each_column(auditor_client, four_events, column, descending):
    expected = [four_events[key].pk for key in EXPECTED[column][descending]]

    response = auditor_client.get(URL, {"sort": f"-{column}" if descending else column})

    assert response.status_code == 200
    assert listed(response) == expected
    body = response.content.decode()
    assert body.count("aria-sort=") == 1
    assert f'aria-sort="{"descending" if descending else "ascending"}"' in body


def test_its_sort_links_keep_the_filters_and_toggle_the_active_column(auditor_client, site, dana):
    make_event(site=site, actor=dana)

    body = auditor_client.get(URL, {"action": "view", "sort": "user"}).content.decode()

    assert 'href="?action=view&amp;sort=-user"' in body
    assert 'href="?action=view&amp;sort=-time"' in body
    assert 'href="?action=view&amp;sort=ip"' in body
    assert '<input type="hidden" name="sort" value="user">' in body


def test_its_export_button_carries_the_filters(auditor_client, site, dana):
    make_event(site=site, actor=dana)

    body = auditor_client.get(URL, {"action": "view", "page": "1"}).content.decode()

    assert 'href="/audit/export.csv?action=view"' in body


def test_it_pages_by_fifty_and_shows_the_total(auditor_client, site, dana):
    events = [
        make_event(site=site, actor=dana, occurred_at=MARCH_3 + timedelta(minutes=i))
        for i in range(60)
    ]
    newest_first = [event.pk for event in reversed(events)]

    first = auditor_client.get(URL)
    second = auditor_client.get(URL, {"page": 2})

    assert listed(first) == newest_first[:50]
    assert listed(second) == newest_first[50:]
    assert '<strong data-testid="audit-total">60</strong>' in first.content.decode()
    assert "Page 2 of 2" in second.content.decode()
    assert 'href="?page=2"' in first.content.decode()


@pytest.mark.parametrize("page", ["0", "-1", "x", "999999999999999999999"])
def test_it_answers_a_page_out_of_range_with_a_page(auditor_client, site, dana, page):
    make_event(site=site, actor=dana)

    response = auditor_client.get(URL, {"page": page})

    assert response.status_code == 200
    assert len(listed(response)) == 1


def test_it_says_so_when_nothing_matches(auditor_client, site, dana):
    make_event(site=site, actor=dana, action=Action.VIEW)

    body = auditor_client.get(URL, {"action": "delete"}).content.decode()

    assert 'data-testid="audit-empty"' in body
    assert "No events match these filters" in body
    assert 'data-testid="audit-table"' not in body
    assert 'data-testid="audit-export"' not in body


def test_it_says_so_when_nothing_was_recorded(auditor_client):
    # Signing in through the test helper records nothing; the page view records nothing.
    body = auditor_client.get(URL).content.decode()

    assert "Nothing has been recorded at this site yet" in body


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_from": "2025-03-05", "date_to": "2025-03-01"}, "must be on or after"),
        ({"date_from": "2025-02-30"}, "Enter a valid date."),
        ({"date_to": "03/01/2025"}, "Enter a valid date."),
        ({"patient": "abc"}, "Enter a patient ID: digits only."),
        ({"patient": "0"}, "greater than or equal to 1"),
        ({"patient": "99999999999999999999999"}, "less than or equal to"),
        ({"action": "rewrite_history"}, "Select a valid choice."),
        ({"outcome": "maybe"}, "Select a valid choice."),
        ({"user": "not-a-number"}, "Select a valid choice."),
        ({"sort": "occurred_at; DROP TABLE"}, "cannot be sorted that way"),
    ],
)
def test_it_shows_errors_for_bad_filters(auditor_client, site, dana, params, message):
    make_event(site=site, actor=dana)

    response = auditor_client.get(URL, params)

    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert 'data-testid="audit-invalid"' in body
    assert listed(response) == []


def test_it_refuses_a_user_of_another_site(auditor_client, site, oscar):
    response = auditor_client.get(URL, {"user": oscar.pk})

    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()


def test_it_runs_the_same_number_of_queries_for_3_or_60_rows(
    auditor_client, site, dana, tom, django_assert_num_queries
):
    def add(count):
        for i in range(count):
            make_event(site=site, actor=dana if i % 2 else tom, occurred_at=MARCH_3 + timedelta(i))

    add(3)
    with CaptureQueriesContext(connection) as three_rows:
        assert len(listed(auditor_client.get(URL))) == 3
    add(57)

    with django_assert_num_queries(len(three_rows.captured_queries)):
        assert len(listed(auditor_client.get(URL))) == 50


@pytest.mark.parametrize("who", ["dana", "tom"])
def test_it_refuses_other_roles_and_records_the_attempt(client, site, request, who):
    user = request.getfixturevalue(who)
    sign_in(client, user, site=site)

    response = client.get(URL)

    assert response.status_code == 403
    denied = AuditEvent.objects.get(action=Action.ACCESS_DENIED)
    assert (denied.actor, denied.object_id, denied.outcome) == (user, "audit.view", "denied")


def test_it_refuses_an_auditor_while_working_at_a_site_where_they_are_not(
    client, site, other_site, audrey
):
    Membership.objects.create(user=audrey, site=other_site, role=Role.BILLING)
    sign_in(client, audrey, site=other_site)

    assert client.get(URL).status_code == 403


def test_it_sends_anonymous_visitors_to_sign_in(client, db):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_it_accepts_only_get(auditor_client):
    assert auditor_client.post(URL).status_code == 405


def test_it_charts_activity_per_site_day_with_refusals_apart(auditor_client, site, dana):
    # The site is in America/Chicago (UTC-5 from March 9, 2025): 03:00 UTC on March 10 is
    # still March 9 there.
    make_event(site=site, actor=dana, occurred_at=datetime(2025, 3, 10, 3, 0, tzinfo=UTC))
    for hour in (15, 16):
        make_event(site=site, actor=dana, occurred_at=datetime(2025, 3, 10, hour, tzinfo=UTC))
    make_event(
        site=site,
        actor=dana,
        action=Action.ACCESS_DENIED,
        outcome=Outcome.DENIED,
        occurred_at=datetime(2025, 3, 10, 17, tzinfo=UTC),
    )
    response = auditor_client.get("/audit/", {"date_to": "2025-03-12"})
    html = response.content.decode()
    assert 'data-testid="activity-chart"' in html
    assert "Activity per day, Feb 11 \u2013 Mar 12" in html
    assert "Sun Mar 9: 1 succeeded, 0 failed or denied" in html
    assert "Mon Mar 10: 2 succeeded, 1 failed or denied" in html
    assert "Tue Mar 11: 0 succeeded, 0 failed or denied" in html
    assert html.count("<title>") == 30 + 1  # one per day, plus the page title
    assert "busiest day: 3 events" in html


def test_it_draws_no_chart_when_nothing_matches(auditor_client, site, dana):
    make_event(site=site, actor=dana, occurred_at=datetime(2025, 3, 10, 15, tzinfo=UTC))
    response = auditor_client.get("/audit/", {"date_to": "2025-01-01"})
    assert b'data-testid="activity-chart"' not in response.content
