from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    name = "automations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import automations.actions
        import automations.conditions
        import automations.engine.events  # noqa: F401  (the outbox receivers)
