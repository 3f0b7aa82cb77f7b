from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import tickets.receivers  # noqa: F401  (the console's live updates)
        from tickets.delivery import adapter_register
        from tickets.email.outbound import EmailAdapter
        from tickets.models import Channel

        adapter_register(Channel.EMAIL, EmailAdapter())

        from helpdesk.demo import demo_seeder_register
        from tickets.demo import seed_demo_tickets

        demo_seeder_register(seed_demo_tickets)
