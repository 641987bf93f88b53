"""Report reads go to the read replica when `DATABASE_REPLICA_URL` configures one.

The reports' raw SQL picks its connection with `report_db()`; ORM reads of the reporting read
model go through this router. Writes (the rollup refresh) always go to the primary, and nothing
is migrated on the replica (it follows the primary)."""

from __future__ import annotations

from django.conf import settings

READ_MODELS = frozenset(
    {"salesfact", "productcost", "salesrollup", "salesdaytotal", "salesordertotal", "salesfxday"}
)


def report_db() -> str:
    return getattr(settings, "OMS_REPORTS_DATABASE", "default")


class ReportReplicaRouter:
    def db_for_read(self, model, **hints):
        if model._meta.app_label == "reporting" and model._meta.model_name in READ_MODELS:
            return report_db()
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, read through two connections

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
