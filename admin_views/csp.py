"""Content-Security-Policy with a per-request nonce, Permissions-Policy, and the desk's own
static files (issue 8, item 4).

Every script and style comes from this app ('self'); an inline <script>/<style> runs only
with the nonce of its own response (``csp_nonce()`` in every template; Flask-Admin's
templates get it through ``Admin(csp_nonce_generator=...)`` as ``admin_csp_nonce_attribute``).
No 'unsafe-inline' and no 'unsafe-eval': the inline ``onclick=`` handlers and
``javascript:`` links of Flask-Admin's templates are replaced by our copies of those templates
(templates/admin/...) and wired by data- attributes in static/desk/desk.js.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, Flask, g

# Served at /static/desk/<file> (the app itself has no static folder).
assets = Blueprint("desk_assets", __name__, static_folder="static/desk",
                   static_url_path="/static/desk")

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def csp_nonce() -> str:
    """This request's nonce: made once per request, the same in every template of it."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(16)
    return nonce


def content_security_policy(nonce: str) -> str:
    """The policy of a response whose inline scripts and styles carry ``nonce``."""
    directives = (
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        # No 'unsafe-inline': our templates use classes (static/desk/desk.css), not style="";
        # styles set from script (jQuery .css(), Popper, Select2) go through the CSSOM, which
        # a policy does not restrict.
        f"style-src 'self' 'nonce-{nonce}'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    )
    return "; ".join(directives)


def init_csp(app: Flask) -> None:
    """The desk's static files and ``csp_nonce()`` in every template."""
    app.register_blueprint(assets)
    app.context_processor(lambda: {"csp_nonce": csp_nonce})
