"""Streaming "Export to Excel" of every list screen (issue 4); mixed into SecureModelView.

The export runs the list's own query: ``get_list(..., execute=False)`` with the current
URL's filters, search and sort, over the view's scoped ``get_query`` — so it holds exactly
the rows of the list the user sees, and only rows inside their scope. Rows are read in
``yield_per`` batches and written with xlsxwriter's ``constant_memory`` mode
(services.export), so memory stays flat whatever the number of rows.

A view tunes its export with class attributes and hooks:

- ``column_export_list`` / ``column_labels`` (Flask-Admin's): the columns and headers;
- ``export_value_labels``: ``{column: labels.MAPPING}`` for enum columns (merged over
  :data:`DEFAULT_VALUE_LABELS`, matched on the last part of a dotted name);
- ``export_contact_columns``: ``{column: "phone" | "email" | "text"}`` masked for roles that
  may not see customer contacts (``rules.privacy.may_see_contact``); a "text" column keeps
  its words, phones and e-mails inside it masked (:data:`DEFAULT_CONTACT_COLUMNS` covers
  the contact and free-text columns of every screen);
- ``column_formatters_export`` (only when the view sets it itself; list formatters that
  return HTML are never used for the file);
- ``export_row_is_overdue(row, now)``: highlights the row;
- ``export_wrap_columns``: ``{column: width}`` of long free text, wrapped in a fixed width
  (:data:`DEFAULT_WRAP_COLUMNS`, matched on the last part of a dotted name).

Every export prints on A4 landscape, one page wide, the header row on every page, the title
in the page header and the page number in the footer (``services.export.print_setup``).

Columns named in :data:`NEVER_EXPORTED` (password hash, session token) are dropped from
every export whatever the view says.

The export requires read access to the view (``is_accessible``: anonymous users are sent
to the login page, other roles get 403). A result larger than ``EXPORT_MAX_ROWS`` is
refused with a message saying how many rows matched; it is never cut silently.

The request only checks and counts; the file is written by a job (issue 13,
``services.job_kinds``), which runs :meth:`XlsxExportMixin.write_export` with the user's
access, scope and language checked again, while the browser shows its progress.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter

from flask import current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.helpers import get_redirect_target
from flask_admin.tools import rec_getattr
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import load_only

from models import db
from rules import Status
from rules.deadlines import is_overdue
from services import clock, jobs
from services.export import (
    ContactMasker,
    ListSheet,
    record_export,
    stream_records,
)

from . import labels

NEVER_EXPORTED = frozenset({"password_hash", "session_token"})

DEFAULT_VALUE_LABELS = {
    "status": labels.STATUS,
    "from_status": labels.STATUS,
    "to_status": labels.STATUS,
    "role": labels.ROLE,
    "kind": labels.KIND,
    "channel": labels.CHANNEL,
    "severity": labels.SEVERITY,
    "validity": labels.VALIDITY,
    "responsibility": labels.RESPONSIBILITY,
    "remedy": labels.REMEDY,
    "method": labels.CALLBACK_METHOD,
    "satisfaction": labels.SATISFACTION,
    "last_satisfaction": labels.SATISFACTION,
    "final_satisfaction": labels.SATISFACTION,
    "escalation_level": labels.ESCALATION,
    "action": labels.ACTION,
    "locale": labels.LOCALE,
    "clock": labels.CLOCK,
    "due_kind": labels.CLOCK,
    "finding": labels.FINDING,
}

# Matched, like the value labels, on the last part of a dotted name. Free text (notes,
# reasons, resolutions…) may hold a phone or an e-mail typed by staff.
DEFAULT_CONTACT_COLUMNS = {
    "customer_phone": "phone", "customer_email": "email",
    **{name: "text" for name in ("note", "notes", "title", "description", "demand",
                                 "validity_reason", "root_cause", "resolution",
                                 "extension_reason", "findings", "reason")},
}
# Long free text: wrapped inside a fixed width, so that a printed page stays one page wide.
DEFAULT_WRAP_COLUMNS = {
    "title": 20, "description": 30, "demand": 20, "root_cause": 24, "resolution": 30,
    "customer_email": 18,
    **{name: 30 for name in ("note", "notes", "validity_reason", "extension_reason",
                             "findings", "reason")},
}
BATCH_SIZE = 1000
# Plain data, exported as it is even when the list shows it through a formatter.
_SCALAR = (str, date, Decimal, int, float)
_OPEN = frozenset(Status.OPEN)
_SCALAR_TYPES = frozenset((str, date, datetime, Decimal, int, float, bool))


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]


class XlsxExportMixin:
    """Adds a streaming, scoped, audited .xlsx export to a Flask-Admin model view."""

    can_export = True
    export_types = ["xlsx"]
    export_value_labels: dict | None = None
    export_contact_columns: dict | None = None
    export_wrap_columns: dict | None = None
    # Columns read by export_row_is_overdue or formatters besides the exported ones.
    export_extra_columns: tuple[str, ...] = ("status", "due_at")

    # --- columns ----------------------------------------------------------------------------

    def get_export_columns(self):
        columns = super().get_export_columns()
        return [(name, label) for name, label in columns if _last(name) not in NEVER_EXPORTED]

    def _value_labels(self) -> dict:
        """Per column: {stored value: translated text}, resolved once per export."""
        merged = dict(DEFAULT_VALUE_LABELS)
        merged.update(self.export_value_labels or {})
        out = {}
        for name, _label in self._export_columns:
            mapping = merged.get(name, merged.get(_last(name)))
            if mapping:
                out[name] = {value: str(text) for value, text in mapping.items()}
        return out

    def _cell_getters(self):
        """One function per exported column: row → cell value (typed by the writer).

        Precedence: the view's own ``column_formatters_export``; else the translated label
        of an enum value; else the raw value when it is plain data (text, number, amount,
        date — it stays typed, and HTML-decorating list formatters are not run 100,000
        times); else (a related row, a list…) the list's formatter as plain text, Jinja
        macros skipped; else the value's text. Contact columns are then masked for roles
        that may not see them.
        """
        # The class attribute, not the instance one: Flask-Admin copies the list's
        # column_formatters onto the instance when a view sets no export formatters.
        export_formatters = getattr(type(self), "column_formatters_export", None) or {}
        list_formatters = self.column_formatters or {}
        value_labels = self._value_labels()
        contacts = dict(DEFAULT_CONTACT_COLUMNS)
        contacts.update(self.export_contact_columns or {})
        masker = ContactMasker(getattr(current_user, "role", None))
        return [self._getter(name, export_formatters.get(name), list_formatters.get(name),
                             value_labels.get(name),
                             contacts.get(name, contacts.get(_last(name))), masker)
                for name, _label in self._export_columns]

    def _getter(self, name, own, listed, mapping, contact, masker):
        """Called once per cell of an export: the common cases stay C-level
        (``attrgetter``) or one dict lookup; a list formatter runs only for values that
        are not plain data, which a plain-typed column never holds."""
        raw = attrgetter(name) if "." not in name else (lambda row: rec_getattr(row, name))
        if listed is not None and getattr(listed, "__name__", "") == "inner":
            listed = None  # a Jinja macro formatter renders HTML only inside a template
        if listed is not None and self._plain_column(name):
            listed = None

        if own is not None:
            def get(row):
                return _plain(own(self, None, row, name))
        elif mapping is not None:
            lookup = {value: text for value, text in mapping.items() if value is not None}.get

            def get(row):
                value = raw(row)
                return lookup(value, value)  # None stays None, unknown values themselves
        elif listed is not None:
            def get(row):
                value = raw(row)
                if value is None or type(value) in _SCALAR_TYPES or isinstance(value, _SCALAR):
                    return value
                shown = listed(self, None, row, name)
                return shown if type(shown) is str else _plain(shown)
        else:
            get = raw
        if not contact or masker.visible:
            return get

        def masked(row):
            value = get(row)
            return masker(contact, str(value)) if value else value

        return masked

    def _plain_column(self, name: str) -> bool:
        """Whether ``name`` is a column of the model whose values are plain data (text,
        numbers, amounts, dates, booleans): exported as they are, never formatted."""
        prop = inspect(self.model).column_attrs.get(name) if "." not in name else None
        if prop is None or len(prop.columns) != 1:
            return False
        try:
            python_type = prop.columns[0].type.python_type
        except NotImplementedError:
            return False
        return python_type in _SCALAR_TYPES

    def _needed_names(self) -> list[str]:
        """The attributes an export reads: exported columns and relations, plus
        ``export_extra_columns`` (what hooks and formatters read besides)."""
        names = [name for name, _label in self._export_columns]
        mapper = inspect(self.model)
        names += [n for n in self.export_extra_columns
                  if n in mapper.column_attrs and n not in names]
        return names

    def _load_only_exported(self, query):
        """Load only the columns the file needs (a complaint row has 55): the exported
        ones, the foreign keys of exported relations, the primary key and
        ``export_extra_columns`` (what the hooks and formatters read). Any other column a
        formatter touches is still loaded, lazily, so nothing breaks — it is only slower."""
        mapper = inspect(self.model)
        names = {name.split(".", 1)[0] for name, _label in self._export_columns}
        names.update(self.export_extra_columns)
        columns = {key.key for key in mapper.primary_key}
        for name in names:
            if name in mapper.column_attrs:
                columns.add(name)
            elif name in mapper.relationships:
                for local in mapper.relationships[name].local_columns:
                    columns.update(p.key for p in mapper.column_attrs
                                   if local in p.columns)
        attrs = [getattr(self.model, key) for key in sorted(columns)]
        return query.options(load_only(*attrs)) if attrs else query

    # --- hooks ------------------------------------------------------------------------------

    def export_row_is_overdue(self, row, now) -> bool:
        """Highlight a row: by default, an open complaint-like row whose deadline passed."""
        status = getattr(row, "status", None)
        return status in _OPEN and is_overdue(getattr(row, "due_at", None), now)

    def export_screen_name(self) -> str:
        return str(self.name)

    # --- the endpoint: checked in the request, written by a job (issue 13) ------------------

    @expose("/export/<export_type>/")
    def export(self, export_type):
        """Check the format and count the rows here (a list over ``EXPORT_MAX_ROWS`` is
        refused at once), then hand the file to a job (``services.job_kinds``: it runs
        :meth:`write_export` as the user) and send the browser to its progress page."""
        return_url = get_redirect_target() or self.get_url(".index_view", **request.args)
        if not self.can_export or export_type not in self.export_types:
            flash(_("This list cannot be exported in that format."), "error")
            return redirect(return_url)

        args = self._get_list_extra_args()
        sort = self._get_column_by_idx(args.sort)
        count, _query = self._export_query(args, sort)
        limit = int(current_app.config["EXPORT_MAX_ROWS"])
        if count > limit:
            return self._refuse_too_many(count, limit, return_url)
        params = {"endpoint": self.endpoint,
                  "args": [[k, v] for k, v in request.args.items(multi=True) if k != "url"],
                  "session": self.export_session()}
        job = jobs.submit("list_export", owner=current_user, params=params,
                          title=self._job_title(self._criteria(args, sort)))
        return redirect(url_for("jobs.detail", job_id=job.id))

    def export_session(self) -> dict:
        """Session values the list reads besides its URL, handed to the export job (which
        has no browser session): none by default."""
        return {}

    def _export_query(self, args, sort):
        """(count, query) of the list the export holds: the list's own query with the URL's
        filters, search and sort, over the view's scoped ``get_query``."""
        sort_column = sort[0] if sort is not None else None
        count, query = self.get_list(0, sort_column, args.sort_desc, args.search, args.filters,
                                     execute=False, page_size=0)
        if count is None:  # simple_list_pager views do not count; the export must
            count = db.session.scalar(
                select(func.count()).select_from(query.order_by(None).subquery()))
        return count, query

    def write_export(self, target, progress, now=None) -> int:
        """Write the list of the current request's URL to ``target`` (a path or a binary
        file) and log the export; returns the rows written. Run by the export job inside a
        request context for the list's URL with its owner signed in, so the scope, masking
        and words are the owner's at that moment. ``progress(rows_done, total)`` is called
        every :data:`BATCH_SIZE` rows. A list over ``EXPORT_MAX_ROWS`` (counted again, or
        grown while written) is refused with :class:`services.jobs.JobRefused`, never cut."""
        args = self._get_list_extra_args()
        sort = self._get_column_by_idx(args.sort)
        count, query = self._export_query(args, sort)
        limit = int(current_app.config["EXPORT_MAX_ROWS"])
        if count > limit:
            raise jobs.JobRefused(self._too_many_text(count, limit))

        # The primary key breaks ties, so equal sort keys come out in a stable order.
        for key in inspect(self.model).primary_key:
            query = query.order_by(key)
        query = query.limit(limit + 1)
        rows = stream_records(query, self.model, self._needed_names(), BATCH_SIZE)
        if rows is None:  # a column the fast reader cannot select: ORM objects, fewer columns
            rows = self._load_only_exported(query).yield_per(BATCH_SIZE)

        now = now or clock.now()
        criteria = self._criteria(args, sort)
        title = self._title(now, criteria)
        headers = [str(label) for _name, label in self._export_columns]
        getters = self._cell_getters()
        overdue = self.export_row_is_overdue

        progress(0, count)
        sheet = ListSheet.open(target, self.export_screen_name(), title, headers,
                               bool_text=(_("Yes"), _("No")), wrap=self._wrap_columns(),
                               footer=page_footer())
        try:
            for row in rows:
                if sheet.rows == limit:  # more rows arrived since the count: refuse, not cut
                    raise jobs.JobRefused(self._too_many_text(limit + 1, limit))
                sheet.write_row([get(row) for get in getters], overdue(row, now))
                if sheet.rows % BATCH_SIZE == 0:
                    progress(sheet.rows, count)
        except BaseException:
            with suppress(Exception):  # the file is thrown away; close it all the same
                sheet.close()
            raise
        written = sheet.close()
        progress(written, count)
        record_export(current_user.id, self.endpoint, criteria["raw"], written, now)
        return written

    def _wrap_columns(self) -> dict:
        """{column index: width} of the exported long-text columns."""
        merged = dict(DEFAULT_WRAP_COLUMNS)
        merged.update(self.export_wrap_columns or {})
        out = {}
        for col, (name, _label) in enumerate(self._export_columns):
            width = merged.get(name, merged.get(_last(name)))
            if width:
                out[col] = width
        return out

    def _refuse_too_many(self, count: int, limit: int, return_url: str):
        flash(self._too_many_text(count, limit), "error")
        return redirect(return_url)

    @staticmethod
    def _too_many_text(count: int, limit: int) -> str:
        return _("%(count)d rows match this list, more than the %(limit)d one export may "
                 "hold. Nothing was exported: please narrow the list with filters or a "
                 "search and export again.", count=count, limit=limit)

    # --- the title line ---------------------------------------------------------------------

    def _criteria(self, args, sort) -> dict:
        """The list's filters, search and sort: readable words and the raw URL values."""
        filters = []
        for idx, _flt_name, value in args.filters or []:
            flt = self._filters[idx]
            shown = value
            try:
                options = dict(flt.get_options(self) or ())
            except Exception:  # noqa: BLE001 - a filter without options shows the raw value
                options = {}
            if value in options:
                shown = str(options[value])
            filters.append(f"{flt.name} {flt.operation()} {shown}")
        sort_text = ""
        if sort is not None:
            direction = _("descending") if args.sort_desc else _("ascending")
            sort_text = f"{sort[1]} {direction}"
        raw = {
            "filters": {k: v for k, v in request.args.items() if k.startswith("flt")},
            "search": args.search or "",
            "sort": sort[0] if sort is not None else None,
            "desc": bool(args.sort_desc),
        }
        return {"filters": filters, "search": args.search or "", "sort": sort_text, "raw": raw}

    def _job_title(self, criteria) -> str:
        """The export job's name in the job list: the screen and the list's criteria."""
        parts = list(criteria["filters"])
        if criteria["search"]:
            parts.append(_("search: %(search)s", search=criteria["search"]))
        if criteria["sort"]:
            parts.append(_("sorted by %(sort)s", sort=criteria["sort"]))
        return _("Excel export — %(screen)s (%(criteria)s)", screen=self.export_screen_name(),
                 criteria="; ".join(parts) or _("no filters"))

    def _title(self, now, criteria) -> str:
        who = current_user.full_name or current_user.username
        parts = [_("%(screen)s — exported by %(user)s (%(username)s) on %(when)s",
                   screen=self.export_screen_name(), user=who, username=current_user.username,
                   when=now.strftime("%Y-%m-%d %H:%M"))]
        if criteria["filters"]:
            parts.append(_("filters: %(filters)s", filters="; ".join(criteria["filters"])))
        else:
            parts.append(_("no filters"))
        if criteria["search"]:
            parts.append(_("search: %(search)s", search=criteria["search"]))
        if criteria["sort"]:
            parts.append(_("sorted by %(sort)s", sort=criteria["sort"]))
        return " · ".join(parts)


def page_footer() -> str:
    """The printed pages' footer, with Excel's page number codes."""
    return _("Page %(page)s of %(pages)s", page="&P", pages="&N")


def _plain(value):
    """A formatter's result as cell data: HTML reduced to its text, lists joined."""
    if isinstance(value, Markup):
        return value.striptags()
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value)
    return value
