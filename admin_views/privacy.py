"""Free text as the current user may see it: phones and e-mails masked for some roles.

``rules.privacy.may_see_contact`` says who sees customers' contacts; for everyone else
every note, reason or other free text shown or exported goes through
``rules.privacy.mask_text`` (staff type phone numbers into notes; old audit notes hold
the values of changed contact fields).
"""

from __future__ import annotations

from flask import g, has_request_context
from flask_login import current_user

from rules.privacy import mask_text, may_see_contact


def contacts_visible() -> bool:
    """Whether the current user sees contacts unmasked (asked once per request)."""
    if not has_request_context():
        return False
    if "contacts_visible" not in g:
        g.contacts_visible = bool(current_user and current_user.is_authenticated
                                  and may_see_contact(current_user.role))
    return g.contacts_visible


def shown_text(value):
    """``value`` as the current user may read it (masked unless contacts_visible())."""
    if value is None or contacts_visible():
        return value
    return mask_text(str(value))


def free_text(view, context, model, name):
    """A column formatter: the column's free text, masked for roles without contacts."""
    return shown_text(getattr(model, name))
