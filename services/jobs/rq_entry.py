"""What an RQ worker runs: ``run(job_id)``. Under ``flask worker`` the app's context is
there already; under a bare ``rq worker`` the app is made from the environment once per
process. RQ forks a work-horse per job: the horse drops the database connections it
inherited from its parent (never shared across processes) before it runs the job."""

from __future__ import annotations

from flask import current_app, has_app_context

_app = None


def _the_app():
    global _app
    if has_app_context():
        return current_app._get_current_object()
    if _app is None:
        from app import create_app

        _app = create_app()
    return _app


def run(job_id: int) -> str:
    from models import db

    from .core import run_job

    app = _the_app()
    with app.app_context():
        db.engine.dispose(close=False)
        return run_job(job_id)
