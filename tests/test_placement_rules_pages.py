"""The rule-table editor under Program setup (placement.rules)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openiop.audit.models import AuditEvent
from openiop.measures.models import PlacementRuleTable
from openiop.measures.placement import DEFAULT_RULES
from openiop.measures.services_placement import current_rules
from tests.factories import sign_in
from tests.factories_programs import make_program


@pytest.fixture
def program(site):
    return make_program(site, name="Evening IOP")


@pytest.fixture
def director(client, site, dana):
    sign_in(client, dana, site=site)
    return client


def _url(program):
    return f"/setup/programs/{program.pk}/placement-rules/"


def _extra_rule_json():
    rules = [r.as_dict() for r in DEFAULT_RULES]
    rules.append(
        {
            "id": "any-mild",
            "description": "Any mild rating: IOP at least.",
            "conditions": [{"kind": "dimensions", "count": 1, "at_least": 1}],
            "level": "iop",
            "editions": [3, 4],
        }
    )
    return json.dumps(rules)


def test_it_shows_the_default_table_in_words(director, program):
    body = director.get(_url(program)).content.decode()
    assert "OpenIOP defaults" in body
    assert "any dimension ≥ 4" in body
    assert "D3 ≥ 3 and D6 ≥ 3" in body
    assert "criterion 5 = yes" in body
    assert "contra-indication imminent_danger" in body
    assert "&quot;id&quot;: &quot;any-severe&quot;" in body  # the JSON editor, pre-filled
    assert 'name="version" value="0"' in body
    assert "No version saved yet" in body


def test_it_saves_the_next_version(director, program, dana):
    response = director.post(
        _url(program), {"rules": _extra_rule_json(), "note": "Stricter", "version": 0}
    )
    assert response.status_code == 302
    table, rules = current_rules(program)
    assert table.version == 1
    assert table.note == "Stricter"
    assert table.created_by == dana
    assert rules[-1].id == "any-mild"
    body = director.get(_url(program)).content.decode()
    assert "Version 1" in body
    assert "Any mild rating: IOP at least." in body
    assert 'name="version" value="1"' in body
    assert AuditEvent.objects.filter(object_type="placement_rule_table").count() == 1


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[{", "not valid JSON"),
        ("[]", "at least one rule"),
        (
            '[{"id": "x", "description": "d", "level": "iop",'
            ' "conditions": [{"kind": "dimension", "dimension": 2, "at_least": 9}]}]',
            "rule x: at_least 9 is outside 1–4",
        ),
        (
            '[{"id": "x", "description": "d", "level": "iop", "colour": "red",'
            ' "conditions": [{"kind": "dimension", "dimension": 2, "at_least": 2}]}]',
            "unknown field(s) colour",
        ),
    ],
)
def test_it_shows_precise_errors(director, program, text, words):
    response = director.post(_url(program), {"rules": text, "note": "", "version": 0})
    assert response.status_code == 422
    body = response.content.decode()
    assert 'data-testid="rules-error"' in body
    assert words in body.replace("&#x27;", "'")
    assert not PlacementRuleTable.objects.exists()


def test_a_stale_editor_is_a_conflict(director, program):
    director.post(_url(program), {"rules": _extra_rule_json(), "note": "", "version": 0})
    response = director.post(_url(program), {"rules": _extra_rule_json(), "version": 0})
    assert response.status_code == 409
    assert "changed since you opened it" in response.content.decode()
    assert PlacementRuleTable.objects.count() == 1


def test_reset_to_defaults_appends_a_version(director, program):
    director.post(_url(program), {"rules": _extra_rule_json(), "note": "", "version": 0})
    response = director.post(_url(program) + "reset/", {"version": 1})
    assert response.status_code == 302
    table, rules = current_rules(program)
    assert (table.version, table.note) == (2, "Reset to OpenIOP defaults")
    assert rules == DEFAULT_RULES
    body = director.get(_url(program)).content.decode()
    assert "same as the OpenIOP defaults" in body
    stale = director.post(_url(program) + "reset/", {"version": 1})
    assert stale.status_code == 302
    assert PlacementRuleTable.objects.count() == 2


def test_another_sites_program_is_404(director, other_site):
    elsewhere = make_program(other_site, name="Far IOP")
    assert director.get(_url(elsewhere)).status_code == 404
    response = director.post(_url(elsewhere), {"rules": _extra_rule_json(), "version": 0})
    assert response.status_code == 404
    assert not PlacementRuleTable.objects.exists()


def test_a_therapist_may_not_edit(client, site, tom, program):
    sign_in(client, tom, site=site)
    assert client.get(_url(program)).status_code == 403
    response = client.post(_url(program), {"rules": _extra_rule_json(), "version": 0})
    assert response.status_code == 403
    assert not PlacementRuleTable.objects.exists()


def test_the_program_page_links_the_editor(director, program):
    body = director.get(f"/setup/programs/{program.pk}/").content.decode()
    assert f'href="{_url(program)}"' in body


def test_the_page_runs_constant_queries(director, program):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert director.get(_url(program)).status_code == 200
        return len(queries)

    director.post(_url(program), {"rules": _extra_rule_json(), "note": "", "version": 0})
    one = count()
    for version in range(1, 6):
        director.post(_url(program), {"rules": _extra_rule_json(), "version": version})
    assert count() == one


def test_the_error_is_announced_at_the_top_too(director, program):
    response = director.post(_url(program), {"rules": "[{", "note": "", "version": 0})
    body = response.content.decode()
    top = body.index('data-testid="rules-not-saved"')
    assert top < body.index('data-testid="rules-table"')
    assert "not valid JSON" in body[top : body.index("</div>", top)]
    assert "Residential 3.x" in body  # levels shown with their codes


def _try(ratings=(0, 1, 0, 0, 0, 0), **extra):
    data = {"action": "preview", "note": "", "version": 0, "try_edition": "3"}
    for n, value in enumerate(ratings, start=1):
        data[f"try_rating_{n}"] = str(value)
    data.update(extra)
    return data


def test_try_it_compares_the_draft_without_saving(director, program):
    response = director.post(_url(program), {**_try(), "rules": _extra_rule_json()})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="preview-current">1<' in body
    assert 'data-testid="preview-draft">2.1<' in body
    assert "decided by any-mild" in body
    assert "The draft changes the indication" in body
    assert not PlacementRuleTable.objects.exists()
    # The draft stays in the editor.
    assert "Any mild rating: IOP at least." in body


def test_try_it_uses_criteria_contraindications_and_edition(director, program):
    data = {
        **_try((0, 0, 0, 0, 0, 0), try_edition="4", try_criterion_5="yes"),
        "rules": _extra_rule_json(),
        "try_contraindications": ["failed_iop"],
    }
    body = director.post(_url(program), data).content.decode()
    assert 'data-testid="preview-current">2.5<' in body
    assert "decided by failed-iop" in body
    assert "The draft changes the indication" not in body


def test_try_it_with_a_broken_draft(director, program):
    response = director.post(_url(program), {**_try(), "rules": "[{"})
    assert response.status_code == 422
    body = response.content.decode()
    assert 'data-testid="preview-current">1<' in body
    assert "Your draft has an error" in body
    assert 'data-testid="rules-error"' in body


def test_try_it_refuses_a_rating_off_the_scale(director, program):
    response = director.post(
        _url(program), {**_try(), "rules": _extra_rule_json(), "try_rating_2": "7"}
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert 'data-testid="rules-preview"' not in body
    top = body.index('data-testid="rules-not-saved"')
    assert "D2: Select a valid choice. 7 is not one of the available choices." in body[top:]
