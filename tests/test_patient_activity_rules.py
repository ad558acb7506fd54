"""Inactive records and enrollment: who can be admitted, who can be made inactive."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from openiop.lib.dates import local_today
from openiop.patients.services import StillEnrolled, set_patient_active
from openiop.programs.models import Enrollment
from openiop.scheduling.enrollment import admit_patient
from tests.factories import sign_in
from tests.factories_patients import make_patient
from tests.factories_programs import make_program, make_track

pytestmark = pytest.mark.django_db


@pytest.fixture
def program(site):
    return make_program(site)


def test_it_refuses_to_admit_an_inactive_patient(site, tom, program):
    gone = make_patient(site, is_active=False)
    with pytest.raises(ValidationError, match="marked inactive"):
        admit_patient(
            patient=gone,
            program=program,
            track=make_track(program),
            admitted_on=local_today(site.time_zone),
            by=tom,
        )
    assert not Enrollment.objects.filter(patient=gone).exists()


def test_it_refuses_to_deactivate_an_enrolled_patient(client, site, dana, tom, program):
    here = make_patient(site)
    admit_patient(
        patient=here,
        program=program,
        track=make_track(program),
        admitted_on=local_today(site.time_zone),
        by=tom,
    )
    with pytest.raises(StillEnrolled, match="still enrolled"):
        set_patient_active(patient=here, active=False, by=dana)
    sign_in(client, dana, site=site)
    response = client.post(f"/patients/{here.pk}/deactivate/", follow=True)
    assert b"still enrolled in a program; discharge them first" in response.content
    here.refresh_from_db()
    assert here.is_active
