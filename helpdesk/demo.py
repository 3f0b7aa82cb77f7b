"""Demo data hooks: higher apps (tickets, chat, telephony, automations) add their part of the
demo organization here from ``AppConfig.ready()``, keeping dependencies pointing one way."""

from __future__ import annotations

from collections.abc import Callable

from helpdesk.models import Membership

# Each seeder gets the demo organization's admin membership; it must be idempotent.
DemoSeeder = Callable[[Membership], None]
_seeders: list[DemoSeeder] = []


def demo_seeder_register(seeder: DemoSeeder) -> None:
    if seeder not in _seeders:
        _seeders.append(seeder)


def demo_seeders() -> list[DemoSeeder]:
    return list(_seeders)
