"""Attachments through the screens, as every role: upload from the complaint page (CSRF),
listing and timeline, download and thumbnail only within scope, safe response headers,
bad uploads refused with nothing stored, retiring, S3 storage and its outage."""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import pytest
from complaint_helpers import LIST, NOW, flashes, login, make_complaint, text
from sqlalchemy import func, select

from models import Attachment, ComplaintEvent, db
from services import clock
from tests.attachment_samples import HTML, SAMPLES, SVG, image, png_bomb, zip_bomb
from tests.factories import csrf_token, recorded_statements

IN_SCOPE = ("admin", "intake", "manager", "supervisor", "executive", "head_qa", "handler_qa")
OUT_OF_SCOPE = ("head_log", "handler_log", "handler_qa2", "head_hr")
_CSRF_IN_UPLOAD = re.compile(
    r'class="form-inline mb-3 attachment-upload">\s*<input[^>]*name="csrf_token"[^>]*'
    r'value="([^"]+)"')


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


@pytest.fixture
def files(app, tmp_path):
    app.config["STORAGE_LOCAL_DIR"] = str(tmp_path / "files")
    app.extensions.pop("desk_storage", None)
    return tmp_path / "files"


@pytest.fixture
def cid(app, wide_org, files):
    with app.app_context():
        return make_complaint(status="in_progress", department_id=wide_org.qa,
                              assignee_id=wide_org.users["handler_qa"])


def details(cid):
    return f"{LIST}details/?id={cid}"


def upload_token(client, cid) -> str:
    html = text(client.get(details(cid)))
    match = _CSRF_IN_UPLOAD.search(html)
    assert match, "no upload form"
    return match.group(1)


def upload(client, cid, name, data, token=None):
    token = upload_token(client, cid) if token is None else token
    return client.post(f"{LIST}attachments/add/?id={cid}",
                       data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", follow_redirects=True)


def rows(app):
    with app.app_context():
        return db.session.scalars(select(Attachment).order_by(Attachment.id)).all()


def event_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ComplaintEvent))


def test_upload_list_and_timeline(app, cid):
    client = login(app, "handler_qa")
    page = upload(client, cid, "冰箱照片.png", image("PNG"))
    html = text(page)
    assert "冰箱照片.png added" in flashes(html)
    [a] = rows(app)
    assert f"{LIST}attachments/{a.id}/" in html  # the download link
    assert f"{LIST}attachments/{a.id}/thumbnail/" in html  # the thumbnail
    assert "File added" in html and "冰箱照片.png" in html  # on the timeline
    assert 'enctype="multipart/form-data"' in html


def test_upload_without_csrf_is_refused(app, cid):
    client = login(app, "handler_qa")
    for token in ("", "forged"):
        response = upload(client, cid, "a.png", image("PNG"), token=token)
        assert response.status_code == 400
    assert rows(app) == []


def test_upload_roles_and_scope(app, cid):
    supervisor = login(app, "supervisor")
    assert "attachment-upload" not in text(supervisor.get(details(cid)))
    token = csrf_token(supervisor, "/admin/")  # the supervisor's own session token
    response = supervisor.post(f"{LIST}attachments/add/?id={cid}",
                               data={"csrf_token": token,
                                     "file": (io.BytesIO(image("PNG")), "a.png")},
                               content_type="multipart/form-data")
    assert response.status_code == 403
    for who in OUT_OF_SCOPE:
        client = login(app, who)
        response = client.post(f"{LIST}attachments/add/?id={cid}",
                               data={"file": (io.BytesIO(image("PNG")), "a.png")},
                               content_type="multipart/form-data")
        assert response.status_code == 404, who
    anonymous = app.test_client().post(f"{LIST}attachments/add/?id={cid}")
    assert anonymous.status_code in (302, 401, 403)
    assert rows(app) == []


def test_closed_complaint_takes_no_files(app, wide_org, files):
    with app.app_context():
        closed = make_complaint(status="closed", department_id=wide_org.qa)
    client = login(app, "manager")
    assert "attachment-upload" not in text(client.get(details(closed)))


@pytest.fixture
def stored(app, cid):
    """A photo and a PDF uploaded by handler_qa: {kind: attachment id}."""
    client = login(app, "handler_qa")
    upload(client, cid, "照片.jpg", image("JPEG"))
    upload(client, cid, "检测报告.pdf", SAMPLES["pdf"][1]())
    return {a.kind: a.id for a in rows(app)}


@pytest.mark.parametrize("who", IN_SCOPE + OUT_OF_SCOPE)
def test_download_and_thumbnail_only_within_scope(app, cid, stored, who):
    client = login(app, who)
    urls = [f"{LIST}attachments/{stored['jpeg']}/", f"{LIST}attachments/{stored['pdf']}/",
            f"{LIST}attachments/{stored['jpeg']}/thumbnail/"]
    page = client.get(details(cid))
    for url in urls:
        response = client.get(url)
        if who in IN_SCOPE:
            assert response.status_code == 200, (who, url)
            assert url in text(page)
        else:
            assert response.status_code == 404, (who, url)
            assert page.status_code in (302, 404)  # the complaint itself is "not found"
            assert "照片" not in text(response) and "照片" not in text(page)


def test_anonymous_gets_no_file(app, stored):
    for aid in stored.values():
        response = app.test_client().get(f"{LIST}attachments/{aid}/")
        assert response.status_code in (302, 401, 403)
        assert response.headers.get("Content-Disposition") is None


def test_no_pdf_thumbnail_and_unknown_ids(app, stored):
    client = login(app, "admin")
    assert client.get(f"{LIST}attachments/{stored['pdf']}/thumbnail/").status_code == 404
    assert client.get(f"{LIST}attachments/999999/").status_code == 404
    assert client.get(f"{LIST}attachments/x/").status_code == 404
    assert client.get(f"{LIST}attachments/{10**30}/").status_code == 404
    assert client.get(f"{LIST}attachments/{2**31}/thumbnail/").status_code == 404


def test_download_headers(app, stored):
    client = login(app, "intake")
    photo = client.get(f"{LIST}attachments/{stored['jpeg']}/")
    assert photo.mimetype == "image/jpeg"
    assert photo.headers["Content-Disposition"].startswith("inline;")
    assert f"filename*=UTF-8''{quote('照片.jpg')}" in photo.headers["Content-Disposition"]
    report = client.get(f"{LIST}attachments/{stored['pdf']}/")
    assert report.mimetype == "application/pdf"
    assert report.headers["Content-Disposition"].startswith("attachment;")
    assert report.get_data() == SAMPLES["pdf"][1]()
    for response in (photo, report):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert response.headers["Cache-Control"] == "no-store"
        assert "html" not in response.mimetype and "svg" not in response.mimetype


BAD = {
    "lies about its type": ("photo.jpg", HTML, "not accepted"),
    "svg": ("drawing.svg", SVG, "not accepted"),
    "pdf named .jpg": ("photo.jpg", SAMPLES["pdf"][1](), "its content is PDF"),
    "empty": ("photo.jpg", b"", "empty"),
    "path in its name": ("../../x.png", image("PNG"), "folder or a path"),
    "decompression bomb": ("bomb.png", png_bomb(), "too large"),
    "smaller bomb": ("bomb.png", png_bomb(8000, 8000), "too large (8000 x 8000 pixels)"),
    "zip bomb": ("report.docx", zip_bomb(), "damaged"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_uploads_refused_with_a_message(app, cid, files, case):
    name, data, message = BAD[case]
    events = event_count(app)
    client = login(app, "handler_qa")
    response = upload(client, cid, name, data)
    assert response.status_code == 200
    assert message in flashes(text(response))
    assert rows(app) == [] and event_count(app) == events
    assert not any(p.is_file() for p in files.rglob("*")) if files.exists() else True


def test_too_large_upload_refused(app, cid, files):
    app.config["ATTACHMENT_MAX_BYTES"] = 100 * 1024
    client = login(app, "handler_qa")
    response = upload(client, cid, "big.pdf", b"%PDF-1.4\n" + b"0" * (300 * 1024))
    assert "larger than the limit" in flashes(text(response))
    response = upload(client, cid, "big.pdf", b"%PDF-1.4\n" + b"0" * (120 * 1024))
    assert "larger than the limit" in flashes(text(response))
    assert rows(app) == []


def test_retire_from_the_page(app, cid, stored):
    other = login(app, "head_qa")
    assert "attachment-retire" not in text(other.get(details(cid)))  # not theirs
    client = login(app, "handler_qa")
    html = text(client.get(details(cid)))
    aid = stored["pdf"]
    form = re.search(r'action="(/admin/complaint/attachments/' + str(aid)
                     + r'/retire/)"[^>]*>\s*<input[^>]*value="([^"]+)"', html)
    assert form, "no retire form"
    url, token = form.groups()
    page = text(client.post(url, data={"csrf_token": token, "reason": "   "},
                            follow_redirects=True))
    assert "Say why" in flashes(page)
    page = text(client.post(url, data={"csrf_token": token, "reason": "上传错了"},
                            follow_redirects=True))
    assert "File retired" in flashes(page) and "上传错了" in page and "Retired" in page
    assert client.get(f"{LIST}attachments/{aid}/").status_code == 404  # retired: gone for them
    assert login(app, "manager").get(f"{LIST}attachments/{aid}/").status_code == 200
    assert client.post(url, data={"reason": "x"}).status_code == 400  # no CSRF token
    assert login(app, "handler_log").post(url, data={"csrf_token": token, "reason": "x"}
                                          ).status_code == 404
    [retired] = [a for a in rows(app) if a.id == aid]
    assert retired.retired_reason == "上传错了"


def test_detail_page_queries_do_not_grow_with_files(app, cid):
    client = login(app, "handler_qa")
    upload(client, cid, "a.png", image("PNG", (10, 10)))
    with recorded_statements(app) as one:
        client.get(details(cid))
    for n in range(4):
        upload(client, cid, f"b{n}.png", image("PNG", (11 + n, 10)))
    with recorded_statements(app) as five:
        client.get(details(cid))
    assert len(five) == len(one)


def test_s3_upload_download_and_outage(app, cid, s3_server):
    app.config.update(s3_server.config)
    app.extensions.pop("desk_storage", None)
    client = login(app, "handler_qa")
    data = SAMPLES["docx"][1]()
    page = text(upload(client, cid, "整改报告.docx", data))
    assert "整改报告.docx added" in flashes(page)
    [a] = rows(app)
    response = client.get(f"{LIST}attachments/{a.id}/")
    assert response.get_data() == data
    assert response.headers["Content-Disposition"].startswith("attachment;")
    token = upload_token(client, cid)
    s3_server.stop()
    events = event_count(app)
    page = text(upload(client, cid, "照片.png", image("PNG"), token=token))
    assert "file storage is not reachable" in flashes(page)
    assert len(rows(app)) == 1 and event_count(app) == events
    assert client.get(f"{LIST}attachments/{a.id}/").status_code == 503


# --- a file with the result and with the callback (the action forms) ----------------------

_VERSION = re.compile(r'name="version" type="hidden" value="(\d+)"|'
                      r'type="hidden" name="version" value="(\d+)"')
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                    r'type="hidden" name="csrf_token" value="([^"]+)"|'
                    r'name="csrf_token"[^>]*value="([^"]+)"')


def act_with_file(client, cid, action, name, data, **fields):
    url = f"{LIST}act/{action}/?id={cid}"
    html = text(client.get(url))
    assert 'name="file"' in html and 'enctype="multipart/form-data"' in html
    form = {"csrf_token": next(g for g in _TOKEN.search(html).groups() if g),
            "version": next(g for g in _VERSION.search(html).groups() if g)}
    form.update(fields)
    if name is not None:
        form["file"] = (io.BytesIO(data), name)
    return client.post(url, data=form, content_type="multipart/form-data",
                       follow_redirects=True)


RESOLVE = {"root_cause": "压缩机批次缺陷", "responsibility": "company", "remedy": "exchange",
           "resolution": "更换新机并致歉"}


def test_resolve_with_a_test_report(app, cid):
    handler = login(app, "handler_qa")
    page = text(act_with_file(handler, cid, "resolve", "检测报告.pdf", SAMPLES["pdf"][1](),
                              **RESOLVE))
    assert "Resolve: done" in flashes(page) and "检测报告.pdf added" in flashes(page)
    [a] = rows(app)
    with app.app_context():
        event = db.session.get(ComplaintEvent, a.event_id)
        assert event.action == "resolve"  # the file documents the result


def test_a_refused_file_stops_the_resolve(app, cid):
    handler = login(app, "handler_qa")
    events = event_count(app)
    page = text(act_with_file(handler, cid, "resolve", "report.pdf", HTML, **RESOLVE))
    assert "not accepted" in flashes(page) and "Resolve: done" not in flashes(page)
    assert rows(app) == [] and event_count(app) == events


def test_resolve_without_a_file_still_works(app, cid):
    handler = login(app, "handler_qa")
    page = text(act_with_file(handler, cid, "resolve", None, b"", **RESOLVE))
    assert "Resolve: done" in flashes(page) and rows(app) == []


def test_callback_with_its_recording(app, wide_org, files):
    with app.app_context():
        cid = make_complaint(status="callback", department_id=wide_org.qa,
                             assignee_id=wide_org.users["handler_qa"])
    intake = login(app, "intake")
    page = text(act_with_file(intake, cid, "callback", "回访录音.mp3", SAMPLES["mp3"][1](),
                              method="phone", reached="yes", satisfaction="satisfied",
                              solved="yes", notes="满意"))
    assert "Record callback: done" in flashes(page) and "回访录音.mp3 added" in flashes(page)
    [a] = rows(app)
    assert a.callback_id is not None and a.kind == "mp3"
