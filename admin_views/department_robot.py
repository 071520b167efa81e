"""A department's group robot on the department form (the administrator's): its kind (none,
WeCom, DingTalk), webhook address (http/https only) and DingTalk signing secret.

The secret is write-only: the form never shows it (only whether one is set), a blank field
keeps it, a tick removes it. ``rules.delivery_settings.check_robot`` decides what is kept;
the administrative record shows the address without its key and the secret only as
"changed" (``rules.admin_events.SECRET_FIELDS``).
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, SelectField, ValidationError
from wtforms.validators import Length
from wtforms.validators import Optional as OptionalValidator

from rules import RuleError
from rules import delivery as R
from rules.delivery_settings import check_robot, check_webhook_url, url_for_record

from . import labels as L
from .i18n import rule_message

ROBOT = {R.WECOM: _l("WeCom (企业微信)"), R.DINGTALK: _l("DingTalk (钉钉)")}
# On the form, after the department's own fields (the secret's two are no model columns).
ROBOT_FIELDS = ("robot_kind", "robot_url", "new_robot_secret", "clear_robot_secret")
_FORM_ONLY = ("new_robot_secret", "clear_robot_secret")


def _robot_choices():
    return L.choices({kind: ROBOT.get(kind, kind) for kind in R.ROBOTS}, blank=_l("None"))


def _url_ok(form, field):
    try:
        check_webhook_url(field.data)
    except RuleError as err:
        raise ValidationError(rule_message(err)) from None


def _robot_ok(form, field):
    """The kind with the address (a kind needs one): the rules' whole check, on the form."""
    try:
        _robot(form, None)
    except RuleError as err:
        raise ValidationError(rule_message(err)) from None


def _robot(form, old_secret):
    clear = getattr(form, "clear_robot_secret", None)  # offered while a secret is set
    return check_robot(form.robot_kind.data, form.robot_url.data, form.new_robot_secret.data,
                       old_secret, clear_secret=bool(clear is not None and clear.data))


def _robot_label(view, context, model, name):
    return L.label(ROBOT, R.robot_channel(model.robot_kind, model.robot_url))


class DepartmentRobotMixin:
    """Mixed into crud.DepartmentView before RecordedChanges."""

    robot_form_overrides = {"robot_kind": SelectField}
    robot_form_args = {
        "robot_kind": {"choices": _robot_choices, "validators": [_robot_ok]},
        "robot_url": {"validators": [OptionalValidator(), Length(max=500), _url_ok],
                      "description": _l("The robot's webhook address, as the group chat's "
                                        "settings give it (http:// or https://).")},
    }
    robot_extra_fields = {
        "new_robot_secret": PasswordField(
            _l("Signing secret (DingTalk)"), validators=[Length(max=200)],
            # Not the browser's saved password of this site (it would fill it in).
            render_kw={"autocomplete": "new-password"},
            description=_l("Only for a DingTalk robot with signing (加签). Never shown; "
                           "leave empty to keep the current one.")),
        "clear_robot_secret": BooleanField(_l("Remove the signing secret")),
    }
    robot_labels = {"robot_kind": _l("Group robot"), "robot_url": _l("Webhook address")}
    robot_formatters = {"robot_kind": _robot_label}

    def create_form(self, obj=None):
        form = super().create_form(obj)
        del form.clear_robot_secret  # nothing to remove yet
        return form

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if obj is not None and obj.robot_secret:
            form.new_robot_secret.description = _(
                "A secret is set (not shown). Leave empty to keep it.")
        else:
            del form.clear_robot_secret
        return form

    def on_model_change(self, form, model, is_created):
        try:
            robot = _robot(form, None if is_created else model.robot_secret)
        except RuleError as err:
            raise ValidationError(rule_message(err)) from None
        model.robot_kind, model.robot_url, model.robot_secret = robot.kind, robot.url, \
            robot.secret
        for name in _FORM_ONLY:  # the form's populate_obj set them on the model object
            model.__dict__.pop(name, None)
        super().on_model_change(form, model, is_created)  # the AdminEvent

    def recorded_fields(self):
        """The form's model fields and the secret (recorded as "changed", never its value)."""
        return [*(f for f in super().recorded_fields() if f not in _FORM_ONLY), "robot_secret"]

    def record_value(self, name, value):
        """The webhook address without its key (the secret: rules.admin_events leaves it)."""
        if name == "robot_url":
            return url_for_record(value)
        return super().record_value(name, value)
