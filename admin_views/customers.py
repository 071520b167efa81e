"""The customer file (顾客档案): a customer's page, finding one, the registration lookup.

Everything is scoped to the complaints the user may see (services.customers): a customer
none of whose complaints they may see is "not found", as a complaint outside their scope
is. Contacts are masked for roles that do not see them (rules.privacy), free text too.

The lookup (``lookup.json``) is what the registration form asks while the clerk types a
phone (static/desk/customer_lookup.js): a POST with the form's CSRF token (the phone in
the body, never in a URL), without side effects but its rate counter and the masked roles'
search record, JSON only, ``no-store`` and ``nosniff``, limited per user (rules.customers).
"""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

import rules
from rules import Role
from rules.customers import LOOKUP_ROWS
from services import clock
from services import customers as service

from . import labels
from .base import DeskForm, SecureBaseView
from .privacy import contacts_visible, shown_text


def shown_contact(phone: str | None, email: str | None) -> tuple[str | None, str | None]:
    """The customer's phone and e-mail as the current user may see them."""
    if contacts_visible():
        return phone, email
    return rules.mask_phone(phone), rules.mask_email(email)


def _row(complaint) -> dict:
    """One complaint in the lookup's answer (no contact data; free text masked)."""
    return {
        "number": complaint.number,
        "title": shown_text(complaint.title),
        "status": str(labels.label(labels.STATUS, complaint.status)),
        "received_at": complaint.received_at.strftime("%Y-%m-%d %H:%M"),
        "url": url_for("complaint.details_view", id=complaint.id),
    }


def _json(payload: dict, status: int = 200):
    response = jsonify(payload)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


class CustomerView(SecureBaseView):
    """顾客档案: find a customer by phone or e-mail; their page; the registration lookup."""

    read_roles = Role.ALL

    @expose("/")
    def index(self):
        phone, email = request.args.get("phone"), request.args.get("email")
        if phone or email:
            service.log_contact_search(current_user.actor, "customer file", phone, email)
            customer = service.find(current_user.actor, phone, email)
            if customer is not None:
                return redirect(self.get_url(".details", customer_id=customer.id))
            flash(_("No customer found with this phone or e-mail."), "info")
        return self.render("customer_find.html")

    @expose("/<customer_id>/")
    def details(self, customer_id):
        found = service.customer_file(customer_id, current_user.actor)
        if found is None:
            abort(404)
        phone, email = shown_contact(found.customer.phone, found.customer.email)
        return self.render("customer_details.html", customer=found.customer,
                           complaints=found.complaints, phone=phone, email=email,
                           labels=labels, shown_text=shown_text)

    @expose("/lookup.json", methods=("POST",))
    def lookup(self):
        # POST with the registration form's CSRF token: the phone typed goes in the body,
        # never in a URL (browser history, proxy and access logs).
        if not DeskForm(request.form).validate():
            return _json({"error": _("The page has expired: reload it.")}, 400)
        now = clock.now()
        allowed, wait = service.count_lookup(current_user.id, now)
        if not allowed:
            response = _json({"error": _("Too many look-ups: please wait a moment.")}, 429)
            response.headers["Retry-After"] = str(wait)
            return response
        phone, email = request.form.get("phone"), request.form.get("email")
        service.log_contact_search(current_user.actor, "registration lookup", phone, email)
        found = service.lookup(current_user.actor, phone, email, now)
        return _json({
            "customer_url": (self.get_url(".details", customer_id=found.customer_id)
                             if found.customer_id else None),
            "level": found.level,
            "message": _(found.message) if found.message else None,
            "open": [_row(c) for c in found.open[:LOOKUP_ROWS]],
            "recent": [_row(c) for c in found.recent[:LOOKUP_ROWS]],
        })


def add_views(admin):
    admin.add_view(CustomerView(name=_l("Customers"), endpoint="customer", url="customer"))
