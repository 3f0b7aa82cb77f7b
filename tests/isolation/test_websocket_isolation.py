"""Websocket routes and tenant isolation.

Every websocket route must have a case here that connects as a member of another organization
and is refused; a route added without one fails ``test_every_websocket_route_has_a_case``.
"""

from helpdesk.routing import websocket_urlpatterns

# route pattern -> the test (in this package) that proves it refuses other organizations
WEBSOCKET_CASES: dict[str, str] = {}


def test_every_websocket_route_has_a_case() -> None:
    routes = {str(route.pattern) for route in websocket_urlpatterns}
    assert routes - set(WEBSOCKET_CASES) == set(), "add an isolation case for these routes"
