"""Trigram indexes for the console's search (PostgreSQL only; nothing happens on SQLite).

The console searches with ``icontains``, which Django writes on PostgreSQL as
``UPPER(col::text) LIKE UPPER('%…%')``; a ``gin_trgm_ops`` index on that same expression lets
such a search read a few index pages instead of every ticket of the organization.
Built ``CONCURRENTLY`` (so the migration is not atomic) to keep a busy table writable.
"""

from django.db import migrations

INDEXES = [
    ("tickets_ticket", "ticket_subject_trgm", "UPPER(subject::text)"),
    ("helpdesk_customer", "customer_name_trgm", "UPPER(name::text)"),
    ("helpdesk_customeremail", "customer_email_trgm", "UPPER(email::text)"),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, name, expression in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} "
            f"ON {table} USING gin ({expression} gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _table, name, _expression in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("helpdesk", "0001_initial"),
        ("tickets", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
