"""Translating messages that come from the framework-free layers (rules, services)."""

from flask_babel import gettext


def rule_message(err) -> str:
    """The translated text of a RuleError (or LoginRefused): msgid and params, both translated."""
    msgid = getattr(err, "msgid", None)
    if not msgid:
        return str(err)
    params = {}
    for key, value in (getattr(err, "params", None) or {}).items():
        # Names of statuses, roles, actions and fields are message ids themselves.
        params[key] = gettext(value) if key.endswith("_name") and isinstance(value, str) else value
    translated = gettext(msgid)
    try:
        return translated % params if params else translated
    except (KeyError, TypeError, ValueError):
        return str(err)
