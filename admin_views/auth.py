"""Login, logout and the language switch."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from wtforms import HiddenField, PasswordField, StringField
from wtforms.csrf.session import SessionCSRF
from wtforms.form import Form
from wtforms.validators import InputRequired

from services import auth as auth_service

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"


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
            from flask import session

            return session


class LoginForm(CSRFForm):
    username = StringField(validators=[InputRequired()])
    password = PasswordField(validators=[InputRequired()])
    next = HiddenField()


class PlainForm(CSRFForm):
    """A form with nothing but its CSRF token (logout, language)."""


@login_manager.user_loader
def load_user(token):
    # The session holds the user's rotating token: replaying a cookie after logout,
    # a password change or deactivation finds no user.
    return auth_service.load_by_token(token)


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


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm(request.form, meta={"locales": None})
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if request.method == "POST" and form.validate():
        cfg = current_app.config
        try:
            staff = auth_service.authenticate(
                form.username.data, form.password.data,
                max_failures=cfg["LOGIN_MAX_FAILURES"], lock_minutes=cfg["LOGIN_LOCK_MINUTES"],
            )
        except auth_service.LoginRefused as err:
            flash(_(err.msgid, **err.params), "error")
        else:
            login_user(staff)
            return redirect(safe_next(form.next.data))
    elif request.method == "POST":
        flash(_("Your login form expired or was incomplete. Please try again."), "error")
    return render_template("login.html", form=form), (200 if request.method == "GET" else 401)


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
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
def set_language():
    """Store the chosen interface language on the user (or in the session when anonymous)."""
    from flask import session

    form = PlainForm(request.form)
    lang = request.form.get("lang", "")
    if form.validate() and lang in current_app.config["LANGUAGES"]:
        if current_user.is_authenticated:
            auth_service.set_locale(current_user.id, lang)
        session["lang"] = lang
    back = request.form.get("next") or (request.referrer and urlsplit(request.referrer).path)
    return redirect(safe_next(back))
