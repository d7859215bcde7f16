from backend.apps import BoneSyncAppConfig


class SupplementsConfig(BoneSyncAppConfig):
    name = "apps.supplements"
    label = "supplements"

    def register(self) -> None:
        from apps.medications.facts import register_supplement_plan_provider
        from apps.supplements import stock as supplement_stock
        from apps.supplements.reminders import SupplementReminderSource
        from apps.supplements.selectors import supplement_plan_facts
        from backend.reminder_sources import register_reminder_source

        register_supplement_plan_provider(supplement_plan_facts)
        register_reminder_source(SupplementReminderSource())
        supplement_stock.register()
