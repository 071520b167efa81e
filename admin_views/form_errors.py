"""Refusals shown where they belong: each next to its field, the rest at the top of the form.

The rules mark a refusal with the input it is about (``RuleError.field``) and report every
wrong input at once (``rules.errors.InputErrors``); the forms' fields carry the same names.
A form sent with an expired or foreign CSRF token keeps every entry and says so in the
user's language (never Flask-Admin's English "Failed to create record.").
"""

from __future__ import annotations

from flask_babel import gettext as _

from rules.errors import each_error

from .i18n import rule_message

CSRF_FIELD = "csrf_token"


def add_error(form, name: str, message: str) -> bool:
    """Show ``message`` next to the field ``name``; False when the form has no such field."""
    if not name or name not in form or name == CSRF_FIELD:
        return False
    field = form[name]
    if field.type == "HiddenField":
        return False
    if message not in field.errors:
        field.errors = [*field.errors, message]
    form._errors = None  # WTForms caches form.errors
    return True


def show_refusal(form, err, *, skip_filled=False) -> list[str]:
    """Put each refusal inside ``err`` next to its field; return those about no field (to be
    shown at the top). ``skip_filled``: leave a field that already shows an error alone."""
    top = []
    for refusal in each_error(err):
        name = refusal.field
        if skip_filled and name and name in form and form[name].errors:
            continue
        if not add_error(form, name, rule_message(refusal)):
            top.append(rule_message(refusal))
    return top


def csrf_messages(form) -> list[str]:
    """The top message for a form whose CSRF token was refused (expired, from another
    session or missing); the entries are kept by re-showing the form with a fresh token."""
    field = getattr(form, CSRF_FIELD, None)
    if field is None or not field.errors:
        return []
    return [_("This form was open from before your last sign-in, or the page is too old to "
              "be sent: nothing was saved. Your entries are kept below; check them and send "
              "the form again.")]


def required_names(spec_fields) -> tuple[str, ...]:
    """The names of the inputs an action declares as required (rules.ActionSpec.fields)."""
    return tuple(f.name for f in spec_fields if f.required)
