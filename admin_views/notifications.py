"""My notifications: what arrived for the user, newest first, mark read / mark all read.

Only the user's own notifications, and only those whose complaint they may still see
(services.notifications re-checks the scope at read time). The bell in the navbar
(templates/admin/desk_base.html) shows the unread count of the same query.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from rules import Role
from rules.bounds import parse_id
from services import clock
from services import notifications as service
from services.labels import NOTIFICATION_KIND

from . import labels
from .auth import PlainForm
from .base import SecureBaseView

PER_PAGE = 20

# What each kind of notification says to its reader (shared with the e-mails).
KIND = NOTIFICATION_KIND


def kind_label(kind: str) -> str:
    return KIND.get(kind) or labels.label(labels.ACTION, kind)


class NotificationsView(SecureBaseView):
    read_roles = Role.ALL

    def is_visible(self):
        return False  # reached from the bell in the navbar, not a menu entry of its own

    @expose("/")
    def index(self):
        page = max(int(request.args.get("page") or 0), 0)
        rows, total = service.listed(current_user.actor, page=page, per_page=PER_PAGE)
        pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
        return self.render("notifications.html", rows=rows, total=total, page=page,
                           pages=pages, kind_label=kind_label, form=PlainForm(),
                           complaint_url=complaint_url)

    @expose("/read/", methods=("POST",))
    def read(self):
        form = PlainForm(request.form)
        pk = parse_id(request.form.get("id"))
        if not form.validate():
            flash(_("Your session form expired. Please try again."), "error")
        elif pk is not None:
            service.mark_read(current_user.actor, pk, clock.now())
        return redirect(self.get_url(".index", page=request.args.get("page") or None))

    @expose("/read-all/", methods=("POST",))
    def read_all(self):
        form = PlainForm(request.form)
        if not form.validate():
            flash(_("Your session form expired. Please try again."), "error")
        else:
            done = service.mark_all_read(current_user.actor, clock.now())
            flash(ngettext("%(num)d notification marked read.",
                           "%(num)d notifications marked read.", done), "success")
        return redirect(self.get_url(".index"))


def complaint_url(complaint_id) -> str:
    return url_for("complaint.details_view", id=complaint_id)


def add_views(admin):
    admin.add_view(NotificationsView(name=_l("My notifications"), endpoint="notifications"))
