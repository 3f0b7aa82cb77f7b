"""Domain signals of the tickets app, sent by its services inside the writing transaction.

Receivers must only record or schedule work (an outbox row, ``transaction.on_commit``); they
never do I/O themselves. Every signal is sent with ``sender=Ticket`` and keyword arguments:

- ``ticket_created``: ticket, actor (Membership or None), message (the first one, or None)
- ``message_received``: ticket, message, first_customer_message (bool)
- ``message_sent``: ticket, message (stored outbound message: agent or automated)
- ``note_added``: ticket, message
- ``ticket_assigned``: ticket, assignee (User or None), previous (User or None), actor
- ``tag_added``: ticket, tag, actor
- ``tag_removed``: ticket, tag, actor
- ``status_changed``: ticket, old, new, actor
- ``type_changed``: ticket, old, new, actor
- ``priority_changed``: ticket, old, new, actor
- ``team_changed``: ticket, old, new, actor
- ``return_created``: ticket, actor (a ticket became, or was created as, a return)
- ``tickets_merged``: ticket (the target), merged (the source), actor
- ``ticket_changed``: ticket, fields (set of names) — any change, for live consoles
- ``delivery_updated``: ticket, message — an outbound message's delivery state changed
"""

from django.dispatch import Signal

ticket_created = Signal()
message_received = Signal()
message_sent = Signal()
note_added = Signal()
ticket_assigned = Signal()
tag_added = Signal()
tag_removed = Signal()
status_changed = Signal()
type_changed = Signal()
priority_changed = Signal()
team_changed = Signal()
return_created = Signal()
tickets_merged = Signal()
ticket_changed = Signal()
delivery_updated = Signal()
