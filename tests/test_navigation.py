"""The navigation: each role sees the entries its policy allows, and the attention badge
counts my open alerts at this site."""

from __future__ import annotations

import re

import pytest

from openiop.accounts.roles import Role
from openiop.alerts.models import AlertState, Severity
from tests.factories import make_user, sign_in
from tests.factories_attention import make_alert

pytestmark = pytest.mark.django_db


def _nav_labels(html: str) -> list[str]:
    nav = html.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    return [
        re.sub(r"<[^>]+>", "", label).strip().split("\n")[0].strip()
        for label in re.findall(r"</svg>(.*?)</a>", nav, flags=re.S)
    ]


@pytest.mark.parametrize(
    ("role", "present", "absent"),
    [
        (Role.THERAPIST, ["Attention", "Questionnaires due", "Outcomes"], ["Audit trail"]),
        (Role.NURSE, ["Attention", "Questionnaires due"], ["Outcomes"]),
        (Role.BILLING, ["Outcomes"], ["Attention", "Questionnaires due"]),
        (Role.FRONT_DESK, [], ["Attention", "Questionnaires due", "Outcomes"]),
        (Role.AUDITOR, ["Audit trail"], ["Attention", "Questionnaires due", "Outcomes"]),
    ],
)
def test_it_shows_the_measurement_entries_by_role(client, site, role, present, absent):
    user = make_user(f"nav-{role}", site=site, role=role)
    sign_in(client, user, site=site)
    labels = _nav_labels(client.get("/").content.decode())
    for label in present:
        assert any(text.startswith(label) for text in labels), (label, labels)
    for label in absent:
        assert not any(text.startswith(label) for text in labels), (label, labels)


def test_the_badge_counts_my_open_alerts_here_and_turns_red_for_a_high_one(
    client, site, other_site, tom, dana
):
    make_alert(site, tom, severity=Severity.MEDIUM, evidence_id=1)
    make_alert(site, tom, severity=Severity.MEDIUM, evidence_id=2, state=AlertState.ACKNOWLEDGED)
    make_alert(site, tom, evidence_id=3, state=AlertState.RESOLVED)  # done: not counted
    make_alert(site, dana, evidence_id=4)  # someone else's
    sign_in(client, tom, site=site)
    html = client.get("/").content.decode()
    badge = html.split('data-testid="attention-badge"', 1)[1].split("</span></span>", 1)[0]
    assert "2 open alerts" in badge
    assert "high" not in badge
    assert 'text-bg-secondary" data-testid="attention-badge"' in html

    make_alert(site, tom, evidence_id=5, severity=Severity.HIGH)
    html = client.get("/").content.decode()
    assert "3 open alerts, 1 high" in html
    assert 'text-bg-danger" data-testid="attention-badge"' in html


def test_no_badge_without_open_alerts(client, site, tom):
    sign_in(client, tom, site=site)
    assert 'data-testid="attention-badge"' not in client.get("/").content.decode()
