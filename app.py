"""Complaint desk: the application factory and its command-line commands."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask
from flask_migrate import Migrate

import config
from models import db
from models.engine import configure_engine
from rules import Role

HERE = Path(__file__).resolve().parent
migrate = Migrate(directory=str(HERE / "migrations"))


def create_app(test_config: dict | None = None) -> Flask:
    """Defaults, then the instance config and environment, then the test's settings."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config.Defaults)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(config.from_environment())
    else:
        app.config.update(test_config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            f"sqlite:///{Path(app.instance_path) / 'complaintdesk.sqlite'}"
        )
    if app.config["PRODUCTION"]:
        problem = config.secret_key_problem(app.config["SECRET_KEY"])
        if problem:
            raise RuntimeError(problem)
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    from services.clock import load_zone

    load_zone(app.config["COMPANY_TZ"])  # an unknown zone: RuntimeError now, not at first use
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["COMPANY_TZ"]

    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True)
    from services.delivery.senders import mail

    mail.init_app(app)  # Flask-Mailman: MAIL_* settings (e-mail off while MAIL_SERVER unset)
    with app.app_context():
        configure_engine(db.engine)
    from services.search_index import install as keep_search_index

    keep_search_index()  # the full-text index follows every complaint write (issue 10)

    from admin_views import init_app as init_screens

    init_screens(app)
    from public_views import init_app as init_public_pages

    init_public_pages(app)  # /complaint/new, /complaint/status: no login (issue 14)
    from api import init_app as init_api

    init_api(app)  # /api/v1: other systems, by token (issue 14); after the error pages
    # Exports, workbooks, notification delivery and re-indexing run as jobs (issue 13):
    # the kinds register themselves when imported.
    import services.job_kinds  # noqa: F401 (list exports, workbooks)
    import services.jobs.system_kinds  # noqa: F401 (delivery, re-indexing)
    from services.jobs.executors import init_app as init_jobs

    init_jobs(app)
    register_commands(app)
    return app


def register_commands(app: Flask) -> None:
    from cli_maintenance import register as register_maintenance  # retention, backup, restore
    register_maintenance(app)
    from cli_notify import register as register_notify  # notify: the delivery worker
    register_notify(app)
    from cli_search import register as register_search  # reindex: the full-text index
    register_search(app)
    from cli_mail import register as register_mail  # fetch-mail: the complaints mailbox
    register_mail(app)
    from cli_jobs import register as register_jobs  # worker (RQ), jobs-tidy
    register_jobs(app)

    @app.cli.command("init-db")
    def init_db():
        """Create or upgrade the database schema (runs the migrations)."""
        from flask_migrate import upgrade

        upgrade(directory=migrate.directory)
        click.echo("Database schema is up to date.")

    @app.cli.command("demo")
    def demo():
        """Fill the database with demo departments, users and complaints (idempotent)."""
        from services.demo import load_demo

        click.echo(load_demo())

    @app.cli.command("create-user")
    @click.option("--username", prompt=True)
    @click.option("--full-name", prompt=True)
    @click.option("--role", prompt=True, type=click.Choice(Role.ALL))
    @click.option("--department", default="", help="Department code (optional).")
    def create_user_command(username, full_name, role, department):
        """Create a staff account; the password is asked for, never taken as an argument."""
        from sqlalchemy import select

        from models import Department
        from rules import RuleError
        from services.auth import create_user

        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        dept_id = None
        if department:
            dept = db.session.scalar(select(Department).filter_by(code=department))
            if dept is None:
                raise click.ClickException(f"No department with code {department!r}.")
            dept_id = dept.id
        try:
            staff = create_user(username, full_name, role, password, department_id=dept_id)
        except RuleError as err:
            raise click.ClickException(str(err)) from None
        click.echo(f"Created {staff.username} ({staff.role}).")

    @app.cli.command("two-step-off")
    @click.option("--username", required=True)
    def two_step_off_command(username):
        """Turn a user's two-step sign-in off (lost phone and recovery codes); they set it
        up again at their next login. Recorded in the administrative record."""
        from services.two_step import reset_totp

        if reset_totp(username) is None:
            raise click.ClickException(f"No user named {username!r}.")
        click.echo(f"Two-step sign-in of {username} is off; their sessions have ended.")

    @app.cli.command("report")
    @click.option("--month", "month_text", default="", help="A month, e.g. 2026-11.")
    @click.option("--quarter", "quarter_text", default="", help="A quarter, e.g. 2026Q4.")
    @click.option("--half", "half_text", default="", help="A half-year, e.g. 2026H2.")
    @click.option("--from", "first", default="",
                  help="First day of a free range, e.g. 2026-10-01 (with --to).")
    @click.option("--to", "last", default="", help="Last day of the range, included.")
    @click.option("--department", default="", help="Department code (default: all).")
    @click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
                  help="The .xlsx file to write.")
    @click.option("--lang", default="en", type=click.Choice(["en", "zh_Hans_CN"]),
                  help="Language of the workbook.")
    @click.option("--show-contacts", is_flag=True,
                  help="Write customers' phones (and those typed into titles) unmasked "
                       "(masked by default).")
    @click.option("--per-person", is_flag=True,
                  help="Add the per-person sheet (accountability figures: for managers and "
                       "the accountability department only).")
    def report_command(month_text, quarter_text, half_text, first, last, department, output,
                       lang, show_contacts, per_person):
        """Write the period workbook: a month, a quarter, a half-year or a free range of
        days, compared with the previous period of the same length (docs/metrics.md)."""
        from flask_babel import force_locale
        from sqlalchemy import select

        from admin_views.reports import value_labels
        from models import Department
        from models.engine import read_only
        from services import clock
        from services.export import record_export
        from services.reports import ReportOptions, make_workbook, parse_period

        asked = [(kind, value) for kind, value in (("month", month_text),
                                                   ("quarter", quarter_text),
                                                   ("half", half_text)) if value]
        if first or last:
            asked.append(("range", ""))
        if len(asked) != 1:
            raise click.UsageError("Give one period: --month 2026-11, --quarter 2026Q4, "
                                   "--half 2026H2, or --from 2026-10-01 --to 2026-11-15.")
        kind, value = asked[0]
        try:
            period = parse_period(kind, value, first, last)
        except ValueError as err:
            hint = {"month": "--month", "quarter": "--quarter", "half": "--half"}.get(
                kind, "--from/--to")
            raise click.BadParameter(str(err), param_hint=hint) from None
        dept = None
        if department:
            dept = db.session.scalar(select(Department).filter_by(code=department))
            if dept is None:
                raise click.ClickException(f"No department with code {department!r}.")
        now = clock.now()
        options = ReportOptions(mask_phones=not show_contacts, per_person=per_person,
                                corrective=True)
        # A plain read transaction: on SQLite the report must not hold the write lock.
        with force_locale(lang), read_only():
            rows = make_workbook(period, dept, options, output, value_labels(),
                                 made_by="flask report", now=now)
            db.session.rollback()
        which = {"month": period.label} if period.is_month else {"period": period.label}
        record_export(None, "monthly_report_cli" if period.is_month else "period_report_cli",
                      {**which, "department": department or None}, rows, now)
        click.echo(f"Wrote {output} ({period.label}, {dept.code if dept else 'all departments'}).")

    @app.cli.command("sweep")
    def sweep_command():
        """Mark overdue complaints and escalate each once per missed deadline; warn of the
        deadlines due within one working day."""
        from services.sweep import sweep

        result = sweep()
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(result.by_status.items())) or "none"
        click.echo(f"Marked {result.marked} overdue complaint(s) ({detail}).")
        if result.due_soon:
            click.echo(f"Wrote {result.due_soon} due-soon notification(s) (deadlines within "
                       "one working day).")
        for count, what in ((result.parts, "assisting part(s)"),
                            (result.corrective, "corrective action(s)"),
                            (result.upstream, "report(s) back upstream")):
            if count:
                click.echo(f"Marked {count} overdue {what}.")
        from services.jobs import housekeeping

        tidied = housekeeping()  # jobs whose worker stopped, expired result files
        if tidied.requeued or tidied.failed or tidied.expired:
            click.echo(tidied.summary().capitalize() + ".")
