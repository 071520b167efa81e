"""Friendly error pages (issue 11, part 6): 400, 403, 404, 405 and 500 in the user's language.

A signed-in user gets the desk's page with its navbar (menu, search, bell, language
switch, log out), so they go on working from it; an anonymous visitor gets the plain
branded page of the sign-in screens. A 500 page never shows a traceback or the error's
text (Flask logs the exception before this handler runs). If drawing the navbar fails
too (e.g. the database is down) the plain page is used, and if even that fails, a fixed
bilingual page.

JSON endpoints keep Flask's own error response: a script reads the status, not a page.
"""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_admin import Admin, BaseView, expose
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError

from models import db

CODES = (400, 403, 404, 405, 500)

# The last resort: no template, no database, no translation catalogue.
BARE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="UTF-8">
<title>{code} – 投诉工作台 / Complaint desk</title></head><body>
<h1>{code}</h1><p>出错了，请稍后重试。 / Something went wrong: please try again later.</p>
<p><a href="/">投诉工作台 / Complaint desk</a></p></body></html>"""


class ErrorPageView(BaseView):
    """Renders the error page inside the admin layout; never in the menu, no routes."""

    def is_visible(self):
        return False

    def is_accessible(self):
        return current_user.is_authenticated

    @expose("/")
    def index(self):  # Flask-Admin wants a default view; never registered, never routed
        return ""


def _wants_json() -> bool:
    if request.path.endswith(".json") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes.accept_html


def init_error_pages(app: Flask, admin: Admin) -> None:
    """Register the 400/403/404/405/500 handlers; ``admin`` draws the navbar for signed-in users."""
    view = ErrorPageView(name=_l("Error"), endpoint="desk_error_page")
    view.admin = admin  # rendering only: not added to the menu, so no URL of its own

    def page(error):
        code = error.code if isinstance(error, HTTPException) else 500
        if _wants_json() and isinstance(error, HTTPException):
            return error
        if code == 500:
            error = InternalServerError()  # never the original exception's text
            try:
                db.session.rollback()  # the failed request's transaction, if any
            except Exception:  # noqa: BLE001 - the page must still be drawn
                app.logger.exception("rollback before the error page failed")
        try:
            if current_user.is_authenticated:
                return view.render("error_page.html", code=code), code
            return render_template("error_page_plain.html", code=code), code
        except Exception:  # noqa: BLE001 - the navbar needs the database: try without
            app.logger.exception("error page %s with the navbar failed", code)
        try:
            return render_template("error_page_plain.html", code=code), code
        except Exception:  # noqa: BLE001
            app.logger.exception("plain error page %s failed", code)
        return BARE.format(code=escape(code)), code, {"Content-Type": "text/html; charset=utf-8"}

    for code in CODES:
        app.register_error_handler(code, page)
