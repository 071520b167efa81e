"""``flask fetch-mail``: read the complaints mailbox once (services.mail_intake), or every few
seconds with ``--loop``. Safe from cron on several hosts at once: the unique Message-ID
decides which host records a message; the other moves on."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext


def register(app: Flask) -> None:
    app.cli.add_command(fetch_mail_command)


@click.command("fetch-mail")
@with_appcontext
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Take in at most this many messages per pass.")
@click.option("--loop", "every", type=click.FloatRange(min=1), default=None,
              metavar="SECONDS", help="Keep running: a pass every SECONDS.")
@click.option("--passes", type=click.IntRange(min=1), default=None,
              help="With --loop: stop after this many passes (default: run until stopped).")
def fetch_mail_command(limit, every, passes):
    """Register each new message of the complaints mailbox; move it to the done folder."""
    from cli_notify import run_loop
    from services.mail_intake import MailboxError, fetch

    if every is None:
        try:
            click.echo(fetch(limit=limit).summary())
        except MailboxError as err:
            raise click.ClickException(str(err)) from None
        return
    run_loop("flask fetch-mail", lambda: fetch(limit=limit).summary(), every, passes)
