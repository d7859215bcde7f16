from backend.apps import BoneSyncAppConfig


class JointPainConfig(BoneSyncAppConfig):
    name = "apps.joint_pain"
    label = "joint_pain"

    def register(self) -> None:
        from apps.joint_pain.reminders import CheckInNudgeSource, CheckInReminderSource
        from backend.reminder_sources import register_reminder_source

        register_reminder_source(CheckInReminderSource())
        register_reminder_source(CheckInNudgeSource())
