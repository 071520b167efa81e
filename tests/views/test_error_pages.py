"""Friendly error pages (issue 11, part 6): 403, 404 and 500 in the user's language, with
the desk's navbar for a signed-in user and the plain branded page for a visitor; a 500
never shows the error's text or a traceback."""

from __future__ import annotations

import re

import pytest

from admin_views.complaints import ComplaintView
from models import Staff, db
from tests.factories import AuthActions
from tests.views.complaint_helpers import make_complaint

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}
SECRET = "SECRET-DETAIL-7f3a"


def _speaks(app, org, username, locale):
    with app.app_context():
        db.session.get(Staff, org.users[username]).locale = locale
        db.session.commit()


def _signed_in(app, org, username, locale):
    _speaks(app, org, username, locale)
    client = app.test_client()
    assert AuthActions(client).login(username).status_code == 302
    return client


def _page(response) -> str:
    return response.get_data(as_text=True)


def _navbar(html) -> bool:
    """The desk's navbar: the menu, the search box and the log-out form."""
    return ('class="navbar' in html and 'action="/logout"' in html
            and 'class="form-inline desk-search' in html)


def _h1(html) -> str:
    return re.sub(r"\s+", " ", re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1)).strip()


@pytest.fixture
def boom(app):
    """A route that fails with an exception whose text must never reach the page; errors
    handled as in production (not propagated to the test)."""
    def fail():
        raise RuntimeError(f"{SECRET}: connection string postgres://user:pw@db")

    app.add_url_rule("/boom", "boom", fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return "/boom"


def test_404_for_a_signed_in_clerk_in_chinese_has_the_navbar(app, org):
    client = _signed_in(app, org, "intake", "zh_Hans_CN")
    for url in ("/admin/no-such-screen/", "/no-such-page"):
        r = client.get(url)
        html = _page(r)
        assert r.status_code == 404 and r.mimetype == "text/html"
        assert _h1(html) == "页面不存在"
        assert "请使用菜单或搜索框查找所需内容" in html
        assert _navbar(html), url
        assert "Intake" in html  # the user's name in the navbar
        assert 'href="/admin/"' in html and "返回首页" in html
        assert "Not Found" not in html  # not Werkzeug's English page


def test_404_in_english_for_an_english_user(app, org):
    client = _signed_in(app, org, "handler_qa", "en")
    html = _page(client.get("/admin/complaint/no-such/", headers=ZH))
    assert _h1(html) == "Page not found"
    assert _navbar(html) and "Go to the start page" in html


def test_403_for_a_handler_on_an_admin_screen_has_the_navbar(app, org):
    """A handler opening the staff list: refused, told why, still in the desk."""
    client = _signed_in(app, org, "handler_qa", "zh_Hans_CN")
    r = client.get("/admin/staff/")
    html = _page(r)
    assert r.status_code == 403
    assert _h1(html) == "无权打开此页面"
    assert "您的角色无权访问此页面或执行此操作。" in html and "错误代码：403" in html
    assert _navbar(html)
    assert "Forbidden" not in html


def test_403_in_english(app, org):
    client = _signed_in(app, org, "supervisor", "en")
    r = client.get("/admin/staff/new/")
    assert r.status_code == 403
    assert _h1(_page(r)) == "You may not open this page"


def test_404_for_a_visitor_is_the_plain_branded_page(app, org):
    client = app.test_client()
    r = client.get("/no-such-page", headers=ZH)
    html = _page(r)
    assert r.status_code == 404
    assert "页面不存在" in html and "客户投诉处理平台" in html
    assert 'href="/login"' in html and "登录" in html
    assert not _navbar(html) and 'action="/logout"' not in html
    r = client.get("/static/desk/no-such.css", headers=EN)
    assert r.status_code == 404 and "Page not found" in _page(r)


def test_a_visitor_at_an_admin_page_is_sent_to_log_in_not_refused(app, org):
    r = app.test_client().get("/admin/staff/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_500_for_a_visitor_shows_no_traceback(app, org, boom):
    r = app.test_client().get(boom, headers=ZH)
    html = _page(r)
    assert r.status_code == 500
    assert "出错了" in html and "请稍后重试" in html
    assert SECRET not in html and "Traceback" not in html and "RuntimeError" not in html
    assert "postgres://" not in html and "Internal Server Error" not in html


def test_500_for_a_signed_in_user_has_the_navbar_and_no_detail(app, org, boom, monkeypatch):
    client = _signed_in(app, org, "intake", "zh_Hans_CN")
    r = client.get(boom)
    html = _page(r)
    assert r.status_code == 500 and _h1(html) == "出错了" and _navbar(html)
    assert SECRET not in html and "Traceback" not in html

    # A failure while drawing a screen of the admin (inside the list's template).
    with app.app_context():
        make_complaint(status="registered")

    def broken(self, row):
        raise RuntimeError(SECRET)

    monkeypatch.setattr(ComplaintView, "row_cells", broken)
    r = client.get("/admin/complaint/?queue=all")
    html = _page(r)
    assert r.status_code == 500 and _h1(html) == "出错了" and _navbar(html)
    assert SECRET not in html and "Traceback" not in html


def test_500_when_the_navbar_itself_fails_falls_back_to_the_plain_page(app, org, boom,
                                                                      monkeypatch):
    """The database down: the navbar's bell cannot be counted; the plain page is shown."""
    client = _signed_in(app, org, "intake", "en")

    def down(*args, **kwargs):
        raise RuntimeError(f"{SECRET} database is down")

    monkeypatch.setattr("services.notifications.unread_count", down)
    r = client.get(boom)
    html = _page(r)
    assert r.status_code == 500
    assert "Something went wrong" in html and SECRET not in html and "Traceback" not in html
    assert not _navbar(html)


def test_error_pages_carry_the_security_headers(app, org):
    client = _signed_in(app, org, "handler_qa", "en")
    for url, code in (("/admin/staff/", 403), ("/nowhere", 404)):
        r = client.get(url)
        assert r.status_code == code
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["Cache-Control"] == "no-store"


def test_405_for_a_signed_in_clerk_in_chinese_has_the_navbar(app, org):
    """A button's address opened in the browser (log out is a POST): the desk's page."""
    client = _signed_in(app, org, "intake", "zh_Hans_CN")
    r = client.get("/logout")
    html = _page(r)
    assert r.status_code == 405 and r.mimetype == "text/html"
    assert _h1(html) == "不能以这种方式打开此地址"
    assert "此地址供按钮或表单提交使用" in html and _navbar(html)
    assert "Method Not Allowed" not in html


def test_400_for_a_visitor_and_a_signed_in_user(app, org):
    """A request the desk cannot read: the plain branded page, or the desk's in English."""
    from flask import abort

    def unreadable():
        abort(400)

    app.add_url_rule("/unreadable", "unreadable", unreadable)
    r = app.test_client().get("/unreadable")
    assert r.status_code == 400 and "Bad Request" not in _page(r)
    assert "The request could not be read" in _page(r)
    client = _signed_in(app, org, "handler_qa", "en")
    html = _page(client.get("/unreadable"))
    assert _h1(html) == "The request could not be read"
    assert "Go back, reload the page and try again." in html and _navbar(html)
