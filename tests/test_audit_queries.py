from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from openiop.accounts.models import Membership
from openiop.accounts.roles import Role
from openiop.audit.models import Action, AuditEvent
from openiop.audit.queries import (
    SORT_CHOICES,
    UnknownSort,
    day_bounds,
    events_in_scope,
    search_audit_events,
)

CHICAGO = ZoneInfo("America/Chicago")


def make_event(**fields) -> AuditEvent:
    fields.setdefault("occurred_at", datetime(2025, 3, 3, 15, 0, tzinfo=UTC))
    fields.setdefault("action", Action.VIEW)
    if "actor" in fields and "actor_username" not in fields:
        fields["actor_username"] = fields["actor"].username
    return AuditEvent.objects.create(**fields)


def ids(events) -> list[int]:
    return [event.pk for event in events]


def test_it_scopes_to_the_sites_and_their_members_site_less_events(
    site, other_site, dana, audrey, oscar
):
    ours = make_event(site=site, actor=dana)
    dana_sign_in_failure = make_event(actor=dana, action=Action.LOGIN_FAILED)
    make_event(site=other_site, actor=oscar)
    make_event(actor=oscar, action=Action.LOGIN_FAILED)
    make_event(actor_username="nobody-we-know", action=Action.LOGIN_FAILED)
    # Even our own staff's events at another site stay with that site.
    Membership.objects.create(user=dana, site=other_site, role=Role.DIRECTOR)
    make_event(site=other_site, actor=dana)

    assert sorted(ids(events_in_scope([site]))) == [ours.pk, dana_sign_in_failure.pk]


def test_it_sees_nothing_without_sites(site, dana):
    make_event(site=site, actor=dana)

    assert list(events_in_scope([])) == []


def test_it_puts_events_without_a_patient_last_in_both_directions(site, dana):
    none = make_event(site=site, actor=dana, patient_id=None)
    low = make_event(site=site, actor=dana, patient_id=1)
    high = make_event(site=site, actor=dana, patient_id=2)

    assert ids(search_audit_events(sites=[site], sort="patient")) == [low.pk, high.pk, none.pk]
    assert ids(search_audit_events(sites=[site], sort="-patient")) == [high.pk, low.pk, none.pk]


def test_it_breaks_ties_of_equal_times_by_id(site, dana):
    first = make_event(site=site, actor=dana)
    second = make_event(site=site, actor=dana)

    assert ids(search_audit_events(sites=[site], sort="time")) == [first.pk, second.pk]
    assert ids(search_audit_events(sites=[site], sort="-time")) == [second.pk, first.pk]


@pytest.mark.parametrize("sort", ["user", "-user"])
def test_it_lists_equal_values_newest_first_in_both_directions(site, dana, tom, sort):
    later = make_event(site=site, actor=dana, occurred_at=datetime(2025, 3, 4, tzinfo=UTC))
    earlier = make_event(site=site, actor=dana, occurred_at=datetime(2025, 3, 3, tzinfo=UTC))
    toms = make_event(site=site, actor=tom)

    expected = [later.pk, earlier.pk, toms.pk]
    if sort.startswith("-"):
        expected = [toms.pk, later.pk, earlier.pk]
    assert ids(search_audit_events(sites=[site], sort=sort)) == expected


def test_it_matches_usernames_in_any_case(site, dana):
    event = make_event(site=site, actor=dana)

    assert ids(search_audit_events(sites=[site], username="DaNa")) == [event.pk]


@pytest.mark.parametrize("sort", ["", "when", "--time", "time ", "occurred_at", "-id"])
def test_it_refuses_an_unknown_sort(site, sort):
    with pytest.raises(UnknownSort, match="use one of"):
        search_audit_events(sites=[site], sort=sort)


def test_it_knows_both_directions_of_every_column():
    assert len(SORT_CHOICES) == 16
    assert {"time", "-time", "ip", "-ip", "patient", "-patient"} <= set(SORT_CHOICES)


def test_it_turns_local_days_into_instants_across_a_daylight_saving_change():
    # 2025-03-09 is 23 hours long in Chicago (clocks jump from 02:00 to 03:00).
    start, end = day_bounds(date(2025, 3, 9), date(2025, 3, 9), CHICAGO)

    assert start == datetime(2025, 3, 9, 6, 0, tzinfo=UTC)
    assert end == datetime(2025, 3, 10, 5, 0, tzinfo=UTC)


def test_it_leaves_open_ends_open():
    assert day_bounds(None, None, UTC) == (None, None)
    assert day_bounds(date(2025, 1, 1), None, UTC) == (datetime(2025, 1, 1, tzinfo=UTC), None)
