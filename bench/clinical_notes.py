"""Benchmark: clinical documentation at the size of a large organization.

Builds the organization of ``iop_pages.py`` (two sites, 2,000 patients in treatment, a year of
groups with attendance) in a throwaway database and documents it the way a clinic would have:
treatment plans signed in the first week and reviewed every 30 days, a signed group note for
every held group fanned out to each attendee's own note (with the plan goal it addressed),
supervised clinicians' notes co-signed by their supervisor, addenda, and a year of the
disclosure log. The newest sessions are left undocumented or as drafts, and the last days'
supervised notes wait in the co-sign queue, as in a live clinic. Records are written in bulk
like ``openiop/clinical/demo.py`` writes them — drafts, goal links, then one update to signed
with the fingerprint the services would have given (``openiop.clinical.hashing``).

Then it times the documentation pages through the whole Django stack beside the minimal
signed-in view of ``iop_pages.py``, and the signing of a 12-patient group note through the
services (a fresh draft for every run).

    .venv/bin/python bench/clinical_notes.py             # SQLite (a temp file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/openiop_bench \\
      .venv/bin/python bench/clinical_notes.py           # PostgreSQL (a throwaway database)

Options: --patients N (active, default 2000), --weeks N (history, default 52), --note-weeks N
(how far back groups are documented, default all), --runs N. Prints the size it built,
p50/p95 and SQL queries per item; asserts nothing (DESIGN.md §7). Results:
docs/performance.md.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

# The sibling benchmark's organization, helpers and timing table.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from iop_pages import (
    BATCH,
    Built,
    bench_urlconf,
    build,
    configure,
    percentile,
    progress,
    throwaway_database,
    time_pages,
)

SESSIONS_PER_CHUNK = 1_500  # groups documented per round trip of bulk writes
SUPERVISEES = 4  # clinicians whose notes the busy therapist co-signs
GROUP_SIZE = 12  # the group-note page and the signing run use groups this size
AWAITING_HOURS = 20  # sessions this recent have no note yet
COSIGN_LAG = timedelta(days=3)  # supervised notes signed since then wait in the queue
DISCLOSURES_PER_DAY = 20  # per site


@dataclass
class Documented:
    plans: int = 0
    plan_rows: int = 0
    group_notes: int = 0
    member_notes: int = 0
    entries: int = 0
    goal_links: int = 0
    drafts: int = 0
    undocumented: int = 0
    cosignatures: int = 0
    addenda: int = 0
    disclosures: int = 0
    goals_at: dict[int, list[tuple[datetime, list[int]]]] = field(default_factory=dict)


@dataclass
class Targets:
    """What the timed pages look at."""

    busy: Any  # the therapist with the fullest worklist (and a co-sign queue)
    facilitator: Any  # runs the 12-patient groups
    long_stay_patient_id: int
    note_id: int
    signed_group_session_id: int
    draft_group_session_id: int
    signing_session_ids: list[int]


def set_up_staff(built: Built) -> dict[int, Any]:
    """Credentials for everyone; the busy therapist supervises a few clinicians."""
    from openiop.accounts.models import User

    User.objects.filter(username__startswith="bench-t").update(credentials="LCSW")
    site_staff = list(
        User.objects.filter(username__startswith=f"bench-t{built.site.pk}-").order_by("pk")
    )
    busy = site_staff[0]
    User.objects.filter(pk=busy.pk).update(is_clinical_supervisor=True)
    User.objects.filter(pk__in=[u.pk for u in site_staff[1 : 1 + SUPERVISEES]]).update(
        supervisor=busy
    )
    return {user.pk: user for user in User.objects.all()}


def pad_groups(built: Built, facilitator_id: int, count: int, now: datetime) -> list[int]:
    """The ``count`` latest groups ``facilitator_id`` ran more than a day ago, each topped up
    to twelve booked patients with drop-ins; newest first."""
    from openiop.programs.models import Enrollment
    from openiop.scheduling.models import Booking, Session

    sessions = list(
        Session.objects.filter(
            site=built.site,
            facilitator_id=facilitator_id,
            kind="group",
            ends_at__lte=now - timedelta(days=1),
        ).order_by("-ends_at")[:count]
    )
    active = list(
        Enrollment.objects.filter(status="active", program__site=built.site).order_by("pk")
    )
    booked = defaultdict(set)
    for session_id, patient_id in Booking.objects.filter(session__in=sessions).values_list(
        "session_id", "patient_id"
    ):
        booked[session_id].add(patient_id)
    rows = []
    for session in sessions:
        extra = [e for e in active if e.patient_id not in booked[session.pk]]
        for enrollment in extra[: GROUP_SIZE - len(booked[session.pk])]:
            rows.append(
                Booking(
                    session=session,
                    patient_id=enrollment.patient_id,
                    enrollment=enrollment,
                    kind="drop_in",
                    status="present",
                    minutes_attended=session.duration_minutes,
                    recorded_at=session.ends_at,
                )
            )
    Booking.objects.bulk_create(rows)
    return [session.pk for session in sessions]


def update_rows(model: Any, rows: list[Any], fields: list[str]) -> None:
    """``bulk_update`` as one parameterized UPDATE per row sent with ``executemany``: the
    same statements reach the database, without the CASE expressions Django builds in
    Python for every row (which took most of the build's time)."""
    from django.db import connection, transaction

    columns = [model._meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(column.column)} = %s" for column in columns)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE id = %s"  # noqa: S608
    params = [
        [column.get_db_prep_save(getattr(row, column.attname), connection) for column in columns]
        + [row.pk]
        for row in rows
    ]
    # One transaction: in autocommit every row of an executemany would commit on its own.
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(params), BATCH):
            cursor.executemany(sql, params[start : start + BATCH])


# --- Treatment plans -------------------------------------------------------------------------


def write_plans(rng: random.Random, now: datetime, users: dict[int, Any], out: Documented) -> None:
    """Every enrollment's plan versions: the initial plan signed in its first week, a review
    every ``plan_review_days`` while in care. Written one version number at a time (a patient
    has at most one draft), each round: plans, their tree, fingerprints, one update to signed."""
    from django.utils import timezone

    from openiop.clinical.demo import PROBLEMS
    from openiop.clinical.hashing import plan_content, sha256_of
    from openiop.clinical.models import (
        PlanAcknowledgement,
        PlanGoal,
        PlanIntervention,
        PlanObjective,
        PlanProblem,
        TreatmentPlan,
    )
    from openiop.lib.dates import at_local
    from openiop.programs.models import Enrollment

    schedule: dict[int, list[Any]] = {}  # enrollment pk -> sign dates
    enrollments = {}
    for enrollment in Enrollment.objects.select_related("program__site", "patient"):
        today = timezone.localdate(now)
        end = enrollment.discharged_on or today
        day = enrollment.admitted_on + timedelta(days=rng.randint(2, 6))
        dates = []
        while day <= min(end, today):
            dates.append(day)
            day += timedelta(days=enrollment.program.plan_review_days)
        if dates:
            schedule[enrollment.pk] = dates
            enrollments[enrollment.pk] = enrollment
    specs = {pk: rng.sample(PROBLEMS, k=rng.choice([2, 2, 3])) for pk in schedule}
    threads: dict[int, list[Any]] = {}
    previous: dict[int, TreatmentPlan] = {}
    timeline: dict[int, list[tuple[datetime, list[int]]]] = defaultdict(list)
    rounds = max(len(dates) for dates in schedule.values())
    for number in range(1, rounds + 1):
        due = [pk for pk, dates in schedule.items() if len(dates) >= number]
        plans = TreatmentPlan.objects.bulk_create(
            [
                TreatmentPlan(
                    patient_id=enrollments[pk].patient_id,
                    enrollment=enrollments[pk],
                    number=number,
                    kind="initial" if number == 1 else "review",
                    previous=previous.get(pk),
                    summary="Presenting with substance use affecting work and family; "
                    "motivated, with a supportive sibling.",
                    author_id=enrollments[pk].primary_therapist_id,
                )
                for pk in due
            ],
            batch_size=BATCH,
        )
        problems = PlanProblem.objects.bulk_create(
            [
                PlanProblem(plan=plan, position=position, statement=spec.problem)
                for pk, plan in zip(due, plans, strict=True)
                for position, spec in enumerate(specs[pk])
            ],
            batch_size=BATCH,
        )
        goals = []
        problem_iter = iter(problems)
        for pk, plan in zip(due, plans, strict=True):
            threads.setdefault(pk, [None] * len(specs[pk]))
            for index, spec in enumerate(specs[pk]):
                goal = PlanGoal(
                    plan=plan, problem=next(problem_iter), position=0, statement=spec.goal
                )
                threads[pk][index] = threads[pk][index] or goal.thread
                goal.thread = threads[pk][index]
                goals.append((pk, spec, goal))
        PlanGoal.objects.bulk_create([goal for _, _, goal in goals], batch_size=BATCH)
        PlanObjective.objects.bulk_create(
            [
                PlanObjective(
                    plan=goal.plan,
                    goal=goal,
                    position=position,
                    statement=statement,
                    target_date=enrollments[pk].admitted_on + timedelta(days=30 * (position + 1)),
                    status="met" if number > position + 2 else "open",
                )
                for pk, spec, goal in goals
                for position, statement in enumerate(spec.objectives)
            ],
            batch_size=BATCH,
        )
        PlanIntervention.objects.bulk_create(
            [
                PlanIntervention(
                    plan=goal.plan,
                    goal=goal,
                    position=position,
                    modality=modality,
                    frequency=frequency,
                    responsible_id=enrollments[pk].primary_therapist_id,
                )
                for pk, spec, goal in goals
                for position, (modality, frequency) in enumerate(spec.interventions)
            ],
            batch_size=BATCH,
        )
        goal_ids: dict[int, list[int]] = defaultdict(list)
        for _, _, goal in goals:
            goal_ids[goal.plan_id].append(goal.pk)
        for pk, plan in zip(due, plans, strict=True):
            enrollment = enrollments[pk]
            signed_on = schedule[pk][number - 1]
            author = users[plan.author_id]
            plan.status = "signed"
            plan.signed_at = min(
                at_local(signed_on, clock(16, 30), enrollment.program.site.time_zone), now
            )
            plan.signed_by = author
            plan.signer_name = author.signature_name
            plan.review_due_on = signed_on + timedelta(days=enrollment.program.plan_review_days)
            plan.content_sha256 = sha256_of(plan_content(plan))
            previous[pk] = plan
            timeline[enrollment.patient_id].append((plan.signed_at, goal_ids[plan.pk]))
        update_rows(
            TreatmentPlan,
            plans,
            ["status", "signed_at", "signed_by", "signer_name", "review_due_on", "content_sha256"],
        )
        PlanAcknowledgement.objects.bulk_create(
            [
                PlanAcknowledgement(
                    plan=plan,
                    typed_name=f"{enrollments[pk].patient.first_name} "
                    f"{enrollments[pk].patient.last_name}",
                    acknowledged_at=plan.signed_at + timedelta(minutes=rng.randint(2, 20)),
                    recorded_by_id=plan.author_id,
                )
                for pk, plan in zip(due, plans, strict=True)
                if rng.random() < 0.85
            ],
            batch_size=BATCH,
        )
        out.plans += len(plans)
        out.plan_rows += len(plans) + len(problems) + 3 * len(goals)
        progress("treatment plans", number, rounds)
    out.goals_at = dict(timeline)


# --- Group notes -----------------------------------------------------------------------------


def _goals_then(out: Documented, patient_id: int, when: datetime) -> list[int]:
    versions = out.goals_at.get(patient_id, [])
    index = bisect_right([signed_at for signed_at, _ in versions], when)
    return versions[index - 1][1] if index else []


def write_group_notes(
    rng: random.Random,
    now: datetime,
    users: dict[int, Any],
    out: Documented,
    *,
    weeks: int,
    reserved: set[int],
    forced: set[int],
) -> None:
    """A note for each held group of the last ``weeks`` weeks: signed and fanned out, except
    the last hours' sessions (not written yet), a few recent ones left unwritten past the
    deadline and a few drafts. ``reserved`` sessions stay undocumented, ``forced`` signed."""
    from django.db import transaction

    from openiop.scheduling.models import Session

    sessions = list(
        Session.objects.filter(
            kind="group", ends_at__lte=now, ends_at__gt=now - timedelta(weeks=weeks)
        )
        .exclude(pk__in=reserved)
        .order_by("ends_at", "pk")
        .values_list(
            "pk",
            "site_id",
            "facilitator_id",
            "group_type__code",
            "title",
            "starts_at",
            "ends_at",
            "curriculum_module_id",
        )
    )
    out.undocumented += len(reserved)
    plan: list[tuple[tuple[Any, ...], bool]] = []  # (session row, signed?)
    for row in sessions:
        ends_at = row[6]
        if row[0] in forced:
            plan.append((row, True))
        elif ends_at > now - timedelta(hours=AWAITING_HOURS) or (
            ends_at > now - timedelta(days=14) and rng.random() < 0.02
        ):
            out.undocumented += 1
        else:
            plan.append((row, not (ends_at > now - timedelta(days=7) and rng.random() < 0.02)))
    for start in range(0, len(plan), SESSIONS_PER_CHUNK):
        with transaction.atomic():
            _document_chunk(rng, now, users, out, plan[start : start + SESSIONS_PER_CHUNK])
        progress("group notes", min(start + SESSIONS_PER_CHUNK, len(plan)), len(plan))


def _document_chunk(
    rng: random.Random,
    now: datetime,
    users: dict[int, Any],
    out: Documented,
    chunk: list[tuple[tuple[Any, ...], bool]],
) -> None:
    from openiop.clinical.demo import (
        ABSENCE,
        INTERVENTIONS,
        MOOD,
        PARTICIPATION,
        PLAN,
        PROGRESS,
        RESPONSE,
        RISK,
        SIGNED_FIELDS,
        TOPICS,
        _sign,
    )
    from openiop.clinical.group_notes import GROUP_SERVICE_CODE, entries_record, member_note
    from openiop.clinical.models import EntryGoal, GroupNoteEntry, Note, NoteGoal
    from openiop.scheduling.models import ATTENDED_STATUSES, Booking

    bookings: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in (
        Booking.objects.filter(session_id__in=[session[0] for session, _ in chunk])
        .exclude(status__in=["cancelled", "cancelled_by_clinic"])
        .order_by("patient__last_name", "patient__first_name", "pk")
        .values_list("pk", "session_id", "patient_id", "status", "minutes_attended")
    ):
        bookings[row[1]].append(row)
    chunk = [(session, signed) for session, signed in chunk if bookings[session[0]]]
    group_notes = []
    for (pk, site_id, author_id, code, title, starts_at, ends_at, module_id), _ in chunk:
        code = code or "process"
        group_notes.append(
            Note(
                site_id=site_id,
                kind="group",
                format="group",
                session_id=pk,
                author_id=author_id,
                topic=TOPICS.get(code, title),
                summary=f"{title}. The group reviewed the week, then worked on "
                f"{TOPICS.get(code, 'the topic').lower()} with a structured exercise.",
                interventions=INTERVENTIONS.get(code, "Group process and skills practice."),
                curriculum_module_id=module_id,
                participant_count=sum(b[3] in ATTENDED_STATUSES for b in bookings[pk]),
                started_at=starts_at,
                ended_at=ends_at,
            )
        )
    Note.objects.bulk_create(group_notes, batch_size=BATCH)
    entries: list[tuple[GroupNoteEntry, list[int]]] = []
    for note in group_notes:
        for booking_id, _, patient_id, status, minutes in bookings[note.session_id]:
            present = status in ATTENDED_STATUSES
            goals = _goals_then(out, patient_id, note.started_at)
            entries.append(
                (
                    GroupNoteEntry(
                        note=note,
                        booking_id=booking_id,
                        patient_id=patient_id,
                        attendance_status=status,
                        minutes=minutes if present else None,
                        participation=rng.choice(PARTICIPATION) if present else "",
                        mood=rng.choice(MOOD) if present else "",
                        response=rng.choice(RESPONSE) if present else "",
                        progress=rng.choice(PROGRESS) if present else "",
                        risk=rng.choice(RISK) if present else "",
                        plan=rng.choice(PLAN) if present else "",
                        absence_note="" if present else ABSENCE.get(status, "Did not attend."),
                    ),
                    [rng.choice(goals)] if present and goals else [],
                )
            )
    GroupNoteEntry.objects.bulk_create([entry for entry, _ in entries], batch_size=BATCH)
    EntryGoal.objects.bulk_create(
        [
            EntryGoal(note=entry.note, entry=entry, goal_id=goal_id)
            for entry, goal_ids in entries
            for goal_id in goal_ids
        ],
        batch_size=BATCH,
    )
    to_sign = {note.pk for note, (_, signed) in zip(group_notes, chunk, strict=True) if signed}
    members = []
    for entry, goal_ids in entries:
        note = entry.note
        if note.pk not in to_sign:
            continue
        note.signed_at = note.signed_at or min(
            note.ended_at + timedelta(minutes=rng.randint(20, 240)), now
        )
        author = users[note.author_id]
        member = member_note(
            note,
            entry,
            signer=author,
            signed_at=note.signed_at,
            requires_cosign=author.supervisor_id is not None,
        )
        members.append((member, entry, goal_ids))
    Note.objects.bulk_create([member for member, _, _ in members], batch_size=BATCH)
    NoteGoal.objects.bulk_create(
        [
            NoteGoal(note=member, goal_id=goal_id)
            for member, _, goal_ids in members
            for goal_id in goal_ids
        ],
        batch_size=BATCH,
    )
    goals_of: dict[int, list[int]] = {}
    member_of: dict[int, Note] = {}
    entries_of: dict[int, list[GroupNoteEntry]] = defaultdict(list)
    for member, entry, goal_ids in members:
        note = member.group_note
        _sign(member, users[note.author_id], note.signed_at, goal_ids)
        goals_of[entry.pk] = goal_ids
        member_of[entry.pk] = member
        entries_of[note.pk].append(entry)
    signed = [note for note in group_notes if note.pk in to_sign]
    for note in signed:
        note.sections = entries_record(entries_of[note.pk], goals_of, member_of)
        note.service_code = GROUP_SERVICE_CODE
        _sign(note, users[note.author_id], note.signed_at, [])
    update_rows(Note, [member for member, _, _ in members], SIGNED_FIELDS)
    update_rows(Note, signed, [*SIGNED_FIELDS, "sections", "service_code"])
    _cosign_and_amend(rng, now, users, out, signed, [member for member, _, _ in members])
    out.group_notes += len(group_notes)
    out.drafts += len(group_notes) - len(signed)
    out.member_notes += len(members)
    out.entries += len(entries)
    out.goal_links += sum(len(goal_ids) for _, goal_ids in entries)
    out.goal_links += sum(len(goal_ids) for _, _, goal_ids in members)


def _cosign_and_amend(
    rng: random.Random,
    now: datetime,
    users: dict[int, Any],
    out: Documented,
    group_notes: list[Any],
    members: list[Any],
) -> None:
    """The supervisor co-signs supervised notes (the group note and its members) older than
    ``COSIGN_LAG``; about one signed note in 200 gets an addendum."""
    from openiop.clinical.hashing import addendum_content, cosignature_content, sha256_of
    from openiop.clinical.models import Addendum, Cosignature

    cosignatures = []
    for note in [*group_notes, *members]:
        if not note.requires_cosign or note.signed_at > now - COSIGN_LAG:
            continue
        supervisor = users[users[note.author_id].supervisor_id]
        cosignature = Cosignature(
            note=note,
            cosigner=supervisor,
            signer_name=supervisor.signature_name,
            signed_at=note.signed_at + timedelta(hours=rng.randint(2, 30)),
        )
        cosignature.content_sha256 = sha256_of(cosignature_content(cosignature))
        cosignatures.append(cosignature)
    Cosignature.objects.bulk_create(cosignatures, batch_size=BATCH)
    addenda = []
    for note in members:
        if rng.random() >= 0.005:
            continue
        author = users[note.author_id]
        addendum = Addendum(
            note=note,
            author=author,
            signer_name=author.signature_name,
            text="Late entry: the patient asked after group for a referral to a mutual-help "
            "meeting near work; list given.",
            signed_at=min(note.signed_at + timedelta(hours=rng.randint(1, 48)), now),
        )
        addendum.content_sha256 = sha256_of(addendum_content(addendum))
        addenda.append(addendum)
    Addendum.objects.bulk_create(addenda, batch_size=BATCH)
    out.cosignatures += len(cosignatures)
    out.addenda += len(addenda)


# --- Disclosure log --------------------------------------------------------------------------


def write_disclosures(rng: random.Random, now: datetime, weeks: int, out: Documented) -> None:
    from openiop.clinical.models import Disclosure, DisclosureBasis, DocumentKind
    from openiop.programs.models import Enrollment

    enrollments = list(
        Enrollment.objects.values_list("patient_id", "program__site_id", "primary_therapist_id")
    )
    recipients = [
        ("Example Logistics Inc., human resources", "Return-to-work verification"),
        ("County Treatment Court (fictional)", "Compliance report requested by the court"),
        ("The patient", "Own records for an employee-assistance program"),
        ("Example Community Counseling", "Continuity of care after discharge"),
    ]
    rows = []
    for _ in range(2 * DISCLOSURES_PER_DAY * weeks * 7):
        patient_id, site_id, by_id = rng.choice(enrollments)
        recipient, purpose = rng.choice(recipients)
        rows.append(
            Disclosure(
                site_id=site_id,
                patient_id=patient_id,
                document=rng.choice(DocumentKind.values),
                description="Attendance verification, last four weeks",
                recipient=recipient,
                purpose=purpose,
                basis=rng.choice(DisclosureBasis.values),
                disclosed_by_id=by_id,
                disclosed_at=now - timedelta(minutes=rng.randint(0, weeks * 7 * 24 * 60)),
                content_sha256=f"{rng.getrandbits(256):064x}",
            )
        )
    Disclosure.objects.bulk_create(rows, batch_size=BATCH)
    out.disclosures = len(rows)


# --- The run ---------------------------------------------------------------------------------


def document(built: Built, args: argparse.Namespace) -> tuple[Documented, Targets]:
    from django.db import connection
    from django.utils import timezone

    from openiop.clinical.group_notes import create_group_note
    from openiop.clinical.models import Note
    from openiop.programs.models import Enrollment
    from openiop.scheduling.models import Session

    rng = random.Random(args.seed)
    now = timezone.now()
    out = Documented()
    users = set_up_staff(built)
    busy = users[built.therapist.pk]
    facilitator = next(
        u
        for u in sorted(users.values(), key=lambda u: u.pk)
        if u.username.startswith(f"bench-t{built.site.pk}-") and u.pk > busy.pk + SUPERVISEES
    )
    padded = pad_groups(built, facilitator.pk, args.runs + 3, now)
    signed_group, draft_group, signing = padded[0], padded[1], padded[2:]
    write_plans(rng, now, users, out)
    write_group_notes(
        rng,
        now,
        users,
        out,
        weeks=args.note_weeks,
        reserved={draft_group, *signing},
        forced={signed_group},
    )
    write_disclosures(rng, now, args.weeks, out)
    # The draft 12-patient group note, written by the service.
    session = Session.objects.get(pk=draft_group)
    create_group_note(session, author=facilitator, shared={"topic": "Urge surfing"}, entries=[])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    # The long-stay patient: in day treatment (20 groups a week) the longest, in a supervised
    # clinician's cohort; the note page shows their latest co-signed note with an addendum.
    long_stay = (
        Enrollment.objects.filter(
            status="active",
            program__site=built.site,
            program__level_of_care__code="2.5",
            primary_therapist__supervisor=busy,
        )
        .order_by("admitted_on", "pk")
        .first()
    )
    note = (
        Note.objects.filter(patient_id=long_stay.patient_id, cosignature__isnull=False)
        .filter(addenda__isnull=False)
        .order_by("-started_at")
        .first()
    ) or Note.objects.filter(patient_id=long_stay.patient_id, status="signed").first()
    return out, Targets(
        busy=busy,
        facilitator=facilitator,
        long_stay_patient_id=long_stay.patient_id,
        note_id=note.pk,
        signed_group_session_id=signed_group,
        draft_group_session_id=draft_group,
        signing_session_ids=signing,
    )


def time_signing(targets: Targets) -> None:
    """create_group_note + sign_group_note on a fresh 12-patient group each run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from openiop.clinical.goals import current_goals
    from openiop.clinical.group_notes import create_group_note, sign_group_note
    from openiop.clinical.models import Note
    from openiop.scheduling.models import ATTENDED_STATUSES, Booking, Session

    timings: dict[str, list[float]] = {"create_group_note": [], "sign_group_note": []}
    queries: dict[str, int] = {}
    members = 0
    for index, session in enumerate(Session.objects.filter(pk__in=targets.signing_session_ids)):
        bookings = list(Booking.objects.filter(session=session))
        goals = current_goals(b.patient_id for b in bookings)
        entries = [
            {
                "patient_id": b.patient_id,
                "participation": "Engaged throughout; shared an example from the week.",
                "mood": "Euthymic, affect congruent.",
                "response": "Named two triggers and a coping strategy for each.",
                "progress": "Progressing: no use since the last session.",
                "risk": "No safety concerns observed.",
                "plan": "Continue the track; practise the skill daily.",
                "goal_ids": [goals[b.patient_id][0].pk] if goals.get(b.patient_id) else [],
            }
            if b.status in ATTENDED_STATUSES
            else {"patient_id": b.patient_id, "absence_note": "No-show; outreach call made."}
            for b in bookings
        ]
        shared = {
            "topic": "Mapping the path from trigger to use",
            "summary": "The group mapped a recent craving from trigger to choice point.",
            "interventions": "Relapse-prevention mapping; role-play of refusal skills.",
        }
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            note = create_group_note(
                session, author=targets.facilitator, shared=shared, entries=entries
            )
            elapsed = (time.perf_counter() - started) * 1000
        if index:  # the first run warms up
            timings["create_group_note"].append(elapsed)
        queries["create_group_note"] = len(captured)
        note = Note.objects.get(pk=note.pk)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            members = len(sign_group_note(note, user=targets.facilitator))
            elapsed = (time.perf_counter() - started) * 1000
        if index:
            timings["sign_group_note"].append(elapsed)
        queries["sign_group_note"] = len(captured)
    print(f"\n{'service (12 booked, ' + str(members) + ' notes)':<34} {'p50 ms':>8} {'p95 ms':>8}")
    for label, samples in timings.items():
        print(
            f"{label:<34} {percentile(samples, 50):8.1f} {percentile(samples, 95):8.1f}"
            f"   {queries[label]} queries, {len(samples)} runs"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--note-weeks", type=int, default=None)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    args.note_weeks = args.note_weeks or args.weeks
    with tempfile.TemporaryDirectory(prefix="openiop-bench-") as tmp:
        configure(Path(tmp))
        with throwaway_database() as where:
            run(where, args)


def run(where: str, args: argparse.Namespace) -> None:
    from django.test import Client, override_settings
    from django.urls import reverse

    from openiop.accounts.services import create_api_token
    from tests.factories import sign_in

    print(f"Building the organization in {where} …")
    started = time.perf_counter()
    built = build(active=args.patients, weeks=args.weeks, seed=args.seed)
    print(f"  organization built in {time.perf_counter() - started:.0f} s; documenting it …")
    started = time.perf_counter()
    out, targets = document(built, args)
    print(
        f"  documented in {time.perf_counter() - started:.0f} s: {out.plans:,} treatment plan "
        f"versions ({out.plan_rows:,} rows with their trees), {out.group_notes:,} group notes "
        f"({out.drafts:,} drafts) with {out.entries:,} entries, {out.member_notes:,} signed "
        f"attendee notes, {out.goal_links:,} goal links, {out.cosignatures:,} co-signatures, "
        f"{out.addenda:,} addenda, {out.disclosures:,} disclosures; {out.undocumented:,} held "
        f"groups without a note (last {AWAITING_HOURS} h, a few overdue, the signing runs')"
    )
    from openiop.clinical.models import Note

    chart_notes = Note.objects.filter(patient_id=targets.long_stay_patient_id).count()
    print(f"  long-stay patient {targets.long_stay_patient_id}: {chart_notes} notes")

    with override_settings(ROOT_URLCONF=bench_urlconf()):
        director, busy, facilitator = Client(), Client(), Client()
        sign_in(director, built.director, site=built.site)
        sign_in(busy, targets.busy, site=built.site)
        sign_in(facilitator, targets.facilitator, site=built.site)
        token = create_api_token(user=built.director, name="bench").secret
        api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        patient = targets.long_stay_patient_id
        pages: list[tuple[str, Callable[[], Any]]] = [
            ("minimal view", lambda: director.get("/bench-minimal/")),
            ("documentation worklist", lambda: busy.get(reverse("documentation"))),
            ("patient chart", lambda: busy.get(reverse("patient-chart", args=[patient]))),
            ("patient notes list", lambda: busy.get(reverse("patient-notes", args=[patient]))),
            ("note page", lambda: busy.get(reverse("note-detail", args=[targets.note_id]))),
            ("treatment plan", lambda: busy.get(reverse("plan-detail", args=[patient]))),
            (
                "group note, signed",
                lambda: facilitator.get(
                    reverse("group-note", args=[targets.signed_group_session_id])
                ),
            ),
            (
                "group note, draft",
                lambda: facilitator.get(
                    reverse("group-note", args=[targets.draft_group_session_id])
                ),
            ),
            ("API patient notes", lambda: api.get(f"/api/v1/patients/{patient}/notes")),
            ("disclosure log", lambda: director.get(reverse("disclosure-log"))),
        ]
        time_pages(pages, args.runs)
    time_signing(targets)


if __name__ == "__main__":
    main()
