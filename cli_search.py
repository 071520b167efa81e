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
@click.option("--batch", default=5000, show_default=True, help="Complaints per batch.")
def reindex_command(batch):
    """Rebuild the search index, one transaction per batch of complaints.

    Each batch replaces the index rows of its range of complaints and commits: searches
    meanwhile find every complaint (by its old or its new terms), writers wait at most one
    batch, and memory holds one batch at a time.
    """
    from models import db
    from services.search_index import reindex

    started = time.perf_counter()
    done = reindex(db.session, batch=max(1, batch), echo=click.echo)
    click.echo(f"Indexed {done} complaints in {time.perf_counter() - started:.1f} s.")
