"""Attachments on the complaint page: upload, list, download, thumbnail, retire.

Mixed into the complaint view: every route finds the complaint through its scoped
``get_one`` (outside the user's scope: 404, the same as not there) and the services check
scope again. Downloads: the detected type (never HTML or SVG), ``Content-Disposition:
attachment`` for anything but images, nosniff, and a sandboxing CSP of their own.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import abort, current_app, flash, redirect, request
from flask_admin import expose
from flask_admin.form import SecureForm
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response
from wtforms import TextAreaField
from wtforms.validators import Length

import rules
from rules import attachments as rules_att
from services import attachments as attachment_service
from services.storage import StorageError

from .i18n import rule_message

# The action forms that take a file: the result (test report, written report) and the
# callback (its recording).
FILE_ACTIONS = (rules.Action.RESOLVE, rules.Action.CALLBACK,
                # 处理方案: the plan document; the customer's signed answer to it
                rules.Action.PLAN_SUBMIT, rules.Action.PLAN_ANSWER)
# Multipart overhead allowed above the file limit before the request itself is refused.
FORM_OVERHEAD = 64 * 1024


class AttachForm(SecureForm):
    """Only the CSRF token: the file itself is read from request.files."""


class RetireForm(SecureForm):
    reason = TextAreaField(_l("Reason"), validators=[Length(max=rules_att.MAX_REASON_LENGTH)])


def _ascii_name(name: str, kind: str) -> str:
    plain = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)
    return plain.strip("._") or f"attachment.{rules_att.TYPES[kind].extensions[0]}"


def content_disposition(name: str, kind: str) -> str:
    """inline (images) or attachment, with an ASCII name and the UTF-8 one (RFC 6266)."""
    return (f'{rules_att.disposition(kind)}; filename="{_ascii_name(name, kind)}"; '
            f"filename*=UTF-8''{quote(name, safe='')}")


class AttachmentsMixin:
    """Needs the complaint view's scoped ``get_one`` and ``get_url``."""

    # --- what the detail page shows ---------------------------------------------------

    def attachments(self, complaint):
        """(attachment, may download, may retire) for every file, live and retired."""
        role, me = current_user.role, current_user.id
        rows = []
        for a in attachment_service.of_complaint(complaint.id):
            may_retire = not a.retired and (role in rules_att.RETIRE_ANY_ROLES or (
                role in rules_att.ATTACH_ROLES and a.uploaded_by_id == me))
            rows.append((a, rules_att.may_download(role, a.retired), may_retire))
        return rows

    def may_attach(self, complaint) -> bool:
        # Seen only as an assisting department (协办): read, not add files (services too).
        mine = rules.can_see(current_user.actor, complaint.department_id,
                             complaint.assignee_id, complaint.registered_by_id)
        try:
            rules_att.check_attach(current_user.role, complaint.status, mine)
        except rules.RuleError:
            return False
        return True

    def attach_form(self):
        return AttachForm()

    def retire_form(self):
        return RetireForm()

    def attachment_limits(self):
        return attachment_service.limits()

    # --- a file with a result or a callback (the action forms) -------------------------

    def takes_files(self, action_name) -> bool:
        return (action_name in FILE_ACTIONS and current_user.is_authenticated
                and current_user.role in rules_att.ATTACH_ROLES)

    def action_file(self, action_name, complaint):
        """The file sent with a resolve or callback form, checked and stored before the
        action runs (a refused file stops the action), or None when none was sent."""
        if not self.takes_files(action_name):
            return None
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return None
        return attachment_service.prepare(complaint.id, current_user, upload.filename,
                                          upload.stream)

    def attach_action_file(self, prepared, outcome):
        """Record the prepared file on the action's event (and callback) once it is done."""
        if prepared is None:
            return
        try:
            attachment = attachment_service.record(
                outcome.complaint.id, current_user, prepared, event_id=outcome.event.id,
                callback_id=outcome.callback.id if outcome.callback else None)
        except rules.RuleError as err:
            flash(_("The file was not added: %(reason)s", reason=rule_message(err)), "error")
            return
        flash(_("File %(name)s added.", name=attachment.name), "success")

    # --- routes -----------------------------------------------------------------------

    @expose("/attachments/add/", methods=("POST",))
    def attach_view(self):
        complaint = self.get_one(request.args.get("id"))
        if complaint is None:
            abort(404)
        details_url = self.get_url(".details_view", id=complaint.id)
        if current_user.role not in rules_att.ATTACH_ROLES:
            abort(403)
        request.max_content_length = (current_app.config["ATTACHMENT_MAX_BYTES"]
                                      + FORM_OVERHEAD)
        try:
            form = AttachForm(request.form)
            upload = request.files.get("file")
        except RequestEntityTooLarge:
            flash(rule_message(_too_large()), "error")
            return redirect(details_url)
        if not form.validate():
            abort(400)  # the CSRF token is missing or wrong
        if upload is None or not upload.filename:
            flash(_("Choose a file to add."), "error")
            return redirect(details_url)
        try:
            attachment = attachment_service.add(complaint.id, current_user, upload.filename,
                                                upload.stream)
        except rules.RuleError as err:
            flash(rule_message(err), "error")
            return redirect(details_url)
        flash(_("File %(name)s added.", name=attachment.name), "success")
        return redirect(details_url)

    @expose("/attachments/<int:attachment_id>/retire/", methods=("POST",))
    def retire_attachment_view(self, attachment_id):
        attachment = self._attachment(attachment_id)
        details_url = self.get_url(".details_view", id=attachment.complaint_id)
        form = RetireForm(request.form)
        if not form.validate():
            if form.csrf_token.errors:
                abort(400)
            flash(_("The reason is too long."), "error")
            return redirect(details_url)
        try:
            attachment_service.retire(attachment.id, current_user, form.reason.data)
        except rules.RuleError as err:
            flash(rule_message(err), "error")
            return redirect(details_url)
        flash(_("File retired."), "success")
        return redirect(details_url)

    @expose("/attachments/<int:attachment_id>/")
    def download_view(self, attachment_id):
        attachment = self._attachment(attachment_id)
        if not rules_att.may_download(current_user.role, attachment.retired):
            abort(404)
        return self._serve(attachment, thumbnail=False)

    @expose("/attachments/<int:attachment_id>/thumbnail/")
    def thumbnail_view(self, attachment_id):
        attachment = self._attachment(attachment_id)
        if attachment.thumbnail_key is None or not rules_att.may_download(
                current_user.role, attachment.retired):
            abort(404)
        return self._serve(attachment, thumbnail=True)

    # --- helpers ----------------------------------------------------------------------

    def _attachment(self, attachment_id):
        attachment = attachment_service.visible(attachment_id, current_user)
        if attachment is None or self.get_one(str(attachment.complaint_id)) is None:
            abort(404)  # outside the user's scope is the same as not there
        return attachment

    def _serve(self, attachment, thumbnail):
        try:
            stored = attachment_service.open_content(attachment, thumbnail=thumbnail)
        except StorageError as err:
            current_app.logger.warning("attachment %s not readable: %s", attachment.id, err)
            abort(503)
        if thumbnail:
            mime, disposition = "image/png", "inline"
        else:
            mime = rules_att.served_mime(attachment.kind)
            disposition = content_disposition(attachment.name, attachment.kind)
        response = Response(stored.chunks, mimetype=mime, direct_passthrough=True)
        response.headers["Content-Length"] = str(stored.size)
        response.headers["Content-Disposition"] = disposition
        response.headers["X-Content-Type-Options"] = "nosniff"
        # Opened on its own, a file runs nothing and loads nothing.
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        return response


def _too_large() -> rules.RuleError:
    lim = attachment_service.limits()
    try:
        rules_att.check_size(lim.max_bytes + 1, lim)
    except rules.RuleError as err:
        return err
    raise AssertionError("a file over the limit passed")
