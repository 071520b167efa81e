"""Flask-Admin screens: thin views over the services."""

from __future__ import annotations

from flask import Flask, has_request_context, request, session
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import Babel
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from . import csp
from .auth import PlainForm, login_manager
from .auth import bp as auth_bp
from .contact_search import searches_by_post
from .dashboard import DashboardView
from .labels import ROLE, label

babel = Babel()


def select_locale():
    """The user's choice, else the session's, else the browser's (zh-CN gets Chinese)."""
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI (e.g. flask report): the default unless forced
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("lang") in languages:
        return session["lang"]
    if request.blueprint == "public":  # the public pages: Chinese first (issue 14)
        return "zh_Hans_CN"
    # Browsers send zh-CN / zh-Hans / zh; Babel's catalogue is zh_Hans_CN (FLASK-ADMIN.md P7).
    best = request.accept_languages.best_match(
        ["en", "zh-CN", "zh-Hans-CN", "zh-Hans", "zh", "zh-SG"]
    )
    if best and best.lower().startswith("zh"):
        return "zh_Hans_CN"
    return "en"


def init_app(app: Flask) -> None:
    """Attach login, screens, translations and security headers to the app."""
    from . import params

    params.init_app(app)  # every request's parameters checked first (admin_views/params.py)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    app.register_blueprint(auth_bp)
    csp.init_csp(app)  # csp_nonce() in templates; static/desk/ (desk.js, desk.css)

    admin = Admin(
        app,
        name=_l("Complaint desk"),
        # desk_base.html: the user, the language switch and a logout form in every navbar.
        theme=Bootstrap4Theme(swatch="flatly", fluid=True, base_template="admin/desk_base.html"),
        index_view=DashboardView(name=_l("Home"), url="/admin"),
        csp_nonce_generator=csp.csp_nonce,  # admin_csp_nonce_attribute in its templates
    )
    from .registry import register_views

    register_views(admin)
    from .errors import init_error_pages

    init_error_pages(app, admin)  # 403 / 404 / 500 in the user's language, navbar if signed in

    @app.context_processor
    def _helpers():
        from flask_babel import get_locale

        def current_locale_tag():
            loc = get_locale()
            return "zh-CN" if loc and loc.language == "zh" else "en"

        def language_csrf_token():
            return PlainForm().csrf_token.current_token

        def unread_notifications():
            """The bell's number: one indexed COUNT, the complaints' scope re-checked."""
            from services.notifications import unread_count

            if not current_user.is_authenticated:
                return 0
            return unread_count(current_user.actor)

        return {
            "unread_notifications": unread_notifications,
            "current_locale_tag": current_locale_tag,
            "language_csrf_token": language_csrf_token,
            "search_by_post": searches_by_post,  # contacts masked: the box posts (issue 10)
            "role_label": lambda role: label(ROLE, role),
        }

    @app.route("/")
    def root():
        from flask import redirect, url_for

        return redirect(url_for("admin.index"))

    @app.after_request
    def _security_headers(response):
        h = response.headers
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        # Scripts and styles from self, inline ones only with this response's nonce.
        h.setdefault("Content-Security-Policy", csp.content_security_policy(csp.csp_nonce()))
        h.setdefault("Permissions-Policy", csp.PERMISSIONS_POLICY)
        if app.config["PRODUCTION"]:
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        static = (request.endpoint or "").endswith("static")  # CSS/JS: cacheable, not private
        if (current_user.is_authenticated or request.path.startswith("/login")) and not static:
            h["Cache-Control"] = "no-store"
            h["Pragma"] = "no-cache"
        return response

