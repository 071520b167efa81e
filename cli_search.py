"""``flask reindex``: build the full-text search index of complaints again.

The services keep the index in sync on every write (services/search_index.py); this
rebuilds it whole: after a restore, a bulk load (bench/fill.py) or a change of the terms.
"""

from __future__ import annotations

import time

import click
from flask import Flask
from flask.cli import with_appcontext


def register(app: Flask) -> None:
    app.cli.add_command(reindex_command)


@click.command("reindex")
@with_appcontext
@click.option("--batch", default=2000, show_default=True, help="Complaints per batch.")
def reindex_command(batch):
    """Rebuild the search index (one transaction: searches see the old index until done)."""
    from models import db
    from models.engine import write_transaction
    from services.search_index import rebuild

    started = time.perf_counter()

    def progress(done):
        if done % (batch * 25) == 0:
            click.echo(f"  {done} complaints indexed…")

    with write_transaction(db.session):
        count = rebuild(db.session.connection(), batch=max(1, batch), progress=progress)
    click.echo(f"Indexed {count} complaints in {time.perf_counter() - started:.1f} s.")
