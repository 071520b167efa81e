"""Content-Security-Policy (issue 8, item 4): scripts and styles from the app only, inline ones
with the response's nonce, no inline event handler or javascript: URL on any page the admin
can reach; Permissions-Policy; HSTS only in production."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import pytest

from app import create_app
from models import AccountabilityRecord, db
from rules import Clock, Status
from services import clock
from tests.factories import T0, AuthActions, Desk
from tests.views.complaint_helpers import make_complaint

NONCE = re.compile(r"script-src 'self' 'nonce-([A-Za-z0-9_-]{16,})'")
INLINE_TAG = re.compile(r"<(script|style)\b([^>]*)>", re.I)
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
JS_URL = re.compile(r"""(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.I)
LINK = re.compile(r"""href="(/[^"#]*)""")
SKIP = ("/export/", "/static/", "/logout")  # files, not pages; logging out ends the walk


def _policy(r) -> dict[str, str]:
    csp = r.headers["Content-Security-Policy"]
    return {d.split()[0]: d.strip() for d in csp.split(";") if d.strip()}


def _check_page(url, r) -> str:
    """The page's nonce, after checking its policy and every tag against it."""
    policy = _policy(r)
    assert policy["default-src"] == "default-src 'self'", url
    assert policy["object-src"] == "object-src 'none'" and policy["base-uri"] == "base-uri 'none'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["form-action"] == "form-action 'self'"
    assert policy["img-src"] == "img-src 'self' data:" and policy["font-src"] == "font-src 'self'"
    assert policy["connect-src"] == "connect-src 'self'"
    for directive in ("script-src", "style-src"):
        assert "unsafe-inline" not in policy[directive] and "unsafe-eval" not in policy[directive]
    match = NONCE.search(r.headers["Content-Security-Policy"])
    assert match, (url, r.headers["Content-Security-Policy"])
    nonce = match.group(1)
    assert f"style-src 'self' 'nonce-{nonce}'" == policy["style-src"]
    html = r.get_data(as_text=True)
    for tag, attrs in INLINE_TAG.findall(html):
        assert f'nonce="{nonce}"' in attrs, (url, tag, attrs)
    assert not HANDLER.search(html), (url, HANDLER.search(html).group(0))
    assert not JS_URL.search(html), (url, JS_URL.search(html).group(0))
    assert not re.search(r"""\sstyle\s*=""", html, re.I), (url, "inline style attribute")
    assert r.headers["Permissions-Policy"] == (
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
    return nonce


@pytest.fixture
def desk_data(app, org, monkeypatch):
    """Complaints in several states and an accountability record, so every screen has rows."""
    monkeypatch.setattr(clock, "now", lambda: T0)
    with app.app_context():
        desk = Desk(org)
        ids = [desk.bring_to(s) for s in (Status.REGISTERED, Status.IN_PROGRESS,
                                          Status.CALLBACK, Status.CLOSED)]
        cid = make_complaint(status=Status.IN_PROGRESS, department_id=org.qa,
                             assignee_id=org.users["handler_qa"], escalation_level=1,
                             due_at=T0 - timedelta(hours=3))
        db.session.add(AccountabilityRecord(
            complaint_id=cid, at=T0 - timedelta(hours=2), clock=Clock.RESOLVE,
            due_at=T0 - timedelta(hours=3), status=Status.IN_PROGRESS, department_id=org.qa,
            person_id=org.users["handler_qa"], escalation_level=1))
        db.session.commit()
        return ids + [cid]


def _walk(client, start, limit=120, per_path=3):
    """GET pages reachable by links from ``start`` (same host, a few per path)."""
    seen, per, queue, pages = set(), {}, list(start), []
    while queue and len(pages) < limit:
        url = queue.pop(0)
        path = urlsplit(url).path
        if url in seen or any(s in url for s in SKIP) or per.get(path, 0) >= per_path:
            continue
        seen.add(url)
        r = client.get(url)
        if r.status_code != 200 or r.mimetype != "text/html":
            continue
        per[path] = per.get(path, 0) + 1
        pages.append((url, r))
        for href in LINK.findall(r.get_data(as_text=True)):
            queue.append(urljoin(url, href.replace("&amp;", "&")))
    return pages


def test_every_page_of_the_admin_walk_has_a_nonce_policy(app, org, desk_data, client, auth):
    """Login page, dashboard, lists, details, create and edit forms, action forms, settings,
    reports: a policy with a nonce, every inline script/style tag carrying it, no inline
    handler, no javascript: URL, no style attribute."""
    _check_page("/login", client.get("/login"))
    auth.login("admin")
    cid = desk_data[1]
    start = ["/admin/", "/admin/complaint/", "/admin/complaint/?queue=all",
             f"/admin/complaint/details/?id={cid}", f"/admin/complaint/edit/?id={cid}",
             "/admin/complaint/new/", "/admin/staff/", "/admin/staff/new/",
             "/admin/category/", "/admin/accountability/", "/admin/reports/",
             "/admin/complaint/?flt0_status_equals=in_progress&page_size=20"]
    pages = _walk(client, start)
    visited = {urlsplit(u).path for u, _ in pages}
    for needed in ("/admin/", "/admin/complaint/", "/admin/complaint/details/",
                   "/admin/complaint/edit/", "/admin/complaint/new/", "/admin/staff/new/",
                   "/admin/accountability/", "/admin/reports/", "/admin/category/"):
        assert needed in visited, (needed, sorted(visited))
    assert any("/act/" in p or "/action" in p for p in visited), sorted(visited)
    nonces = [_check_page(url, r) for url, r in pages]
    assert len(set(nonces)) == len(nonces)  # a fresh nonce for every response
    assert len(pages) >= 25, len(pages)


def test_the_nonce_is_in_flask_admin_and_our_inline_tags(app, org, desk_data, client, auth):
    """The same request's nonce on Flask-Admin's script tags and on our own."""
    auth.login("admin")
    r = client.get("/admin/category/")
    nonce = _check_page("/admin/category/", r)
    html = r.get_data(as_text=True)
    assert f'<script nonce="{nonce}" src="/static/desk/desk.js"' in html
    assert f'nonce="{nonce}" src="/static/desk/xeditable-csp.js"' in html  # editable columns
    assert html.count(f'nonce="{nonce}"') >= 10
    for asset in ("desk.js", "desk.css", "xeditable-csp.js"):
        with client.get(f"/static/desk/{asset}") as r:
            assert r.status_code == 200


ASSET = re.compile(r"""<(?:script|link)\b[^>]*?\s(?:src|href)="(/[^"?#]+\.(?:js|css))""")
EXTERNAL_CSS = re.compile(r"""@import|url\(\s*["']?\s*(?:https?:)?//""", re.I)
# Another host, absolute (http://, https://) or protocol-relative (//host.tld).
EXTERNAL_URL = re.compile(
    r"""(?:https?:)?//(?:localhost\b|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)[^\s"'<>)]*""", re.I)
# Comments: a CSS/JS block comment (licence headers name their sites) and a JS line comment
# (after a line start or punctuation, never the "//" of a "https://" string).
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
BLOCK_COMMENT = re.compile(r"/\*[!*\s].*?\*/", re.S)  # in JS: not a "/*" inside a string
LINE_COMMENT = re.compile(r"(?m)(?:^|(?<=[\s;{}]))//[^\n]*")
# URLs that are written in code but never fetched, each with the reason. Nothing else.
NOT_FETCHED = {
    "http://www.w3.org/2000/svg": "an XML namespace (SVG icons), a name not an address",
    "http://www.w3.org/1999/xlink": "an XML namespace",
    "https://popper.js.org": "Bootstrap's error text when Popper is missing",
    "https://popper.js.org/": "Bootstrap's error text when Popper is missing",
    # moment.js names its guide in console deprecation warnings (text, not a request).
    **{f"http://momentjs.com/guides/#/warnings/{w}/": "a console warning's text" for w in (
        "add-inverted-param", "define-locale", "dst-shifted", "js-date", "min-max", "zone")},
    # Flask-Admin's form.js map widget (attribution links under a map): the desk has no map
    # field (asserted below: no data-role="leaflet" on any page), and img-src 'self' would
    # block its tiles anyway.
    "//openstreetmap.org": "a map attribution link; no map on any page",
    "//creativecommons.org/licenses/by-sa/2.0/": "a map attribution link; no map on any page",
    "//mapbox.com": "a map attribution link; no map on any page",
}


def _external(text: str, kind: str = "html") -> list[str]:
    """The external URLs of a page, or of a stylesheet ("css") or script ("js") with their
    comments taken out."""
    if kind == "css":
        text = CSS_COMMENT.sub("", text)
    if kind == "js":
        text = LINE_COMMENT.sub("", BLOCK_COMMENT.sub("", text))
    return [u for u in EXTERNAL_URL.findall(text) if u not in NOT_FETCHED]


def _menu_links(html: str) -> list[str]:
    """The navbar's menu entries (the admin menu and its dropdowns)."""
    nav = html.split('<nav class="navbar', 1)[1].split("</nav>", 1)[0]
    return [h.replace("&amp;", "&") for h in re.findall(
        r"""<a class="(?:nav-link|dropdown-item)[^"]*"\s+href="(/[^"#]*)""", nav)]


@pytest.fixture
def boom(app):
    """A failing route (a 500 page), errors handled as in production."""
    def fail():
        raise RuntimeError("boom")

    app.add_url_rule("/boom", "boom", fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return "/boom"


def test_nothing_served_references_another_host(app, org, desk_data, boom):
    """No request leaves the host (issue 11, part 6): every page of the admin menu for an
    admin and a clerk (and the pages they link to), the login page and the error pages,
    then every stylesheet and script those pages load, name no other host but the
    never-fetched URLs of NOT_FETCHED; no stylesheet @imports (Bootswatch's flatly imports
    a Google font: we serve a copy without it)."""
    anonymous = app.test_client()
    pages = [(u, anonymous.get(u)) for u in ("/login", "/no-such-page", boom)]
    assert [r.status_code for _, r in pages] == [200, 404, 500]
    menus = {}
    for username in ("admin", "intake"):
        client = app.test_client()
        assert AuthActions(client).login(username).status_code == 302
        menus[username] = _menu_links(client.get("/admin/").get_data(as_text=True))
        pages += _walk(client, ["/admin/", *menus[username]], limit=70, per_path=1)
        for url in ("/admin/no-such-page/", "/admin/staff/", boom):
            pages.append((url, client.get(url)))
    assert {"/admin/staff/", "/admin/reports/", "/admin/complaint/"} <= set(menus["admin"])
    assert "/admin/complaint/" in menus["intake"] and "/admin/staff/" not in menus["intake"]
    codes = {r.status_code for _, r in pages}
    assert {200, 403, 404, 500} <= codes, codes
    visited = {urlsplit(u).path for u, _ in pages}
    for username, links in menus.items():
        missing = {urlsplit(u).path for u in links} - visited
        assert not missing, (username, missing)
    assets = set()
    for url, r in pages:
        html = r.get_data(as_text=True)
        assert not _external(html), (url, _external(html))
        assert 'data-role="leaflet"' not in html, url  # NOT_FETCHED's map links stay unused
        assets |= set(ASSET.findall(html))
    assert "/static/desk/bootstrap-flatly.min.css" in assets
    assert not any("swatch" in a for a in assets), assets
    assert any(a.endswith(".js") for a in assets) and len(assets) >= 8, assets
    for asset in sorted(assets):
        with anonymous.get(asset) as r:
            assert r.status_code == 200, asset
            body = r.get_data(as_text=True)
        kind = asset.rsplit(".", 1)[1]
        assert not _external(body, kind), (asset, _external(body, kind)[:5])
        if asset.endswith(".css"):
            css = CSS_COMMENT.sub("", body)
            assert not EXTERNAL_CSS.search(css), (asset, EXTERNAL_CSS.search(css).group(0))


def test_the_check_finds_another_host():
    """The patterns above catch what they are for (so the walk's silence means something)."""
    assert _external('<link href="https://fonts.googleapis.com/css?family=Lato">')
    assert _external('<script src="//cdn.example.com/x.js"></script>')
    assert _external("@import url(//fonts.example.org/a.css);", "css")
    assert _external("a{background:url('https://x.example/i.png')}", "css")
    assert _external('x.src="http://localhost:9000/y.js";', "js")
    assert _external('f(a, "//cdn.example.com/z.js")', "js")
    assert not _external('<svg xmlns="http://www.w3.org/2000/svg"></svg>')
    assert not _external("/*! Bootstrap https://getbootstrap.com/ */ a{}", "css")
    assert not _external("var a = 1; // see https://github.com/x/y", "js")
    assert not _external('<a href="/admin/complaint/">x</a>')


def test_nonces_differ_between_requests(client):
    nonces = {NONCE.search(client.get("/login").headers["Content-Security-Policy"]).group(1)
              for _ in range(5)}
    assert len(nonces) == 5


@pytest.mark.parametrize("url", ["/login", "/no-such-page", "/static/desk/desk.js"])
def test_headers_on_pages_errors_and_files(client, url):
    with client.get(url) as r:
        pass
    assert "Permissions-Policy" in r.headers
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in r.headers  # not in production


def test_hsts_only_in_production(app):
    prod = create_app({**app.config, "PRODUCTION": True, "SECRET_KEY": secrets.token_hex(32)})
    r = prod.test_client().get("/login", base_url="https://localhost")
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    assert NONCE.search(r.headers["Content-Security-Policy"])
    assert "Permissions-Policy" in r.headers
    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers
