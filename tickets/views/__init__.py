from tickets.views.console import ticket_list

__all__ = ["ticket_list"]
