from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openiop.accounts.models import Membership
from openiop.accounts.roles import Role
from openiop.accounts.services import create_api_token
from openiop.audit.models import Action, AuditEvent, Outcome

URL = "/api/v1/audit-events"
MARCH_3 = datetime(2025, 3, 3, 18, 0, 0, 123456, tzinfo=UTC)
EVENT_KEYS = {
    "id",
    "occurred_at",
    "actor_id",
    "actor_username",
    "role",
    "site_id",
    "action",
    "object_type",
    "object_id",
    "patient_id",
    "outcome",
    "detail",
    "ip",
    "user_agent",
    "request_id",
}


def make_event(**fields) -> AuditEvent:
    fields.setdefault("occurred_at", MARCH_3)
    fields.setdefault("action", Action.VIEW)
    if "actor" in fields and "actor_username" not in fields:
        fields["actor_username"] = fields["actor"].username
    return AuditEvent.objects.create(**fields)


def bearer(user) -> dict[str, str]:
    issued = create_api_token(user=user, name="Audit feed")
    return {"HTTP_AUTHORIZATION": f"Bearer {issued.secret}"}


@pytest.fixture
def as_audrey(audrey):
    return bearer(audrey)


def ids_of(response) -> list[int]:
    return [event["id"] for event in response.json()["results"]]


def test_it_lists_events_with_exactly_the_documented_fields(client, site, dana, as_audrey):
    event = make_event(
        site=site,
        actor=dana,
        role="director",
        object_type="patient",
        object_id="7",
        patient_id=7,
        ip="192.0.2.10",
        user_agent="Mozilla/5.0",
        request_id="abc123abc123",
        detail="opened the chart",
    )

    response = client.get(URL, {"action": "view"}, **as_audrey)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "results", "next_offset"}
    assert body["count"] == 1
    assert body["next_offset"] is None
    (result,) = body["results"]
    assert set(result) == EVENT_KEYS
    assert result == {
        "id": event.pk,
        "occurred_at": "2025-03-03T18:00:00.123456Z",
        "actor_id": dana.pk,
        "actor_username": "dana",
        "role": "director",
        "site_id": site.pk,
        "action": "view",
        "object_type": "patient",
        "object_id": "7",
        "patient_id": 7,
        "outcome": "success",
        "detail": "opened the chart",
        "ip": "192.0.2.10",
        "user_agent": "Mozilla/5.0",
        "request_id": "abc123abc123",
    }


def test_it_lists_newest_first_by_default(client, site, dana, as_audrey):
    older = make_event(site=site, actor=dana, occurred_at=MARCH_3 - timedelta(hours=1))
    newer = make_event(site=site, actor=dana)

    response = client.get(URL, {"action": "view"}, **as_audrey)

    assert ids_of(response) == [newer.pk, older.pk]


def test_it_scopes_to_the_auditors_sites(client, site, other_site, dana, oscar, as_audrey):
    ours = make_event(site=site, actor=dana)
    dana_failed_sign_in = make_event(actor=dana, action=Action.LOGIN_FAILED)
    make_event(site=other_site, actor=oscar)
    make_event(actor=oscar, action=Action.LOGIN_FAILED)
    make_event(actor_username="somebody", action=Action.LOGIN_FAILED)

    response = client.get(URL, {"sort": "time"}, **as_audrey)

    # Audrey's own "token created" event is site-less and hers, so it is in scope too.
    token_created = AuditEvent.objects.get(action=Action.TOKEN_CREATED)
    assert ids_of(response) == [ours.pk, dana_failed_sign_in.pk, token_created.pk]


def test_it_spans_every_site_where_the_user_is_an_auditor(
    client, site, other_site, audrey, dana, oscar, as_audrey
):
    Membership.objects.create(user=audrey, site=other_site, role=Role.AUDITOR)
    ours = make_event(site=site, actor=dana)
    theirs = make_event(site=other_site, actor=oscar)

    everything = client.get(URL, {"action": "view"}, **as_audrey)
    one_site = client.get(URL, {"action": "view", "site_id": other_site.pk}, **as_audrey)

    assert sorted(ids_of(everything)) == sorted([ours.pk, theirs.pk])
    assert ids_of(one_site) == [theirs.pk]


def test_it_ignores_sites_where_the_user_holds_another_role(
    client, site, other_site, audrey, oscar, as_audrey
):
    Membership.objects.create(user=audrey, site=other_site, role=Role.BILLING)
    make_event(site=other_site, actor=oscar)

    everything = client.get(URL, {"action": "view"}, **as_audrey)
    asked_for = client.get(URL, {"site_id": other_site.pk}, **as_audrey)

    assert everything.json()["count"] == 0
    assert asked_for.status_code == 200
    assert asked_for.json() == {"count": 0, "results": [], "next_offset": None}


@pytest.mark.parametrize(
    ("params", "kept"),
    [
        ({"actor_id": "<tom>"}, {"tom_view", "tom_failed_sign_in"}),
        ({"username": "TOM"}, {"tom_view", "tom_failed_sign_in"}),
        ({"patient_id": 7}, {"dana_view_7"}),
        ({"action": "login_failed"}, {"tom_failed_sign_in"}),
        ({"outcome": "denied"}, {"dana_denied"}),
        ({"date_from": "2025-03-03"}, {"tom_view", "tom_failed_sign_in", "dana_denied"}),
        ({"date_to": "2025-03-02"}, {"dana_view_7"}),
        ({"date_from": "2025-03-02", "date_to": "2025-03-02"}, {"dana_view_7"}),
        ({"since": "2025-03-03T18:00:00Z"}, {"tom_failed_sign_in", "dana_denied"}),
        ({"until": "2025-03-03T12:00:00-06:00"}, {"dana_view_7", "tom_view"}),
        (
            {"since": "2025-03-03T00:00:00Z", "date_to": "2025-03-03", "outcome": "success"},
            {"tom_view"},
        ),
    ],
)
def test_it_filters(client, site, dana, tom, as_audrey, params, kept):
    events = {
        # 23:59:59 UTC on March 2: in the evening of March 2 in Chicago, and in UTC too.
        "dana_view_7": make_event(
            site=site,
            actor=dana,
            patient_id=7,
            occurred_at=datetime(2025, 3, 2, 23, 59, 59, tzinfo=UTC),
        ),
        "tom_view": make_event(
            site=site, actor=tom, patient_id=8, occurred_at=MARCH_3 - timedelta(seconds=1)
        ),
        "tom_failed_sign_in": make_event(
            actor=tom, action=Action.LOGIN_FAILED, outcome=Outcome.FAILURE
        ),
        "dana_denied": make_event(
            site=site, actor=dana, action=Action.ACCESS_DENIED, outcome=Outcome.DENIED
        ),
    }
    if params.get("actor_id") == "<tom>":
        params = {"actor_id": tom.pk}
    # Leave out Audrey's own "token created" event, which is in scope and happened today.
    params = {"until": "2025-04-01T00:00:00Z", **params}

    response = client.get(URL, params, **as_audrey)

    assert response.status_code == 200, response.json()
    assert sorted(ids_of(response)) == sorted(events[name].pk for name in kept)
    assert response.json()["count"] == len(kept)


def test_it_pages_with_limit_and_offset(client, site, dana, as_audrey):
    events = [
        make_event(site=site, actor=dana, occurred_at=MARCH_3 + timedelta(minutes=i))
        for i in range(7)
    ]
    newest_first = [event.pk for event in reversed(events)]

    seen, offsets, offset = [], [], 0
    while offset is not None:
        body = client.get(URL, {"action": "view", "limit": 3, "offset": offset}, **as_audrey).json()
        assert body["count"] == 7
        seen += [event["id"] for event in body["results"]]
        offsets.append(offset)
        offset = body["next_offset"]

    assert offsets == [0, 3, 6]
    assert seen == newest_first


def test_it_answers_an_empty_page_past_the_end(client, site, dana, as_audrey):
    make_event(site=site, actor=dana)

    body = client.get(URL, {"action": "view", "offset": 50}, **as_audrey).json()

    assert body == {"count": 1, "results": [], "next_offset": None}


def test_it_defaults_to_100_per_page(client, site, dana, as_audrey):
    AuditEvent.objects.bulk_create(
        AuditEvent(site=site, actor=dana, actor_username="dana", action="view", occurred_at=MARCH_3)
        for _ in range(101)
    )

    body = client.get(URL, {"action": "view"}, **as_audrey).json()

    assert (len(body["results"]), body["count"], body["next_offset"]) == (100, 101, 100)


@pytest.mark.parametrize("sort", ["time", "-time", "user", "-user", "ip", "-patient", "object"])
def test_it_sorts(client, site, dana, tom, as_audrey, sort):
    make_event(site=site, actor=dana, patient_id=2, ip="10.0.0.2", object_type="b")
    make_event(site=site, actor=tom, patient_id=1, ip="10.0.0.1", object_type="a")
    make_event(site=site, actor=dana, patient_id=3, ip="10.0.0.3", object_type="c")
    field = {"time": "id", "user": "actor_username", "ip": "ip", "patient": "patient_id"}.get(
        sort.removeprefix("-"), "object_type"
    )

    results = client.get(URL, {"action": "view", "sort": sort}, **as_audrey).json()["results"]

    values = [event[field] for event in results]
    assert values == sorted(values, reverse=sort.startswith("-"))


@pytest.mark.parametrize(
    ("params", "field", "type_"),
    [
        ({"limit": 0}, "query.limit", "greater_than_equal"),
        ({"limit": 10000}, "query.limit", "less_than_equal"),
        ({"limit": "ten"}, "query.limit", "int_parsing"),
        ({"offset": -1}, "query.offset", "greater_than_equal"),
        ({"action": "rewrite_history"}, "query.action", "enum"),
        ({"outcome": "maybe"}, "query.outcome", "enum"),
        ({"date_from": "2025-02-30"}, "query.date_from", None),
        ({"date_to": "yesterday"}, "query.date_to", None),
        ({"date_from": "2025-03-05", "date_to": "2025-03-01"}, "query.date_to", "value_error"),
        ({"since": "2025-03-01T00:00:00"}, "query.since", "timezone_aware"),
        ({"since": "2025-03-02T00:00Z", "until": "2025-03-01T00:00Z"}, "query.until", None),
        ({"patient_id": "abc"}, "query.patient_id", "int_parsing"),
        ({"actor_id": 0}, "query.actor_id", "greater_than_equal"),
        ({"sort": "occurred_at"}, "query.sort", "value_error"),
        ({"username": "x" * 151}, "query.username", "string_too_long"),
    ],
)
def test_it_explains_bad_parameters(client, as_audrey, params, field, type_):
    response = client.get(URL, params, **as_audrey)

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    assert all(set(error) == {"field", "message", "type"} for error in detail)
    assert field in [error["field"] for error in detail]
    if type_ is not None:
        assert type_ in [error["type"] for error in detail]


def test_it_names_every_bad_parameter_at_once(client, as_audrey):
    response = client.get(URL, {"limit": 0, "action": "nope", "offset": -5}, **as_audrey)

    fields = sorted(error["field"] for error in response.json()["detail"])
    assert fields == ["query.action", "query.limit", "query.offset"]


def test_it_lists_the_valid_sorts_when_the_sort_is_unknown(client, as_audrey):
    response = client.get(URL, {"sort": "-nope"}, **as_audrey)

    (error,) = response.json()["detail"]
    assert "-time" in error["message"]
    assert "ip" in error["message"]


@pytest.mark.parametrize("who", ["dana", "tom", "oscar"])
def test_it_refuses_other_roles_and_records_the_attempt(client, request, who):
    user = request.getfixturevalue(who)

    response = client.get(URL, **bearer(user))

    assert response.status_code == 403
    assert response.json() == {"detail": "Your role does not allow this operation."}
    denied = AuditEvent.objects.get(action=Action.ACCESS_DENIED)
    assert (denied.actor, denied.object_id, denied.outcome) == (user, "audit.view", "denied")
    assert denied.detail == "GET /api/v1/audit-events"


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer oiop_not-a-real-token", "Basic YXVkcmV5OnB3"]
)
def test_it_requires_a_valid_token(client, db, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    response = client.get(URL, **extra)

    assert response.status_code == 401
    assert response.json() == {"detail": "Missing, malformed or revoked bearer token."}


def test_it_does_not_accept_a_signed_in_browser_session(client, site, audrey):
    from tests.factories import sign_in

    sign_in(client, audrey, site=site)

    assert client.get(URL).status_code == 401


def test_it_runs_the_same_number_of_queries_for_3_or_60_rows(
    client, site, dana, tom, as_audrey, django_assert_num_queries
):
    def add(count):
        for i in range(count):
            make_event(site=site, actor=dana if i % 2 else tom, occurred_at=MARCH_3 + timedelta(i))

    add(3)
    client.get(URL, **as_audrey)  # the token's first use stamps last_used_at; not measured
    with CaptureQueriesContext(connection) as three_rows:
        assert len(client.get(URL, {"action": "view"}, **as_audrey).json()["results"]) == 3
    add(57)

    with django_assert_num_queries(len(three_rows.captured_queries)):
        assert len(client.get(URL, {"action": "view"}, **as_audrey).json()["results"]) == 60


def test_it_is_in_the_openapi_document(client, db):
    document = client.get("/api/v1/openapi.json").json()

    operation = document["paths"]["/api/v1/audit-events"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"date_from", "date_to", "since", "until", "action", "limit", "offset"} <= names
    assert set(operation["responses"]) >= {"200", "401", "403", "422"}
