"""My files and jobs (issue 13): the progress page of an export or a workbook, updating
without reload (static/desk/jobs.js polls ``status.json``), its download once done, cancel;
and the list of the user's recent jobs. A job is only ever its owner's: anyone else's id is
"not found". The file comes from the storage backend, so any web host serves what any
worker made. The administrator also starts a rebuild of the search index here."""

from __future__ import annotations

from flask import Response, abort, flash, jsonify, redirect, request, stream_with_context
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from rules import Role
from services import jobs
from services.jobs.system_kinds import submit_reindex
from services.storage import StorageError, storage

from .auth import PlainForm
from .base import SecureBaseView


def _download_headers(name: str, mimetype: str, size: int | None) -> dict:
    from urllib.parse import quote

    ascii_name = name.encode("ascii", "ignore").decode() or "download"
    headers = {"Content-Type": mimetype or "application/octet-stream",
               "Content-Disposition": (f"attachment; filename=\"{ascii_name}\"; "
                                       f"filename*=UTF-8''{quote(name)}"),
               "Cache-Control": "no-store"}
    if size:
        headers["Content-Length"] = str(size)
    return headers


class JobsView(SecureBaseView):
    read_roles = Role.ALL

    def is_visible(self):
        return False  # reached from the file icon beside the bell, not a menu entry

    def _mine(self, job_id: int):
        job = jobs.job_for(current_user.id, job_id)
        if job is None:
            abort(404)
        return job

    @expose("/")
    def index(self):
        return self.render("admin/jobs.html", rows=jobs.recent_for(current_user.id),
                           kind_label=jobs.kind_label, status_label=_status_label,
                           form=PlainForm(), may_reindex=current_user.role == Role.ADMIN)

    @expose("/<int:job_id>/")
    def detail(self, job_id):
        job = self._mine(job_id)
        return self.render("admin/job.html", job=job, kind_label=jobs.kind_label,
                           status_label=_status_label, form=PlainForm(),
                           state=jobs.status_of(job))

    @expose("/<int:job_id>/status.json")
    def status(self, job_id):
        job = self._mine(job_id)
        state = jobs.status_of(job)
        state["label"] = _status_label(job.status)
        response = jsonify(state)
        response.headers["Cache-Control"] = "no-store"
        return response

    @expose("/<int:job_id>/download")
    def download(self, job_id):
        job = self._mine(job_id)
        if job.status != jobs.DONE or not job.result_key:
            flash(_("This file is not there (any more): ask for it again."), "error")
            return redirect(self.get_url(".detail", job_id=job.id))
        try:
            stored = storage().open(job.result_key)
        except StorageError:
            flash(_("The file cannot be read from the storage just now. Please try again "
                    "in a moment; if it goes on, tell your administrator."), "error")
            return redirect(self.get_url(".detail", job_id=job.id))
        return Response(stream_with_context(stored.chunks),
                        headers=_download_headers(job.result_name or "download",
                                                  job.result_mimetype, stored.size))

    @expose("/<int:job_id>/cancel", methods=("POST",))
    def cancel(self, job_id):
        self._mine(job_id)
        if not PlainForm(request.form).validate():
            flash(_("Your session form expired. Please try again."), "error")
        else:
            status = jobs.cancel(job_id, current_user.id)
            if status == jobs.CANCELLED:
                flash(_("Cancelled."), "success")
            elif status == jobs.RUNNING:
                flash(_("Cancelling: the job stops at its next step."), "info")
            else:
                flash(_("This job has already ended."), "info")
        return redirect(self.get_url(".detail", job_id=job_id))

    @expose("/reindex", methods=("POST",))
    def reindex(self):
        if current_user.role != Role.ADMIN:
            abort(403)
        if not PlainForm(request.form).validate():
            flash(_("Your session form expired. Please try again."), "error")
            return redirect(self.get_url(".index"))
        job = submit_reindex(current_user._get_current_object())
        return redirect(self.get_url(".detail", job_id=job.id))


def _status_label(status: str) -> str:
    return str(jobs.STATUS_LABELS.get(status, status))


def add_views(admin):
    admin.add_view(JobsView(name=_l("My files"), endpoint="jobs", url="/admin/jobs"))
