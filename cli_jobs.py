"""``flask worker``: an RQ worker for the desk's jobs (issue 13), on any number of hosts;
``flask jobs-tidy``: the jobs' housekeeping alone (``flask sweep`` runs it too)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext


def register(app: Flask) -> None:
    app.cli.add_command(worker_command)
    app.cli.add_command(tidy_command)


@click.command("worker")
@with_appcontext
@click.option("--burst", is_flag=True, help="Stop when the queue is empty (tests, cron).")
def worker_command(burst):
    """Run jobs from Redis (REDIS_URL): exports, workbooks, delivery, re-indexing. Each job
    runs in a forked process; kill the worker and its job is queued again (or failed) by the
    housekeeping once its heartbeat stops."""
    from redis import Redis
    from rq import Queue, Worker

    from services.jobs.executors import QUEUE_NAME

    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException("REDIS_URL is not set: without Redis the web processes "
                                   "run the jobs themselves (JOBS_EXECUTOR=thread).")
    connection = Redis.from_url(url)
    worker = Worker([Queue(QUEUE_NAME, connection=connection)], connection=connection)
    worker.work(burst=burst, with_scheduler=False)


@click.command("jobs-tidy")
@with_appcontext
def tidy_command():
    """Queue again (or fail) the jobs whose worker stopped; delete expired result files."""
    from services.jobs import housekeeping

    click.echo(housekeeping().summary())
