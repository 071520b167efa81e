"""Chinese and English: the catalogue is complete and compiled, zh-CN browsers get Chinese,
the language switch is stored on the user."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from models import Staff, db
from tests.conftest import AuthActions, csrf_token

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


def _po():
    with PO.open("rb") as f:
        return read_po(f, locale="zh_Hans_CN")


def _forms(value):
    """A message id or string as a tuple of its forms (plural entries have several)."""
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _translated(message):
    return all(_forms(message.string)) and "fuzzy" not in message.flags


def _extracted_msgids():
    """Every message id of ours, extracted as scripts/i18n.sh does (babel.cfg + keywords)."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = dict(DEFAULT_KEYWORDS, _l=None, N_=None, lazy_gettext=None,
                    lazy_ngettext=(1, 2))
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        ids.add(_forms(message)[0])
    return ids


def test_catalogue_has_no_empty_or_fuzzy_translation():
    """Every entry of the zh_Hans_CN catalogue has a Chinese translation that is not fuzzy."""
    catalog = _po()
    empty = [m.id for m in catalog if m.id and not _translated(m)]
    assert len(catalog) > 100
    assert empty == []


def test_every_string_of_ours_is_in_the_catalogue():
    """Each translatable string in admin_views, services, rules and templates is translated
    (run scripts/i18n.sh and translate the new entries when this fails)."""
    catalog = _po()
    translated = {_forms(m.id)[0] for m in catalog if m.id and _translated(m)}
    missing = sorted(_extracted_msgids() - translated)
    assert missing == []


def test_compiled_catalogue_matches_the_po_file():
    """The committed .mo holds exactly the .po's translations (it was compiled after editing)."""
    with MO.open("rb") as f:
        compiled = {_forms(m.id): _forms(m.string) for m in read_mo(f) if m.id}
    source = {_forms(m.id): _forms(m.string) for m in _po() if m.id}
    assert compiled == source


def test_placeholders_survive_translation():
    """Every %(name)s placeholder of a message id appears in its Chinese translation (for a
    plural entry: those of the plural form, in its one Chinese form)."""
    import re

    def names(text):
        return sorted(set(re.findall(r"%\(\w+\)[sd]", text)))

    wrong = [m.id for m in _po() if m.id
             and any(names(s) != names(_forms(m.id)[-1]) for s in _forms(m.string))]
    assert wrong == []


def test_login_page_in_chinese_for_a_zh_cn_browser(client):
    """A browser sending Accept-Language: zh-CN gets the login page in Chinese."""
    html = client.get("/login", headers=ZH).get_data(as_text=True)
    assert "登录" in html and "用户名" in html and 'lang="zh-CN"' in html
    english = client.get("/login", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert "Log in" in english and "登录" not in english


@pytest.mark.parametrize("header", ["zh-CN", "zh-cn,en;q=0.8", "zh-Hans-CN", "zh"])
def test_chinese_browser_variants_get_chinese(client, header):
    """zh-CN, lower-case zh-cn, zh-Hans-CN and plain zh all select the Chinese catalogue."""
    html = client.get("/login", headers={"Accept-Language": header}).get_data(as_text=True)
    assert "用户名" in html


def test_menus_in_chinese_for_a_zh_cn_browser(app, org, client, auth):
    """Flask-Admin's own strings and our menus and column labels come out in Chinese."""
    auth.login("admin")
    html = client.get("/admin/department/", headers=ZH).get_data(as_text=True)
    # Flask-Admin's catalogue: the list/create tabs.
    assert "列表" in html and "创建" in html
    # Ours: menu entries, the settings category, column labels, the logout button.
    for text in ("设置", "部门", "员工", "时限规则", "处理记录", "回访记录", "编码", "上级部门",
                 "退出登录"):
        assert text in html, text
    assert "Settings" not in html and "Departments" not in html


def test_enum_labels_in_chinese(app, org, client, auth):
    """Role labels in the staff list are translated (部门负责人, 责任人), not raw codes."""
    auth.login("admin")
    html = client.get("/admin/staff/", headers=ZH).get_data(as_text=True)
    assert "部门负责人" in html and "责任人" in html and "客服专员" in html
    assert ">dept_head<" not in html and ">handler<" not in html


def test_language_switch_is_stored_on_the_user(app, org, client, auth):
    """Choosing 中文 stores zh_Hans_CN on the user; it wins over the browser after a new login."""
    auth.login("intake")
    token = csrf_token(client, "/admin/category/")
    r = client.post("/language", data={"lang": "zh_Hans_CN", "csrf_token": token,
                                       "next": "/admin/category/"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/category/")
    with app.app_context():
        assert db.session.get(Staff, org.users["intake"]).locale == "zh_Hans_CN"
    auth.logout()
    other = app.test_client()
    AuthActions(other).login("intake")
    html = other.get("/admin/category/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "投诉类别" in html


def test_switching_back_to_english(app, org, client, auth):
    """A user who chose Chinese can switch back to English, also stored on the user."""
    with app.app_context():
        db.session.get(Staff, org.users["manager"]).locale = "zh_Hans_CN"
        db.session.commit()
    auth.login("manager")
    assert "设置" in client.get("/admin/category/").get_data(as_text=True)
    token = csrf_token(client, "/admin/category/")
    client.post("/language", data={"lang": "en", "csrf_token": token})
    with app.app_context():
        assert db.session.get(Staff, org.users["manager"]).locale == "en"
    html = client.get("/admin/category/", headers=ZH).get_data(as_text=True)
    assert "Settings" in html and "设置" not in html


def test_language_switch_needs_csrf_and_a_known_language(app, org, client, auth):
    """Without a CSRF token, or with an unknown language, the stored choice stays as it was."""
    auth.login("intake")
    client.post("/language", data={"lang": "zh_Hans_CN"})
    token = csrf_token(client, "/admin/category/")
    client.post("/language", data={"lang": "xx-evil", "csrf_token": token})
    with app.app_context():
        assert db.session.get(Staff, org.users["intake"]).locale is None


def test_anonymous_language_choice_is_kept_in_the_session(client):
    """Before login the choice lives in the session and applies to the login page."""
    token = csrf_token(client, "/login")
    client.post("/language", data={"lang": "zh_Hans_CN", "csrf_token": token, "next": "/login"})
    html = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "用户名" in html


def test_rule_messages_are_translated(app, org, client, auth):
    """A refusal from the framework-free layers (password too short) is shown in Chinese."""
    with app.app_context():
        db.session.get(Staff, org.users["admin"]).locale = "zh_Hans_CN"
        db.session.commit()
    auth.login("admin")
    url = f"/admin/staff/password/?id={org.users['intake']}"
    token = csrf_token(client, url)
    r = client.post(url, data={"csrf_token": token, "password": "short", "confirm": "short"},
                    follow_redirects=True)
    assert "密码至少需要 10 个字符。" in r.get_data(as_text=True)


def test_flask_admin_catalogue_ships_chinese(app):
    """Flask-Admin's own zh_Hans_CN catalogue is installed (its strings are not ours to keep)."""
    import flask_admin

    path = Path(flask_admin.__file__).parent / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
    assert (path / "admin.mo").exists()
    with (path / "admin.po").open("rb") as f:
        strings = {m.id: m.string for m in read_po(io.BytesIO(f.read())) if m.id}
    assert strings["List"] == "列表"
