"""``flask notify``: one pass of the delivery worker (services.delivery), or one every few
seconds with ``--loop``. Safe to run from cron on several hosts at once: each message is
claimed by one worker at a time (see the guarantee in services/delivery/worker.py)."""

from __future__ import annotations

import time

import click
from flask import Flask, current_app
from flask.cli import with_appcontext


def register(app: Flask) -> None:
    app.cli.add_command(notify_command)


@click.command("notify")
@with_appcontext
@click.option("--loop", "every", type=click.FloatRange(min=0.1), default=None,
              metavar="SECONDS", help="Keep running: a pass every SECONDS.")
@click.option("--passes", type=click.IntRange(min=1), default=None,
              help="With --loop: stop after this many passes (default: run until stopped).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Send at most this many messages per pass.")
def notify_command(every, passes, limit):
    """Deliver notifications: plan e-mails and robot posts, write digests, send what is due."""
    from services.delivery import run_pass

    if every is None:
        click.echo(run_pass(limit=limit).summary())
        return
    run_loop("flask notify", lambda: run_pass(limit=limit).summary(), every, passes)


def run_loop(name: str, one_pass, every: float, passes: int | None) -> None:
    """Run ``one_pass`` (it returns its summary line) every ``every`` seconds, ``passes``
    times or until stopped; a failed pass (a database or server hiccup) is logged and the
    next one tried: it must not end a long-running worker. Shared by ``flask notify`` and
    ``flask fetch-mail``."""
    from models import db

    done = 0
    while passes is None or done < passes:
        started = time.monotonic()
        try:
            click.echo(one_pass())
        except Exception:
            current_app.logger.exception("%s: the pass failed; trying again", name)
            click.echo("The pass failed (see the log); trying again.", err=True)
        finally:
            db.session.remove()
        done += 1
        if passes is not None and done >= passes:
            break
        time.sleep(max(0.0, every - (time.monotonic() - started)))
