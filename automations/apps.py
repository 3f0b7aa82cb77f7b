from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    name = "automations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import automations.actions
        import automations.conditions
        import automations.engine.events  # noqa: F401  (the outbox receivers)
        from automations.demo import seed_demo_workflows
        from helpdesk.demo import demo_seeder_register

        demo_seeder_register(seed_demo_workflows)
