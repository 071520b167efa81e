"""The public pages (issue 14), outside /admin and without login: the complaint form
(``/complaint/new``) and the status lookup (``/complaint/status``).

Thin: the checks are rules.public (and rules.intake), the writes services.public. Abuse:
CSRF on both forms; every form POST and every failed lookup counted per client address by
the sign-in limiter (a waiting address gets a 429 page, recorded in AdminEvent); a hidden
honeypot field (filled: an accepted-looking page, nothing stored, recorded); a sum of two
small numbers whose answer the form carries only as an HMAC; a size limit on every POST
(a clear 413 page).
"""

from __future__ import annotations

import hashlib
import secrets

from flask import (
    Blueprint,
    Flask,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.exceptions import RequestEntityTooLarge

from admin_views.auth import PlainForm
from admin_views.i18n import rule_message
from rules import public as rules_public
from rules.errors import RuleError, each_error
from services import clock
from services import public as public_service

bp = Blueprint("public", __name__, url_prefix="/complaint")

HONEYPOT = "website"
CHALLENGE_SALT = "complaint-desk-public-challenge"
CHALLENGE_MAX_AGE = 2 * 3600  # a form left open longer gets a new sum
RECEIVED = "public_received"  # the session's last registration, shown once after the redirect


def init_app(app: Flask) -> None:
    """Register the pages; their size limit is set before any hook reads a form
    (admin_views.params cleans every form first)."""
    app.register_blueprint(bp)
    app.before_request_funcs.setdefault(None, []).insert(0, _limit_size)


def _limit_size():
    if request.blueprint == bp.name and request.method == "POST":
        request.max_content_length = int(public_service.config("PUBLIC_MAX_CONTENT_LENGTH"))


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error):
    limit = int(public_service.config("PUBLIC_MAX_CONTENT_LENGTH"))
    shown = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    return render_template("public/too_large.html", limit=shown), 413


# --- the challenge ---------------------------------------------------------------------------


def _challenge_secret() -> bytes:
    return hashlib.sha256(b"public-challenge:" + current_app.secret_key.encode()).digest()


def _new_challenge() -> dict:
    a, b = secrets.randbelow(rules_public.CHALLENGE_MAX) + 1, secrets.randbelow(
        rules_public.CHALLENGE_MAX) + 1
    nonce = secrets.token_urlsafe(12)
    digest = rules_public.challenge_digest(_challenge_secret(), nonce, a + b)
    token = URLSafeTimedSerializer(current_app.secret_key, salt=CHALLENGE_SALT).dumps(
        [nonce, digest])
    return {"a": a, "b": b, "token": token}


def _challenge_nonce(token: str | None, typed: str | None) -> str | None:
    """The nonce of a challenge answered right (None: wrong, forged or expired); it is used
    up when the complaint is registered (services.public.use_challenge)."""
    try:
        nonce, digest = URLSafeTimedSerializer(current_app.secret_key, salt=CHALLENGE_SALT).loads(
            token or "", max_age=CHALLENGE_MAX_AGE)
    except (BadData, ValueError, TypeError):
        return None
    passed = rules_public.challenge_passed(_challenge_secret(), str(nonce), str(digest), typed)
    return str(nonce) if passed else None


# --- helpers ---------------------------------------------------------------------------------


def _errors_of(err: RuleError) -> tuple[dict[str, list[str]], list[str]]:
    """The refusals next to their fields, and those about no field (shown at the top)."""
    fields: dict[str, list[str]] = {}
    top = []
    for refusal in each_error(err):
        name = getattr(refusal, "field", None)
        if name == "title":  # made from what happened
            name = "description"
        if name:
            fields.setdefault(name, []).append(rule_message(refusal))
        else:
            top.append(rule_message(refusal))
    return fields, top


def _when(value) -> str | None:
    """Company time as it is stored (naive local), as the acknowledgement message shows it."""
    return value.strftime("%Y-%m-%d %H:%M") if value else None


def _wait_page(wait_seconds: int):
    minutes = max(1, -(-wait_seconds // 60))
    return render_template("public/wait.html", minutes=minutes), 429, {
        "Retry-After": str(max(1, wait_seconds))}


def _form_page(values=None, errors=None, top=None, status=200):
    return render_template(
        "public/new.html", form=PlainForm(), values=values or {}, errors=errors or {},
        top=top or [], categories=public_service.categories(), challenge=_new_challenge(),
        max_files=int(public_service.config("PUBLIC_MAX_FILES")),
        honeypot=HONEYPOT), status


# --- the complaint form ----------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
def new():
    if request.method == "GET":
        return _form_page()
    now = clock.now()
    gate = public_service.submission_gate(request.remote_addr, now)
    if not gate.allowed:
        return _wait_page(gate.wait_seconds)
    form = PlainForm(request.form)
    values = {name: request.form.get(name, "") for name in rules_public.FORM_FIELDS}
    values["consent"] = bool(request.form.get("consent"))
    if not form.validate():
        return _form_page(values, top=[_("Your form expired or was incomplete. Please check "
                                         "your entries and send it again.")], status=400)
    if request.form.get(HONEYPOT):
        public_service.honeypot_filled(request.remote_addr, now)
        session[RECEIVED] = {"number": None}
        return redirect(url_for("public.received"))
    category_codes = frozenset(c.code for c in public_service.categories())
    files = [f for f in request.files.getlist("attachments") if f and f.filename]
    nonce = _challenge_nonce(request.form.get("challenge_token"), request.form.get("challenge"))
    try:
        clean = rules_public.check_form(request.form, category_codes,
                                        consent=values["consent"], challenge_ok=bool(nonce))
        rules_public.check_file_count(len(files), int(public_service.config("PUBLIC_MAX_FILES")))
        public_service.use_challenge(nonce, now)  # a replayed form registers nothing
        result = public_service.submit(clean, files, now)
    except RuleError as err:
        errors, top = _errors_of(err)
        return _form_page(values, errors, top, status=400)
    session[RECEIVED] = {
        "number": result.number, "due": _when(result.answer_due),
        "refused": [[name, rule_message(err)] for name, err in result.refused_files]}
    return redirect(url_for("public.received"))


@bp.route("/received")
def received():
    shown = session.pop(RECEIVED, None)
    if shown is None:
        return redirect(url_for("public.new"))
    return render_template("public/received.html", shown=shown)


# --- the status lookup -----------------------------------------------------------------------


@bp.route("/status", methods=["GET", "POST"])
def status():
    if request.method == "GET":
        return render_template("public/status.html", form=PlainForm(), values={}, errors={},
                               top=[], view=None)
    now = clock.now()
    gate = public_service.lookup_gate(request.remote_addr, now)
    if not gate.allowed:
        return _wait_page(gate.wait_seconds)
    form = PlainForm(request.form)
    values = {"number": request.form.get("number", "")[:40]}  # the contact is never re-shown
    page = {"form": PlainForm(), "values": values, "errors": {}, "top": [], "view": None}
    if not form.validate():
        page["top"] = [_("Your form expired or was incomplete. Please send it again.")]
        return render_template("public/status.html", **page), 400
    try:
        number = rules_public.check_lookup(request.form.get("number"),
                                           request.form.get("contact"))
    except RuleError as err:
        page["errors"], page["top"] = _errors_of(err)
        return render_template("public/status.html", **page), 400
    view = public_service.look_up(number, request.form.get("contact", ""))
    if view is None:
        public_service.lookup_failed(request.remote_addr, now)
        page["top"] = [_("We found no complaint with this number and these contact details. "
                         "Please check both and try again.")]
        return render_template("public/status.html", **page), 404
    page["view"] = view
    page["due"] = _when(view.answer_due)
    return render_template("public/status.html", **page)
