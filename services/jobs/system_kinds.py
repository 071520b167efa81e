"""The jobs that are not files: notification delivery and re-indexing (issue 13).

- ``deliver`` (a system job, no owner): one pass of the delivery worker
  (services.delivery.run_pass: plan the new notifications, write due digests, send what is
  due). A request that wrote notifications asks for one when it ends (:func:`deliver_soon`,
  at most one waiting at a time), so e-mails and group posts leave within seconds without a
  cron line; ``flask notify`` from cron still runs the retries and the digests' hour.
- ``reindex`` (an administrator's): the full-text index rebuilt batch by batch
  (services.search_index.reindex), with its progress.
"""

from __future__ import annotations

from flask import current_app, g, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, exists, select

from models import Job, Notification, db
from rules import Role
from rules.errors import N_

from .core import QUEUED, JobContext, JobRefused, kind, submit

DELIVER, REINDEX = "deliver", "reindex"
ADMIN_ONLY = N_("Only an administrator may rebuild the search index.")


@kind(DELIVER, label=_l("Notification delivery"), system=True)
def run_delivery(ctx: JobContext) -> None:
    from services.delivery import run_pass

    result = run_pass()
    ctx.progress(result.sent if hasattr(result, "sent") else 0, force=True)


@kind(REINDEX, label=_l("Search index rebuild"))
def run_reindex(ctx: JobContext) -> None:
    from services.search_index import reindex

    if ctx.owner is None or ctx.owner.role != Role.ADMIN:
        raise JobRefused(_(ADMIN_ONLY))
    reindex(db.session, batch=int(ctx.params.get("batch") or 5000), progress=ctx.progress)


def submit_reindex(admin, batch: int = 5000) -> Job:
    return submit(REINDEX, admin, {"batch": batch}, title=_("Search index rebuild"))


# --- delivery as soon as notifications are written ------------------------------------------


def deliver_soon() -> None:
    """Note that this request (or command) wrote notifications; :func:`flush_delivery` asks
    for a delivery pass once it is over."""
    if has_app_context():
        g.desk_deliver_soon = True


def flush_delivery() -> None:
    """Submit one delivery job if this request wrote notifications and none is waiting."""
    if not g.pop("desk_deliver_soon", False):
        return
    if not current_app.config.get("JOBS_AUTO_DELIVER", True):
        return
    try:
        waiting = db.session.scalar(select(exists().where(Job.kind == DELIVER,
                                                          Job.status == QUEUED)))
        db.session.rollback()
        if not waiting:
            submit(DELIVER, None, {}, title="")
    except Exception:  # noqa: BLE001 - cron's `flask notify` delivers later anyway
        db.session.rollback()
        current_app.logger.exception("could not ask for a delivery pass")


def _notification_written(session, flush_context=None) -> None:
    if any(isinstance(obj, Notification) for obj in session.new):
        deliver_soon()


def _bulk_notification(orm_execute_state) -> None:
    statement = orm_execute_state.statement
    if orm_execute_state.is_insert and getattr(statement, "table", None) is not None \
            and statement.table.name == "notification":
        deliver_soon()


def install(app) -> None:
    for name, listener in (("after_flush", _notification_written),
                           ("do_orm_execute", _bulk_notification)):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)

    @app.teardown_request
    def _deliver(_exc=None):
        if g.get("desk_deliver_soon"):
            flush_delivery()
