"""Clinical documentation for the demo clinic: treatment plans (with reviews), relapse-
prevention plans, signed group and individual notes with the golden thread, a supervised
clinician with a co-sign queue, and the gaps a clinician's worklist exists for (plans due, a
draft, sessions past the unsigned-notes limit).

Like the rest of the demo's history, it is written the way a data import would write it:
straight into the tables, in bulk, each signed record with the fingerprint the services would
have given it (``hashing``), so that the note pages verify. Every word is fictional.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Prefetch
from django.utils import timezone

from openiop.accounts.demo import DOWNTOWN
from openiop.accounts.models import User
from openiop.clinical.disclosures import issue_document
from openiop.clinical.group_notes import entries_record, member_note
from openiop.clinical.hashing import cosignature_content, note_content, plan_content, sha256_of
from openiop.clinical.models import (
    Cosignature,
    DisclosureBasis,
    DocumentKind,
    EntryGoal,
    GroupNoteEntry,
    Note,
    NoteFormat,
    NoteGoal,
    NoteKind,
    NoteStatus,
    ObjectiveStatus,
    PlanAcknowledgement,
    PlanGoal,
    PlanIntervention,
    PlanKind,
    PlanObjective,
    PlanProblem,
    PlanStatus,
    RelapsePreventionPlan,
    TreatmentPlan,
)
from openiop.clinical.time_bands import psychotherapy_code
from openiop.lib.dates import at_local
from openiop.programs.models import Enrollment
from openiop.scheduling.models import (
    ATTENDED_STATUSES,
    AttendanceStatus,
    Booking,
    Session,
    SessionKind,
    SessionStatus,
)

# How far back notes go; older sessions are history without documentation in the demo.
NOTE_DAYS = 7 * 11  # the whole history: older sessions would all be overdue
# The supervised clinician and their supervisor (co-sign queue), and the other supervisor.
SUPERVISED, SUPERVISOR, OTHER_SUPERVISOR = "riley", "theo", "dana"


@dataclass(frozen=True)
class ProblemSpec:
    problem: str
    goal: str
    objectives: tuple[str, ...]
    interventions: tuple[tuple[str, str], ...]


PROBLEMS = [
    ProblemSpec(
        "Alcohol use disorder, moderate: daily drinking after work for two years.",
        "Maintain abstinence from alcohol.",
        (
            "Attend at least 9 hours of IOP groups every week.",
            "Submit negative breath-alcohol and EtG screens for 8 consecutive weeks.",
        ),
        (("Relapse-prevention group", "2 times a week"), ("Individual therapy", "weekly")),
    ),
    ProblemSpec(
        "Opioid use disorder in early remission on buprenorphine.",
        "Stay on medication and free of illicit opioids.",
        (
            "Take buprenorphine as prescribed and attend every prescriber visit.",
            "Name three high-risk situations and a plan for each by the next review.",
        ),
        (("Medication management", "every 2 weeks"), ("CBT group", "2 times a week")),
    ),
    ProblemSpec(
        "Few sober supports; most friends still use.",
        "Build a sober support network.",
        (
            "Attend two mutual-help meetings a week and report on them in group.",
            "Add three sober supports with phone numbers to the relapse-prevention plan.",
        ),
        (("Sober support system group", "weekly"), ("Individual therapy", "weekly")),
    ),
    ProblemSpec(
        "Anxiety that rises with cravings (GAD-7 in the moderate range).",
        "Manage anxiety without using.",
        (
            "Practise one DBT distress-tolerance skill daily and log it.",
            "Lower the GAD-7 score by 5 points by the next review.",
        ),
        (("DBT skills group", "weekly"), ("Individual therapy", "weekly")),
    ),
    ProblemSpec(
        "Conflict at home around substance use.",
        "Repair communication with family.",
        ("Attend the family group with a family member at least twice a month.",),
        (("Family group", "2 times a month"), ("Conflict resolution module", "once")),
    ),
]

PARTICIPATION = [
    "Participated actively; shared an example from the past week without prompting.",
    "Quiet at first, then engaged in the pair exercise and reported back to the group.",
    "Contributed to the discussion and gave supportive feedback to peers.",
    "Participated when invited; stayed attentive throughout.",
]
MOOD = [
    "Euthymic, affect congruent and full range.",
    "Mildly anxious, affect constricted at the start and brighter by the end.",
    "Tired but cooperative; affect appropriate to content.",
    "Calm and engaged; affect congruent.",
]
RESPONSE = [
    "Identified two personal triggers and a coping strategy for each.",
    "Practised the skill in role-play and described when to use it this week.",
    "Related the topic to a recent craving and how it passed without use.",
    "Asked for a copy of the worksheet to complete at home.",
]
PROGRESS = [
    "Progressing: reports no use since the last session and uses the craving plan.",
    "Some progress: one lapse disclosed honestly; revised the plan for weekends.",
    "Progressing: attended two mutual-help meetings this week.",
    "Steady: applying skills at work; cravings shorter and less intense.",
]
RISK = [
    "No suicidal or homicidal ideation reported; no safety concerns observed.",
    "Denies thoughts of self-harm; no safety concerns observed.",
]
PLAN = [
    "Continue the current track; practise the skill daily before the next group.",
    "Review the craving log in individual therapy this week.",
    "Continue groups; bring the completed worksheet next session.",
]
ABSENCE = {
    AttendanceStatus.EXCUSED: "Excused absence (notified the clinic in advance).",
    AttendanceStatus.UNEXCUSED: "Did not attend; no notice given. Outreach call made.",
    AttendanceStatus.NO_SHOW: "No-show. Outreach call made; left a voicemail.",
}
TOPICS = {
    "cbt": "Catching and challenging automatic thoughts",
    "dbt": "Distress tolerance: the TIPP skills",
    "process": "What helped this week, what got in the way",
    "relapse_prevention": "Mapping the path from trigger to use",
    "skills": "Asking for support without shame",
    "life_skills": "Stress at work and at home",
    "psychoeducation": "How substances change the brain's reward system",
    "family": "Communication patterns in the family",
}
INTERVENTIONS = {
    "cbt": "Thought records, cognitive restructuring, Socratic questioning.",
    "dbt": "Skills teaching with demonstration and rehearsal; diary-card review.",
    "process": "Group process, reflective listening, peer feedback.",
    "relapse_prevention": "Relapse-prevention mapping, role-play of refusal skills.",
    "skills": "Skills training, role-play, homework assignment.",
    "life_skills": "Psychoeducation, problem-solving worksheet, role-play.",
    "psychoeducation": "Didactic presentation with discussion and handout.",
    "family": "Structured communication exercise, psychoeducation for families.",
}
INDIVIDUAL_SECTIONS = {
    NoteFormat.DAP: {
        "data": "Client reports {days} days without use and one strong craving at a party, "
        "managed by leaving early and calling a support.",
        "assessment": "Engaged and insightful; uses the craving plan; motivation high.",
        "plan": "Continue weekly sessions; rehearse refusal skills for the family event.",
    },
    NoteFormat.BIRP: {
        "behavior": "Arrived on time, well groomed; described stress at work and poor sleep.",
        "intervention": "Motivational interviewing; sleep-hygiene psychoeducation.",
        "response": "Agreed to a fixed bedtime and to log sleep for one week.",
        "plan": "Review the sleep log next session; continue IOP groups.",
    },
    NoteFormat.SOAP: {
        "subjective": "Client states cravings are less frequent, about twice a week.",
        "objective": "Alert and oriented; speech normal; mood appears stable.",
        "assessment": "Progressing toward abstinence goals; no safety concerns.",
        "plan": "Continue current plan; coordinate with the prescriber about medication.",
    },
}
RPP_TEXT = {
    "triggers": "Payday evenings; arguments at home; driving past the old bar.",
    "warning_signs": "Skipping meals, isolating, romanticizing past use, missing groups.",
    "high_risk_situations": "Friday nights alone; family gatherings with alcohol.",
    "coping_strategies": "Call a support; go for a walk; urge surfing for 20 minutes; "
    "attend an extra meeting.",
    "craving_plan": "Rate the craving 0–10; delay 30 minutes; distract; call a support if "
    "it stays above 6; tell my therapist at the next session.",
    "emergency_steps": "Call my sponsor, then the clinic's after-hours line 555-0100; in "
    "danger call 911 or 988.",
}
SUPPORTS = [
    {"name": "Sam Sponsorly", "phone": "555-0142", "relationship": "Sponsor"},
    {"name": "Jo Supportwell", "phone": "555-0177", "relationship": "Sister"},
    {"name": "Lee Friendly", "phone": "555-0163", "relationship": "Friend from meetings"},
]


@dataclass(frozen=True)
class DocumentationOutcome:
    plans: int
    notes: int
    relapse_prevention_plans: int


def build_demo_documentation(*, rng: random.Random, now: datetime) -> DocumentationOutcome:
    """Write the demo's clinical records. Called once, inside the demo clinic's transaction."""
    staff = {user.username: user for user in User.objects.filter(is_active=True)}
    _set_up_supervision(staff)
    plans = _treatment_plans(rng, now)
    rpps = _relapse_prevention_plans(rng, now)
    goals_at = _goals_by_patient(plans)
    notes = _group_notes(rng, now, goals_at)
    notes += _individual_notes(rng, now, goals_at)
    _disclosures(staff, now)
    return DocumentationOutcome(len(plans), notes, rpps)


def _disclosures(staff: dict[str, User], now: datetime) -> None:
    """A few documents given out this week, so the disclosure log has something to show:
    attendance letters for employers and a court, and a discharge summary for aftercare."""
    front_desk = staff.get("fiona")
    active = list(
        Enrollment.objects.filter(status="active", program__site__name=DOWNTOWN)
        .select_related("patient", "program__site", "primary_therapist")
        .order_by("admitted_on", "pk")[:3]
    )
    recipients = [
        (
            "Example Logistics Inc., human resources",
            "Return-to-work verification",
            DisclosureBasis.PATIENT_CONSENT,
        ),
        (
            "County Treatment Court (fictional)",
            "Compliance report requested by the court",
            DisclosureBasis.COURT_ORDER,
        ),
        (
            "The patient",
            "Own records for an employee-assistance program",
            DisclosureBasis.PATIENT_REQUEST,
        ),
    ]
    for enrollment, (recipient, purpose, basis) in zip(active, recipients, strict=False):
        today = timezone.localdate(now, timezone=ZoneInfo(enrollment.program.site.time_zone))
        issue_document(
            patient=enrollment.patient,
            kind=DocumentKind.ATTENDANCE_LETTER,
            recipient=recipient,
            purpose=purpose,
            basis=basis,
            by=front_desk or enrollment.primary_therapist,
            start_on=max(enrollment.admitted_on, today - timedelta(days=27)),
            end_on=today,
        )
    discharged = (
        Enrollment.objects.filter(
            status="discharged", discharge_reason="completed", program__site__name=DOWNTOWN
        )
        .select_related("patient", "primary_therapist")
        .order_by("-discharged_on", "pk")
        .first()
    )
    if discharged is not None and discharged.primary_therapist is not None:
        issue_document(
            patient=discharged.patient,
            kind=DocumentKind.DISCHARGE_SUMMARY,
            recipient="Example Community Counseling (aftercare provider)",
            purpose="Continuity of care after completing IOP",
            basis=DisclosureBasis.PATIENT_CONSENT,
            by=discharged.primary_therapist,
            enrollment_id=discharged.pk,
            aftercare="Weekly outpatient counseling; two mutual-help meetings a week; "
            "medication follow-up with the primary care physician.",
        )


def _set_up_supervision(staff: dict[str, User]) -> None:
    for username in (SUPERVISOR, OTHER_SUPERVISOR):
        if username in staff:
            User.objects.filter(pk=staff[username].pk).update(is_clinical_supervisor=True)
            staff[username].is_clinical_supervisor = True
    if SUPERVISED in staff and SUPERVISOR in staff:
        User.objects.filter(pk=staff[SUPERVISED].pk).update(supervisor=staff[SUPERVISOR])
        staff[SUPERVISED].supervisor = staff[SUPERVISOR]


def _local_noon(day: date, zone: str) -> datetime:
    return at_local(day, time(12, 0), zone)


def _treatment_plans(rng: random.Random, now: datetime) -> list[TreatmentPlan]:
    """Each patient's latest enrollment gets plans: an initial one signed within the first
    week, a review every 30 days while in care — except a few left due or overdue, and the
    newest admissions, whose plans are still ahead (or a draft)."""
    latest: dict[int, Enrollment] = {}
    for enrollment in Enrollment.objects.select_related(
        "program__site", "primary_therapist", "patient"
    ).order_by("patient_id", "admitted_on", "pk"):
        latest[enrollment.patient_id] = enrollment
    signed: list[TreatmentPlan] = []
    skipped_reviews = 0
    for enrollment in latest.values():
        program = enrollment.program
        zone = program.site.time_zone
        today = timezone.localdate(now, timezone=ZoneInfo(zone))
        author = enrollment.primary_therapist
        if author is None:
            continue
        end = enrollment.discharged_on or today
        first_signed = enrollment.admitted_on + timedelta(days=rng.randint(2, 6))
        if first_signed > today:
            if rng.random() < 0.5:
                _plan(enrollment, author, 1, None, rng, signed_on=None, now=now)
            continue
        if enrollment.discharged_on is None and rng.random() < 0.06:
            continue  # overdue initial plan: on the therapist's worklist
        specs = rng.sample(PROBLEMS, k=rng.choice([2, 2, 3]))
        plan = _plan(enrollment, author, 1, None, rng, signed_on=first_signed, now=now, specs=specs)
        signed.append(plan)
        review_on = first_signed + timedelta(days=program.plan_review_days)
        while review_on <= end:
            if enrollment.discharged_on is None and skipped_reviews < 3 and rng.random() < 0.3:
                skipped_reviews += 1  # a review left overdue
                break
            plan = _plan(
                enrollment, author, plan.number + 1, plan, rng, signed_on=review_on, now=now
            )
            signed.append(plan)
            review_on += timedelta(days=program.plan_review_days)
    return signed


def _plan(
    enrollment: Enrollment,
    author: User,
    number: int,
    previous: TreatmentPlan | None,
    rng: random.Random,
    *,
    signed_on: date | None,
    now: datetime,
    specs: list[ProblemSpec] | None = None,
) -> TreatmentPlan:
    zone = enrollment.program.site.time_zone
    plan = TreatmentPlan.objects.create(
        patient=enrollment.patient,
        enrollment=enrollment,
        number=number,
        kind=PlanKind.INITIAL if previous is None else PlanKind.REVIEW,
        previous=previous,
        author=author,
        summary=(
            "Adult in IOP for substance use; employed, lives with family. Strengths: "
            "motivated, reliable transport, supportive sibling. Needs: sober supports, "
            "coping skills for cravings and stress."
        ),
    )
    if previous is None:
        for position, spec in enumerate(specs or rng.sample(PROBLEMS, k=2)):
            problem = PlanProblem.objects.create(
                plan=plan, position=position, statement=spec.problem
            )
            goal = PlanGoal.objects.create(plan=plan, problem=problem, statement=spec.goal)
            _objectives_and_interventions(plan, goal, spec, enrollment.admitted_on, author)
    else:
        for old_problem in previous.problems.all():
            problem = PlanProblem.objects.create(
                plan=plan, position=old_problem.position, statement=old_problem.statement
            )
            for old_goal in old_problem.goals.all():
                goal = PlanGoal.objects.create(
                    plan=plan,
                    problem=problem,
                    position=old_goal.position,
                    statement=old_goal.statement,
                    thread=old_goal.thread,
                )
                for objective in old_goal.objectives.all():
                    met = objective.target_date <= (signed_on or objective.target_date)
                    PlanObjective.objects.create(
                        plan=plan,
                        goal=goal,
                        position=objective.position,
                        statement=objective.statement,
                        target_date=objective.target_date
                        if not met
                        else objective.target_date + timedelta(days=30),
                        status=ObjectiveStatus.OPEN,
                    )
                for intervention in old_goal.interventions.all():
                    PlanIntervention.objects.create(
                        plan=plan,
                        goal=goal,
                        position=intervention.position,
                        modality=intervention.modality,
                        frequency=intervention.frequency,
                        responsible=intervention.responsible,
                    )
    if signed_on is None:
        return plan
    plan.status = PlanStatus.SIGNED
    plan.signed_at = min(at_local(signed_on, time(16, 30), zone), now)
    plan.signed_by = author
    plan.signer_name = author.signature_name
    plan.review_due_on = signed_on + timedelta(days=enrollment.program.plan_review_days)
    plan.content_sha256 = sha256_of(plan_content(plan))
    plan.save()
    if rng.random() < 0.85:
        patient = enrollment.patient
        PlanAcknowledgement.objects.create(
            plan=plan,
            typed_name=f"{patient.first_name} {patient.last_name}",
            acknowledged_at=plan.signed_at + timedelta(minutes=rng.randint(2, 20)),
            recorded_by=author,
        )
    return plan


def _objectives_and_interventions(
    plan: TreatmentPlan, goal: PlanGoal, spec: ProblemSpec, admitted: date, author: User
) -> None:
    for position, statement in enumerate(spec.objectives):
        PlanObjective.objects.create(
            plan=plan,
            goal=goal,
            position=position,
            statement=statement,
            target_date=admitted + timedelta(days=30 * (position + 1)),
        )
    for position, (modality, frequency) in enumerate(spec.interventions):
        PlanIntervention.objects.create(
            plan=plan,
            goal=goal,
            position=position,
            modality=modality,
            frequency=frequency,
            responsible=author,
        )


def _goals_by_patient(plans: list[TreatmentPlan]) -> dict[int, list[tuple[datetime, list[int]]]]:
    """For each patient, (signed at, goal ids) of each signed version, oldest first."""
    goals: dict[int, list[int]] = defaultdict(list)
    for goal in PlanGoal.objects.filter(plan__in=plans).order_by("pk"):
        goals[goal.plan_id].append(goal.pk)
    found: dict[int, list[tuple[datetime, list[int]]]] = defaultdict(list)
    for plan in sorted(plans, key=lambda p: (p.patient_id, p.number)):
        if plan.signed_at is not None:
            found[plan.patient_id].append((plan.signed_at, goals[plan.pk]))
    return found


def _goals_then(
    goals_at: dict[int, list[tuple[datetime, list[int]]]], patient_id: int, when: datetime
) -> list[int]:
    current: list[int] = []
    for signed_at, goal_ids in goals_at.get(patient_id, []):
        if signed_at <= when:
            current = goal_ids
    return current


def _relapse_prevention_plans(rng: random.Random, now: datetime) -> int:
    rows = []
    active = Enrollment.objects.filter(
        status="active", admitted_on__lte=now.date() - timedelta(days=14)
    )
    for enrollment in active.select_related("primary_therapist"):
        if enrollment.primary_therapist is None or rng.random() < 0.25:
            continue
        versions = rng.choice([1, 1, 2])
        for number in range(1, versions + 1):
            rows.append(
                RelapsePreventionPlan(
                    patient_id=enrollment.patient_id,
                    number=number,
                    supports=SUPPORTS[: number + 1],
                    author=enrollment.primary_therapist,
                    **RPP_TEXT,
                )
            )
    RelapsePreventionPlan.objects.bulk_create(rows)
    return len(rows)


def _sign(note: Note, author: User, when: datetime, goal_ids: list[int]) -> None:
    note.status = NoteStatus.SIGNED
    note.signed_at = when
    note.signed_by = author
    note.signer_name = author.signature_name
    note.requires_cosign = author.supervisor_id is not None
    note.content_sha256 = sha256_of(note_content(note, goal_ids))


SIGNED_FIELDS = [
    "status",
    "signed_at",
    "signed_by",
    "signer_name",
    "requires_cosign",
    "content_sha256",
]


def _group_notes(
    rng: random.Random, now: datetime, goals_at: dict[int, list[tuple[datetime, list[int]]]]
) -> int:
    """Signed group notes for the last two weeks' groups, fanned out to each attendee, except
    the latest: one draft, and a few sessions more than a day old with no note yet."""
    sessions = list(
        Session.objects.filter(
            kind=SessionKind.GROUP,
            status=SessionStatus.SCHEDULED,
            ends_at__lte=now,
            ends_at__gte=now - timedelta(days=NOTE_DAYS),
        )
        .select_related("facilitator", "group_type", "site")
        .prefetch_related(
            Prefetch(
                "bookings",
                queryset=Booking.objects.exclude(
                    status__in=[AttendanceStatus.CANCELLED, AttendanceStatus.CANCELLED_BY_CLINIC]
                ).select_related("patient"),
            )
        )
        .order_by("ends_at", "pk")
    )
    sessions = [session for session in sessions if session.bookings.all()]
    # Leave gaps for the worklist: the newest two sessions undocumented, one more a draft,
    # and two sessions of 1–3 days ago without a note (past the 24-hour limit).
    undocumented = {s.pk for s in sessions[-2:]}
    older = [s for s in sessions if now - timedelta(days=3) < s.ends_at < now - timedelta(days=1)]
    undocumented |= {s.pk for s in rng.sample(older, k=min(2, len(older)))}
    remaining = [s for s in sessions if s.pk not in undocumented]
    draft_pk = remaining[-1].pk if remaining else None

    group_notes: list[Note] = []
    for session in remaining:
        code = session.group_type.code if session.group_type else "process"
        attended = [b for b in session.bookings.all() if b.status in ATTENDED_STATUSES]
        group_notes.append(
            Note(
                site=session.site,
                kind=NoteKind.GROUP,
                format=NoteFormat.GROUP,
                session=session,
                author=session.facilitator,
                topic=TOPICS.get(code, session.title),
                summary=(
                    f"{session.title}. The group reviewed the week, then worked on "
                    f"{TOPICS.get(code, 'the topic').lower()} with a structured exercise and "
                    "closed with each member naming one step for the coming days."
                ),
                interventions=INTERVENTIONS.get(code, "Group process and skills practice."),
                curriculum_module_id=session.curriculum_module_id,
                participant_count=len(attended),
                started_at=session.starts_at,
                ended_at=session.ends_at,
            )
        )
    Note.objects.bulk_create(group_notes)

    entries: list[GroupNoteEntry] = []
    entry_goals: dict[int, list[int]] = {}
    for group_note, session in zip(group_notes, remaining, strict=True):
        for booking in sorted(
            session.bookings.all(), key=lambda b: (b.patient.last_name, b.patient.first_name, b.pk)
        ):
            present = booking.status in ATTENDED_STATUSES
            goal_ids = _goals_then(goals_at, booking.patient_id, session.starts_at)
            goal_ids = sorted(rng.sample(goal_ids, k=min(len(goal_ids), 1))) if present else []
            entries.append(
                GroupNoteEntry(
                    note=group_note,
                    booking=booking,
                    patient=booking.patient,
                    attendance_status=booking.status,
                    minutes=booking.minutes_attended if present else None,
                    participation=rng.choice(PARTICIPATION) if present else "",
                    mood=rng.choice(MOOD) if present else "",
                    response=rng.choice(RESPONSE) if present else "",
                    progress=rng.choice(PROGRESS) if present else "",
                    risk=rng.choice(RISK) if present else "",
                    plan=rng.choice(PLAN) if present else "",
                    absence_note="" if present else ABSENCE.get(booking.status, "Did not attend."),
                )
            )
            entry_goals[len(entries) - 1] = goal_ids
    GroupNoteEntry.objects.bulk_create(entries)
    goals_of = {entries[index].pk: goal_ids for index, goal_ids in entry_goals.items()}
    EntryGoal.objects.bulk_create(
        EntryGoal(note_id=entry.note_id, entry=entry, goal_id=goal_id)
        for entry in entries
        for goal_id in goals_of[entry.pk]
    )
    # Sign every group note but the draft: members first, then the group's own record.
    by_note: dict[int, list[GroupNoteEntry]] = defaultdict(list)
    for entry in entries:
        by_note[entry.note_id].append(entry)
    to_sign = [note for note in group_notes if note.session_id != draft_pk]
    members: list[tuple[Note, GroupNoteEntry]] = []
    for note in to_sign:
        note.signed_at = min(note.ended_at + timedelta(minutes=rng.randint(20, 240)), now)
        for entry in by_note[note.pk]:
            members.append(
                (
                    member_note(
                        note,
                        entry,
                        signer=note.author,
                        signed_at=note.signed_at,
                        requires_cosign=note.author.supervisor_id is not None,
                    ),
                    entry,
                )
            )
    Note.objects.bulk_create([member for member, _ in members])
    NoteGoal.objects.bulk_create(
        NoteGoal(note=member, goal_id=goal_id)
        for member, entry in members
        for goal_id in goals_of[entry.pk]
    )
    member_of_entry = {}
    for member, entry in members:
        group_note = member.group_note
        _sign(member, group_note.author, group_note.signed_at, goals_of[entry.pk])
        member_of_entry[entry.pk] = member
    for note in to_sign:
        note.sections = entries_record(by_note[note.pk], goals_of, member_of_entry)
        _sign(note, note.author, note.signed_at, [])
    Note.objects.bulk_update([m for m, _ in members], SIGNED_FIELDS, batch_size=200)
    Note.objects.bulk_update(to_sign, [*SIGNED_FIELDS, "sections"], batch_size=200)
    _cosign(
        [n for n in to_sign if n.requires_cosign],
        [m for m, _ in members if m.requires_cosign],
        rng,
        now,
    )
    return len(group_notes) + len(members)


def _cosign(
    group_notes: list[Note], members: list[Note], rng: random.Random, now: datetime
) -> None:
    """The supervisor has co-signed all but the latest few of the supervised notes."""
    individual = [note for note in members if note.group_note_id is None]
    pending = {note.pk for note in sorted(group_notes, key=lambda n: n.ended_at)[-3:]}
    pending |= {note.pk for note in sorted(individual, key=lambda n: n.ended_at)[-2:]}
    supervisor = User.objects.filter(username=SUPERVISOR).first()
    if supervisor is None:
        return
    rows = []
    for note in [*group_notes, *[m for m in members if m.requires_cosign]]:
        key = note.group_note_id or note.pk
        if key in pending or note.signed_at is None:
            continue
        signed_at = min(note.signed_at + timedelta(hours=rng.randint(2, 30)), now)
        cosignature = Cosignature(
            note=note,
            cosigner=supervisor,
            signer_name=supervisor.signature_name,
            signed_at=signed_at,
        )
        cosignature.content_sha256 = sha256_of(cosignature_content(cosignature))
        rows.append(cosignature)
    Cosignature.objects.bulk_create(rows)


def _individual_notes(
    rng: random.Random, now: datetime, goals_at: dict[int, list[tuple[datetime, list[int]]]]
) -> int:
    bookings = (
        Booking.objects.filter(
            session__kind=SessionKind.INDIVIDUAL,
            session__status=SessionStatus.SCHEDULED,
            session__ends_at__lte=now - timedelta(hours=30),
            session__ends_at__gte=now - timedelta(days=NOTE_DAYS),
            status__in=ATTENDED_STATUSES,
        )
        .select_related("session__site", "session__facilitator", "patient")
        .order_by("session__ends_at", "pk")
    )
    notes: list[tuple[Note, list[int]]] = []
    for booking in bookings:
        session = booking.session
        note_format = rng.choice([NoteFormat.DAP, NoteFormat.DAP, NoteFormat.BIRP, NoteFormat.SOAP])
        minutes = booking.minutes_attended or session.duration_minutes
        sections = {
            key: text.format(days=rng.randint(12, 60))
            for key, text in INDIVIDUAL_SECTIONS[note_format].items()
        }
        goal_ids = _goals_then(goals_at, booking.patient_id, session.starts_at)
        note = Note(
            site=session.site,
            kind=NoteKind.INDIVIDUAL,
            format=note_format,
            session=session,
            patient=booking.patient,
            booking=booking,
            author=session.facilitator,
            started_at=session.starts_at,
            ended_at=session.starts_at + timedelta(minutes=minutes),
            attendance_status=booking.status,
            minutes=minutes,
            sections=sections,
            service_code=psychotherapy_code(minutes) or "",
        )
        notes.append((note, goal_ids[:2]))
    Note.objects.bulk_create([note for note, _ in notes])
    NoteGoal.objects.bulk_create(
        NoteGoal(note=note, goal_id=goal_id) for note, goal_ids in notes for goal_id in goal_ids
    )
    for note, goal_ids in notes:
        _sign(
            note,
            note.author,
            min(note.ended_at + timedelta(hours=rng.randint(1, 6)), now),
            goal_ids,
        )
    Note.objects.bulk_update([note for note, _ in notes], SIGNED_FIELDS, batch_size=200)
    _cosign([], [note for note, _ in notes if note.requires_cosign], rng, now)
    return len(notes)
