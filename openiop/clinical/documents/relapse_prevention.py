"""The relapse-prevention plan, latest version, as the patient's own printed copy."""

from __future__ import annotations

from reportlab.platypus import Flowable

from openiop.clinical.documents.layout import (
    DocumentContext,
    fields,
    fmt_time,
    grid,
    heading,
    narrative,
    para,
    render,
)
from openiop.clinical.models import RelapsePreventionPlan

SECTIONS = (
    ("triggers", "My triggers"),
    ("warning_signs", "My warning signs"),
    ("high_risk_situations", "High-risk situations"),
    ("coping_strategies", "Coping strategies"),
    ("craving_plan", "When a craving comes"),
)


def latest_plan(patient_id: int) -> RelapsePreventionPlan | None:
    return (
        RelapsePreventionPlan.objects.filter(patient_id=patient_id)
        .select_related("author")
        .order_by("-number")
        .first()
    )


def build_relapse_prevention_plan(ctx: DocumentContext, plan: RelapsePreventionPlan) -> bytes:
    story: list[Flowable] = [
        fields(
            [
                ("Version", str(plan.number)),
                (
                    "Written",
                    f"{fmt_time(plan.created_at, ctx.time_zone)} with {plan.author.signature_name}",
                ),
            ]
        )
    ]
    for attribute, label in SECTIONS:
        story += [
            heading(label, 3),
            narrative(getattr(plan, attribute), empty="Nothing written yet."),
        ]
    story.append(heading("People who support my recovery", 3))
    supports = [s for s in plan.supports if isinstance(s, dict)]
    if supports:
        story.append(
            grid(
                ["Name", "Phone", "Relationship"],
                [
                    [
                        str(s.get("name", "")),
                        str(s.get("phone", "")),
                        str(s.get("relationship", "")),
                    ]
                    for s in supports
                ],
                [3, 2, 2.5],
            )
        )
    else:
        story.append(para("No one listed yet.", "muted"))
    story += [
        heading("In an emergency", 3),
        narrative(plan.emergency_steps, empty="Nothing written yet."),
        para(
            "If you are in danger or thinking of harming yourself, call 911, or call or text "
            "988 (Suicide and Crisis Lifeline).",
            "cell_bold",
        ),
    ]
    return render(ctx, story)
