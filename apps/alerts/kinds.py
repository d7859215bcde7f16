"""Alert kinds the worklist names in words (its kind filter, the API docs). A kind not listed reads as its code with
spaces (``denosumab_late`` -> "denosumab late")."""

LOW_ADHERENCE = "low_adherence"  # a bone medicine's 90-day PDC below 0.80 (DOMAIN P1)
AI_ADHERENCE_LOW = "ai_adherence_low"  # the aromatase inhibitor's 90-day PDC below 0.80 (DOMAIN P1, T1)
AI_STOPPED = "ai_stopped"  # she stopped her aromatase inhibitor, not on her doctor's decision (DOMAIN T1)
AI_RESTARTED = "ai_restarted"  # she restarted it, and no active schedule of it exists: enter one (DOMAIN T1)

KIND_LABELS: dict[str, str] = {
    LOW_ADHERENCE: "Bone medicine adherence low",
    AI_ADHERENCE_LOW: "Aromatase inhibitor adherence low",
    AI_STOPPED: "Aromatase inhibitor stopped",
    AI_RESTARTED: "Aromatase inhibitor restarted: no schedule",
    "review_changes_requested": "Review: changes requested",
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " "))
