"""Websocket routes and tenant isolation.

Every websocket route must have a case here that connects as a member of another organization
and is refused; a route added without one fails ``test_every_websocket_route_has_a_case``.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from helpdesk.models import Membership, Organization
from helpdesk.routing import websocket_urlpatterns
from tests.tickets.factories import make_ticket
from tests.tickets.test_consumers import connect, run

# route pattern -> the test (in this package) that proves it refuses other organizations
WEBSOCKET_CASES: dict[str, str] = {
    "ws/app/<slug:org>/tickets/": "test_ticket_list_socket_refuses_other_organizations",
}


def test_every_websocket_route_has_a_case() -> None:
    routes = {str(route.pattern) for route in websocket_urlpatterns}
    assert routes - set(WEBSOCKET_CASES) == set(), "add an isolation case for these routes"
    assert set(WEBSOCKET_CASES.values()) <= set(globals()), "the named test must exist"


@pytest.mark.django_db(transaction=True)
def test_ticket_list_socket_refuses_other_organizations(
    org: Organization, other_org: Organization, outsider: Membership
) -> None:
    async def scenario() -> None:
        # B's admin cannot listen to A's ticket list.
        communicator, connected, code = await connect(outsider.user, f"/ws/app/{org.slug}/tickets/")
        assert (connected, code) == (False, 4403)
        await communicator.disconnect()

        # On B's own list, A's new tickets never arrive.
        communicator, connected, _ = await connect(
            outsider.user, f"/ws/app/{other_org.slug}/tickets/"
        )
        assert connected
        await database_sync_to_async(make_ticket)(org, subject="Victim ticket")
        assert await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()

    run(scenario)
