"""Login (password, then a code for two-step sign-in), logout, the two-step sign-in page,
session time limits and the language switch."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from itsdangerous import BadData, URLSafeTimedSerializer
from markupsafe import Markup
from wtforms import HiddenField, PasswordField, StringField
from wtforms.csrf.session import SessionCSRF
from wtforms.form import Form
from wtforms.validators import InputRequired, Length

from rules import RuleError
from rules import login as throttle
from services import auth as auth_service
from services import clock, totp
from services import two_step as two_step_service

from .i18n import rule_message

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"

# A browser in which an account signed in lately: its own failures still count, but the
# account name's delay (caused by anyone, anywhere) does not hold it back.
DEVICE_COOKIE = "desk_device"
DEVICE_SALT = "complaint-desk-known-device"
DEVICE_NAMES_KEPT = 5  # accounts remembered per browser (a shared front-desk computer)
PENDING = "pending_login"  # the session's half-done two-step sign-in
SEEN_EVERY = timedelta(seconds=15)  # "last seen" is rewritten at most this often

# What an administrator who must enrol (production, no second factor yet) may still open.
ENROLMENT_ENDPOINTS = frozenset({"auth.two_step", "auth.two_step_confirm", "auth.logout",
                                 "auth.set_language", "auth.login"})


class CSRFForm(Form):
    """A WTForms form with session-bound CSRF (the same scheme as Flask-Admin's SecureForm)."""

    class Meta:
        csrf = True
        csrf_class = SessionCSRF

        @property
        def csrf_secret(self):
            return current_app.secret_key.encode()

        @property
        def csrf_context(self):
            return session


class LoginForm(CSRFForm):
    username = StringField(validators=[InputRequired(), Length(max=200)])
    password = PasswordField(validators=[InputRequired(), Length(max=1024)])
    next = HiddenField()


class CodeForm(CSRFForm):
    code = StringField(validators=[InputRequired(), Length(max=64)])


class DisableForm(CSRFForm):
    password = PasswordField(validators=[InputRequired(), Length(max=1024)])
    code = StringField(validators=[InputRequired(), Length(max=64)])


class PlainForm(CSRFForm):
    """A form with nothing but its CSRF token (logout, language)."""


@login_manager.user_loader
def load_user(token):
    # The session holds the user's rotating token: replaying a cookie after logout,
    # a password change or deactivation finds no user. The settings that shape the user's
    # queue and menu come in the same statement: kept for this request (the keys
    # models.settings and admin_views.accountability read), never asked again.
    found = auth_service.load_session(token)
    if found is None:
        return None
    staff, facts = found
    g.supervisors_call_back = facts.supervisors_call_back
    g.may_read_accountability = facts.reads_accountability
    return staff


def safe_next(target: str | None) -> str:
    """A local path to go to after login; anything pointing off this host is dropped."""
    fallback = url_for("admin.index")
    if not target:
        return fallback
    target = target.strip()
    # Judge the decoded form too: "/%5Cevil" or "/%2F/evil" must not become "//evil" later.
    for form in (target, unquote(target)):
        if "\\" in form or any(ord(ch) < 32 or ord(ch) == 127 for ch in form):
            return fallback
        parts = urlsplit(form)
        if parts.scheme or parts.netloc or not form.startswith("/") or form.startswith("//"):
            return fallback
    return target


def _flash_refusal(err: auth_service.LoginRefused) -> None:
    flash(" ".join(_(msgid, **params) for msgid, params in err.messages), "error")


# --- known devices -----------------------------------------------------------------------


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=DEVICE_SALT)


def _device_days() -> int:
    return int(current_app.config.get("LOGIN_DEVICE_DAYS", 90))


def _known_names() -> list[str]:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return []
    try:
        names = _device_serializer().loads(raw, max_age=_device_days() * 86400)
    except (BadData, ValueError, TypeError):
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def _remember_device(response, username: str) -> None:
    name = throttle.normalize_username(username)
    names = [name] + [n for n in _known_names() if n != name][:DEVICE_NAMES_KEPT - 1]
    response.set_cookie(
        DEVICE_COOKIE, _device_serializer().dumps(names), max_age=_device_days() * 86400,
        path=url_for("auth.login"), httponly=True, samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))


# --- signing in --------------------------------------------------------------------------


def _stamp(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def _parse(stamp) -> datetime | None:
    try:
        return datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        return None


def _fresh_session() -> None:
    """A new session for a new sign-in: nothing of the anonymous one is kept but the
    chosen language (no fixation of a planted session, no leftover state)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _complete_login(staff, target: str):
    _fresh_session()
    login_user(staff, remember=False)
    now = _stamp(clock.now())
    session["login_at"] = session["seen_at"] = now
    if two_step_service.needs_totp_enrolment(staff):
        flash(_("Administrators must use two-step sign-in. Set it up now."), "warning")
        target = url_for("auth.two_step")
    response = redirect(target)
    _remember_device(response, staff.username)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm(request.form)
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if request.method == "POST" and form.validate():
        known = throttle.normalize_username(form.username.data) in _known_names()
        try:
            staff = auth_service.authenticate(form.username.data, form.password.data,
                                              ip=request.remote_addr, known_device=known)
        except auth_service.LoginRefused as err:
            _flash_refusal(err)
        else:
            target = safe_next(form.next.data)
            if not auth_service.needs_second_step(staff):
                return _complete_login(staff, target)
            _fresh_session()
            session[PENDING] = {"uid": staff.id,
                                "token": auth_service.token_digest(staff.session_token),
                                "at": _stamp(clock.now()), "next": target}
            return redirect(url_for("auth.second_step"))
    elif request.method == "POST":
        flash(_("Your login form expired or was incomplete. Please try again."), "error")
    return render_template("login.html", form=form), (200 if request.method == "GET" else 401)


def _pending():
    """The half-done two-step sign-in of this session, if it is recent enough."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    started = _parse(pending.get("at"))
    minutes = current_app.config.get("LOGIN_SECOND_STEP_MINUTES", 5)
    if started is None or clock.now() - started > timedelta(minutes=minutes):
        return None
    return pending


@bp.route("/login/code", methods=["GET", "POST"])
def second_step():
    """The second step of a two-step sign-in: a code from the app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    pending = _pending()
    if pending is None:
        session.pop(PENDING, None)
        flash(_(auth_service.SECOND_STEP_EXPIRED), "error")
        return redirect(url_for("auth.login"))
    form = CodeForm(request.form)
    status = 200
    if request.method == "POST" and form.validate():
        try:
            staff = auth_service.verify_second_step(
                pending["uid"], pending["token"], form.code.data, ip=request.remote_addr)
        except auth_service.LoginRefused as err:
            _flash_refusal(err)
            if err.msgid == auth_service.SECOND_STEP_EXPIRED:
                session.pop(PENDING, None)
                return redirect(url_for("auth.login"))
            status = 401
        else:
            return _complete_login(staff, safe_next(pending.get("next")))
    elif request.method == "POST":
        flash(_("Your login form expired or was incomplete. Please try again."), "error")
        status = 401
    return render_template("totp_verify.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    form = PlainForm(request.form)
    if not form.validate():
        flash(_("Your session form expired. Please try again."), "error")
        return redirect(url_for("admin.index"))
    staff = current_user._get_current_object()
    auth_service.end_sessions(staff)
    logout_user()
    _fresh_session()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


# --- session limits and the administrators' second factor ----------------------------------


@bp.before_app_request
def _session_guard():
    """Idle timeout and absolute lifetime of a signed-in session (checked on the server on
    every request, from the signed times in the session); an administrator of a production
    desk without a second factor is sent to set one up before anything else."""
    endpoint = request.endpoint or ""
    if endpoint == "static" or endpoint.endswith(".static"):
        return None
    if not current_user.is_authenticated:
        return None
    now = clock.now()
    login_at, seen_at = _parse(session.get("login_at")), _parse(session.get("seen_at"))
    if login_at is None or seen_at is None:  # a session from before these limits: start now
        session["login_at"] = session["seen_at"] = _stamp(now)
    else:
        cfg = current_app.config
        reason = throttle.session_expiry(
            login_at, seen_at, now, idle=timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]),
            max_age=timedelta(hours=cfg["SESSION_MAX_HOURS"]))
        if reason is not None:
            logout_user()
            _fresh_session()
            if reason == throttle.SESSION_IDLE:
                flash(_("You were logged out after a while without activity. "
                        "Please log in again."), "info")
            else:
                flash(_("Your session reached its maximum length. Please log in again."),
                      "info")
            back = request.full_path if request.method == "GET" else None
            return redirect(url_for("auth.login", next=back) if back else url_for("auth.login"))
        if now - seen_at >= SEEN_EVERY:
            session["seen_at"] = _stamp(now)
    if endpoint not in ENROLMENT_ENDPOINTS and two_step_service.needs_totp_enrolment(current_user):
        flash(_("Administrators must use two-step sign-in. Set it up now."), "warning")
        return redirect(url_for("auth.two_step"))
    return None


# --- the two-step sign-in page ---------------------------------------------------------------


def _enrolment_page(form=None, status=200):
    staff = current_user._get_current_object()
    secret = two_step_service.begin_totp_enrolment(staff.id)
    issuer = current_app.config.get("TOTP_ISSUER", "Complaint desk")
    uri = totp.provisioning_uri(secret, staff.username, issuer)
    return render_template(
        "totp_setup.html", form=form or CodeForm(),
        qr=Markup(totp.qr_svg(uri, title=_("QR code for your authenticator app"))),
        secret=totp.grouped_secret(secret),
        required=two_step_service.needs_totp_enrolment(staff)), status


@bp.route("/account/two-step", methods=["GET"])
@login_required
def two_step():
    """Two-step sign-in: set it up (QR code, then a code), or see it and turn it off."""
    staff = current_user._get_current_object()
    if not staff.totp_enabled:
        return _enrolment_page()
    return render_template("totp_manage.html", form=DisableForm(),
                           left=two_step_service.recovery_codes_left(staff.id))


@bp.route("/account/two-step/confirm", methods=["POST"])
@login_required
def two_step_confirm():
    form = CodeForm(request.form)
    if not form.validate():
        flash(_("Your session form expired. Please try again."), "error")
        return redirect(url_for("auth.two_step"))
    try:
        codes = two_step_service.confirm_totp_enrolment(current_user.id, form.code.data,
                                                    ip=request.remote_addr)
    except RuleError as err:
        flash(rule_message(err), "error")
        return _enrolment_page(form, 400)
    # Shown once, in this answer only (never stored in the session or flashed).
    return render_template("totp_recovery_codes.html", codes=codes)


@bp.route("/account/two-step/disable", methods=["POST"])
@login_required
def two_step_disable():
    form = DisableForm(request.form)
    if not form.validate():
        flash(_("Your session form expired. Please try again."), "error")
        return redirect(url_for("auth.two_step"))
    try:
        two_step_service.disable_totp(current_user.id, form.password.data, form.code.data,
                                  ip=request.remote_addr)
    except RuleError as err:
        flash(rule_message(err), "error")
    else:
        flash(_("Two-step sign-in is off."), "success")
    return redirect(url_for("auth.two_step"))


# --- language --------------------------------------------------------------------------------


@bp.route("/language", methods=["POST"])
def set_language():
    """Store the chosen interface language on the user (or in the session when anonymous)."""
    form = PlainForm(request.form)
    lang = request.form.get("lang", "")
    if form.validate() and lang in current_app.config["LANGUAGES"]:
        if current_user.is_authenticated:
            auth_service.set_locale(current_user.id, lang)
        session["lang"] = lang
    back = request.form.get("next") or (request.referrer and urlsplit(request.referrer).path)
    return redirect(safe_next(back))
