"""Maintenance commands: ``flask retention``, ``flask backup`` and ``flask restore``.

Registered by ``app.register_commands``; the work is done by ``services.retention`` and
``services.backup``. Backups and restores here are for SQLite; PostgreSQL uses its own
tools (README, "Retention and backups").
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext


def register(app: Flask) -> None:
    app.cli.add_command(retention_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


# --- retention ------------------------------------------------------------------------------


def _when(at) -> str:
    return f"{at:%Y-%m-%d %H:%M}" if at else "—"


@click.command("retention")
@with_appcontext
@click.option("--dry-run/--apply", "dry_run", default=True,
              help="Only count what is due (the default), or anonymise it.")
def retention_command(dry_run):
    """Anonymise the personal data of complaints closed more than RETENTION_YEARS ago."""
    from services.retention import RetentionError, run

    try:
        result = run(apply=not dry_run)
    except RetentionError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"Retention: {result.years} years; complaints closed before "
               f"{_when(result.cutoff)} (now {_when(result.now)}, company time).")
    if dry_run:
        click.echo(f"Dry run, nothing written: {result.complaints} complaint(s) to anonymise, "
                   f"closed {_when(result.oldest_closed)} … {_when(result.newest_closed)}, "
                   f"with {result.events} event note(s) and {result.callbacks} callback "
                   f"note(s).")
    else:
        click.echo(f"Anonymised {result.complaints} complaint(s), closed "
                   f"{_when(result.oldest_closed)} … {_when(result.newest_closed)}, with "
                   f"{result.events} event note(s) and {result.callbacks} callback note(s).")
    if result.held_back:
        click.echo(f"Held back: {result.held_back} complaint(s) received in the same month from "
                   f"the same phone as a complaint not yet due (anonymised together later, so "
                   f"the repeat-complainant figures stay the same).")
    if dry_run and result.complaints:
        click.echo("Run `flask retention --apply` to anonymise them.")


# --- backup and restore -------------------------------------------------------------------


def _database_path() -> Path:
    from models import db
    from services.backup import BackupError, database_path

    try:
        return database_path(db.engine)
    except BackupError as err:
        raise click.ClickException(str(err)) from None


def _echo_file(found) -> None:
    click.echo(f"Integrity check: {found.integrity}. Schema revision: {found.revision}.")
    rows = ", ".join(f"{table} {n}" for table, n in found.counts.items()
                     if table != "alembic_version")
    click.echo(f"Rows: {rows}.")


@click.command("backup")
@with_appcontext
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The file to write (replaced if it exists).")
def backup_command(output):
    """Copy the SQLite database while it is in use (online backup API), then check the copy."""
    from services.backup import BackupError, backup

    db_path = _database_path()
    try:
        result = backup(db_path, output)
    except BackupError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"Backed up {result.source} to {result.copy.path}: {result.copy.size:,} bytes "
               f"in {result.seconds:.1f} s ({result.steps} step(s)).")
    _echo_file(result.copy)


def _revisions() -> tuple[list[str], list[str]]:
    """(every revision the migrations know, the heads)."""
    from alembic.script import ScriptDirectory

    config = current_app.extensions["migrate"].migrate.get_config()
    script = ScriptDirectory.from_config(config)
    return [rev.revision for rev in script.walk_revisions()], list(script.get_heads())


def _upgrade_file(path: Path) -> None:
    """Run the migrations on the SQLite file ``path`` (an app of its own points at it)."""
    from flask_migrate import upgrade

    from models import db
    from models.engine import configure_engine

    extension = current_app.extensions["migrate"]
    other = Flask(current_app.import_name, root_path=current_app.root_path)
    other.config.update(current_app.config)
    other.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    db.init_app(other)
    extension.migrate.init_app(other, db, directory=extension.directory)
    with other.app_context():
        configure_engine(db.engine)
        try:
            upgrade(directory=extension.directory)
        except SystemExit:  # Flask-Migrate logs the error and exits
            raise click.ClickException("The migrations failed on the restored copy; the "
                                       "database was not replaced.") from None
        finally:
            db.engine.dispose()


@click.command("restore")
@with_appcontext
@click.option("-i", "--input", "source", required=True,
              type=click.Path(dir_okay=False),
              help="A backup made by `flask backup`.")
@click.option("--yes", is_flag=True, help="Replace the database without asking.")
def restore_command(source, yes):
    """Replace the SQLite database by a checked backup (migrated if it is older)."""
    from models import db
    from services.backup import BackupError, check_revision, inspect_file, restore

    db_path = _database_path()
    try:
        found = inspect_file(source)
        known, heads = _revisions()
        older = check_revision(found.revision, known, heads)
    except BackupError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"Backup {source}: {found.size:,} bytes.")
    _echo_file(found)
    if not yes:
        click.confirm(f"Replace the database {db_path} with this backup? Everything written "
                      f"to it since the backup is lost", abort=True)

    def close_connections():
        db.session.remove()
        db.engine.dispose()

    try:
        restored = restore(source, db_path, upgrade=_upgrade_file if older else None,
                           before_replace=close_connections)
    except BackupError as err:
        raise click.ClickException(str(err)) from None
    migrated = f", migrated {found.revision} → {restored.revision}" if older else ""
    click.echo(f"Restored {db_path} from {source}{migrated}.")
    _echo_file(restored)
