"""The policy table: which role may do what. The one place access rules are written down.

Views are guarded with ``@requires("permission")`` and API operations with
``auth=api_guard("permission")`` (see ``openiop.api.auth``); both read this table.
The authorization-matrix test walks every URL and API operation against it.
"""

from __future__ import annotations

from dataclasses import dataclass

from openiop.accounts.roles import ALL_ROLES, Role


@dataclass(frozen=True)
class Permission:
    code: str
    description: str
    roles: frozenset[str]


def _p(code: str, description: str, *roles: str) -> Permission:
    return Permission(code=code, description=description, roles=frozenset(roles))


_EVERY_ROLE = tuple(sorted(ALL_ROLES))

POLICY: dict[str, Permission] = {
    p.code: p
    for p in [
        _p("home.view", "See the home screen of a site", *_EVERY_ROLE),
        _p("profile.manage", "Change own password, second factor and API tokens", *_EVERY_ROLE),
        _p("me.view", "Read own account, sites and roles through the API", *_EVERY_ROLE),
        _p("staff.view", "List the staff of a site", Role.DIRECTOR),
        _p("staff.manage", "Add, disable and re-enable staff of a site", Role.DIRECTOR),
        # Auditors read the trail; by default they see no clinical content (DESIGN.md §1).
        _p("audit.view", "Read the audit trail of a site", Role.AUDITOR),
        _p("audit.export", "Export the audit trail as CSV", Role.AUDITOR),
        # Clinical work. Auditors see no clinical content; billing reads what it bills.
        _p(
            "patients.view",
            "Find patients and open their charts",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
            Role.NURSE,
            Role.FRONT_DESK,
            Role.BILLING,
        ),
        _p(
            "patients.register",
            "Register new patients",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.FRONT_DESK,
        ),
        _p(
            "patients.edit",
            "Edit patients' contact and demographic details",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.NURSE,
            Role.FRONT_DESK,
        ),
        _p("patients.deactivate", "Mark patients inactive or active again", Role.DIRECTOR),
        _p(
            "programs.view",
            "See the programs, tracks, levels of care and group schedule",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
            Role.NURSE,
            Role.FRONT_DESK,
            Role.BILLING,
        ),
        _p(
            "programs.manage",
            "Set up levels of care, programs, tracks, rooms, group types and group schedules;"
            " cancel sessions (holidays)",
            Role.DIRECTOR,
        ),
        _p(
            "enrollments.admit",
            "Admit patients to a program and track",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.FRONT_DESK,
        ),
        # Discharge and step up/down are clinical decisions (DOMAIN.md §10).
        _p(
            "enrollments.change",
            "Discharge patients and transfer them between programs and tracks",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
        ),
        _p(
            "schedule.view",
            "See today's sessions, rosters and the schedule",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
            Role.NURSE,
            Role.FRONT_DESK,
        ),
        _p(
            "schedule.manage",
            "Book individual sessions and drop-ins",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.FRONT_DESK,
        ),
        _p(
            "attendance.record",
            "Check patients in and record attendance",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.NURSE,
            Role.FRONT_DESK,
        ),
        # Clinical documentation (issue 4). Front desk and billing see no clinical notes.
        _p(
            "notes.view",
            "Read clinical notes and the unsigned-notes list",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
            Role.NURSE,
        ),
        _p(
            "notes.write",
            "Write, sign and add addenda to group and individual notes",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
            Role.NURSE,
        ),
        # Also needs the clinical-supervisor flag on the account.
        _p(
            "notes.cosign",
            "Co-sign the notes of supervised clinicians",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
        ),
        _p(
            "plans.view",
            "Read treatment plans and relapse-prevention plans",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
            Role.NURSE,
        ),
        _p(
            "plans.write",
            "Write, review and sign treatment plans and relapse-prevention plans",
            Role.DIRECTOR,
            Role.THERAPIST,
        ),
        _p(
            "documents.attendance",
            "Issue attendance verification letters (a disclosure, logged)",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.FRONT_DESK,
        ),
        _p(
            "documents.clinical",
            "Issue treatment-plan, relapse-prevention and discharge-summary PDFs (logged)",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
        ),
        # Auditors read the disclosure log (DESIGN.md §1), not the documents themselves.
        _p(
            "disclosures.view",
            "Read the disclosure log of a site and of a patient",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.AUDITOR,
        ),
        # Drug screening and medications (issue 5). Patients never see a selection ahead.
        _p(
            "screens.today",
            "See who is called for a drug screen today (roster and day list)",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
            Role.NURSE,
            Role.FRONT_DESK,
        ),
        _p(
            "screens.view",
            "Read drug screens, their results and interpretation",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
            Role.NURSE,
        ),
        _p(
            "screens.select",
            "Run the day's random selection and order for-cause screens",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
            Role.NURSE,
        ),
        _p(
            "screens.collect",
            "Record specimen collection, validity and results (by hand or lab CSV)",
            Role.DIRECTOR,
            Role.PRESCRIBER,
            Role.NURSE,
        ),
        _p(
            "screens.review",
            "Review unexpected screen results",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
        ),
        _p(
            "screening.manage",
            "Set screening frequencies, panels and specimen-validity bounds",
            Role.DIRECTOR,
        ),
        _p(
            "medications.view",
            "See patients' medications and injections",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
            Role.NURSE,
        ),
        _p(
            "medications.order",
            "Write and stop medication orders; record external medications",
            Role.DIRECTOR,
            Role.PRESCRIBER,
        ),
        _p(
            "medications.administer",
            "Record doses given in clinic (injections)",
            Role.PRESCRIBER,
            Role.NURSE,
        ),
        _p(
            "alerts.view",
            "See and act on one's attention list (safety, screens, hours, notes, plans, "
            "injections, level reviews)",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
            Role.NURSE,
        ),
        _p(
            "alerts.site",
            "See the whole site's attention list and act on anyone's alert",
            Role.DIRECTOR,
        ),
        _p(
            "measures.view",
            "See questionnaire results, trends and the questionnaires due",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
            Role.NURSE,
        ),
        _p(
            "measures.record",
            "Administer questionnaires and strike one entered in error",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
            Role.NURSE,
        ),
        _p(
            "measures.manage",
            "Set a program's questionnaire schedules and level-review thresholds",
            Role.DIRECTOR,
        ),
        _p(
            "placement.view",
            "See placement assessments and the rule table",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
            Role.NURSE,
        ),
        _p(
            "placement.assess",
            "Record placement assessments and the level of care provided",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
        ),
        _p("placement.rules", "Edit a program's placement rule table", Role.DIRECTOR),
        _p(
            "reviews.decide",
            "Accept or dismiss a recommended step-up / step-down review",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
        ),
        _p(
            "outcomes.view",
            "See the outcomes report of a program (aggregates, no patient names)",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
            Role.BILLING,
        ),
        _p(
            "hours.view",
            "See weekly hours, the at-risk list and the census",
            Role.DIRECTOR,
            Role.THERAPIST,
            Role.PRESCRIBER,
            Role.NURSE,
            Role.FRONT_DESK,
            Role.BILLING,
        ),
    ]
}


def role_may(role: str | None, permission: str) -> bool:
    """Whether ``role`` holds ``permission``. Unknown permissions are a programming error."""
    try:
        rule = POLICY[permission]
    except KeyError:
        raise KeyError(f"{permission!r} is not in the policy table") from None
    return role is not None and role in rule.roles


def permissions_for(role: str | None) -> frozenset[str]:
    return frozenset(code for code, rule in POLICY.items() if role in rule.roles)
