"""Channel owners (渠道负责人, issue 14 item 5): the administrator names one member of staff
per intake channel on the company settings page (recorded in the administrative record);
that person is told (``new_in_channel``) of every new complaint of the channel, in the
registration's own transaction — whoever registered it: a clerk on the screen, the public
form's or the mailbox's channel account, an API token's account.
"""

from __future__ import annotations

import pytest
from complaint_helpers import LIST, NOW, flashes, form_data, login, text, token
from sqlalchemy import func, select

from models import AdminEvent, Category, Complaint, Notification, Setting, Staff, db
from rules import Channel
from rules.admin_events import SETTING_CHANGED
from rules.channel_owners import NEW_IN_CHANNEL, owner_key
from services import channel_owners, clock
from services.complaints import register

SETTINGS = "/admin/company_settings/"
PHONE, HOTLINE = Channel.PHONE, "hotline"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


def _field(channel):
    return f"channel_owner_{channel}"


def _save(client, **owners):
    """Post the settings page as shown, with these channel owners (field → value)."""
    data = form_data(text(client.get(SETTINGS)))
    data.setdefault("accountability_department", "QA")  # (org has no HR, the default)
    if not data["accountability_department"]:
        data["accountability_department"] = "QA"
    data.update({_field(channel): value for channel, value in owners.items()})
    return client.post(SETTINGS, data=data, follow_redirects=True)


def _owned(app, channel):
    with app.app_context():
        return channel_owners.owner_of(channel)


def _told(app, kind=NEW_IN_CHANNEL):
    """(recipient, complaint number) of every notification of ``kind``."""
    with app.app_context():
        return sorted(db.session.execute(
            select(Notification.recipient_id, Complaint.number)
            .join(Complaint, Complaint.id == Notification.complaint_id)
            .where(Notification.kind == kind)).all())


def _setting_events(app, channel):
    with app.app_context():
        return db.session.scalars(
            select(AdminEvent.detail).where(AdminEvent.action == SETTING_CHANGED,
                                            AdminEvent.target_label == owner_key(channel))
            .order_by(AdminEvent.id)).all()


def _register(app, username, channel=PHONE, **fields):
    """Register through the service as ``username`` (a clerk, or a channel account)."""
    data = {"customer_name": "张三", "customer_phone": "13800138000", "title": "冰箱不制冷",
            "description": "冷藏室不制冷", "category": "service", "channel": channel}
    data.update(fields)
    with app.app_context():
        actor = db.session.scalar(select(Staff).filter_by(username=username))
        return register(data, actor, now=NOW).number


def _set_owner(app, channel, username):
    with app.app_context():
        admin = db.session.scalar(select(Staff).filter_by(username="admin"))
        owner = db.session.scalar(select(Staff.id).filter_by(username=username))
        channel_owners.set_owner(channel, str(owner), admin)
        return owner


# --- the settings page ------------------------------------------------------------------


def test_the_settings_page_offers_one_owner_per_channel(app, org):
    """Every channel of rules.constants.Channel.ALL has its field, labelled in both
    languages; active staff only are offered, nobody by default."""
    client = login(app, "admin")
    html = text(client.get(SETTINGS))
    for channel in Channel.ALL:
        assert f'name="{_field(channel)}"' in html, channel
    assert "Channel owner: Phone" in html and "— nobody —" in html
    assert "Manager (manager)" in html
    zh = text(client.get(SETTINGS, headers={"Accept-Language": "zh-CN"}))
    assert "渠道负责人：电话" in zh and "该渠道收到的每一条新投诉都会通知此人。" in zh
    with app.app_context():
        assert channel_owners.owners() == {channel: None for channel in Channel.ALL}


def test_admin_names_an_owner_and_it_is_recorded(app, org):
    """Saved with the rest of the settings; the AdminEvent names the person; saving again
    unchanged records nothing; the page shows the owner chosen."""
    client = login(app, "admin")
    manager = org.users["manager"]
    page = _save(client, phone=str(manager))
    assert "The settings were saved." in flashes(text(page))
    assert _owned(app, PHONE) == manager and _owned(app, HOTLINE) is None
    assert _setting_events(app, PHONE) == [f"{owner_key(PHONE)}: ∅ → Manager (manager)"]
    _save(client, phone=str(manager))
    assert len(_setting_events(app, PHONE)) == 1
    assert f'<option selected value="{manager}">' in text(client.get(SETTINGS))
    # the blank choice takes the owner away (recorded too)
    _save(client, phone="")
    assert _owned(app, PHONE) is None
    assert _setting_events(app, PHONE)[-1] == f"{owner_key(PHONE)}: Manager (manager) → ∅"


@pytest.mark.parametrize("value", ["999999", "abc", "-1", "1" * 40])
def test_an_owner_who_is_no_active_staff_member_is_refused(app, org, value):
    """An unknown id (or garbage) is refused with the reason; nothing saved, nothing
    recorded — the other settings of the same post neither."""
    client = login(app, "admin")
    page = _save(client, phone=value, accountability_department="QA")
    assert "The channel owner is not one of the allowed values." in flashes(text(page))
    assert _owned(app, PHONE) is None and _setting_events(app, PHONE) == []
    with app.app_context():
        assert db.session.get(Setting, owner_key(PHONE)) is None
        assert db.session.scalar(select(func.count()).select_from(AdminEvent)
                                 .where(AdminEvent.action == SETTING_CHANGED)) == 0


def test_an_inactive_member_of_staff_cannot_own_a_channel(app, org):
    with app.app_context():
        db.session.get(Staff, org.users["supervisor"]).active = False
        db.session.commit()
    client = login(app, "admin")
    assert "Supervisor (supervisor)" not in text(client.get(SETTINGS))
    page = _save(client, hotline=str(org.users["supervisor"]))
    assert "not one of the allowed values" in flashes(text(page))
    assert _owned(app, HOTLINE) is None


@pytest.mark.parametrize("user", ["head_qa", "handler_qa"])
def test_only_staff_who_see_every_complaint_may_own_a_channel(app, org, user):
    """A department head or a handler could not open the new complaints they would be
    told of: not offered, and refused when posted anyway."""
    client = login(app, "admin")
    html = text(client.get(SETTINGS))
    assert f"({user})" not in html and "Manager (manager)" in html
    page = _save(client, web=str(org.users[user]))
    assert "not one of the allowed values" in flashes(text(page))
    assert _owned(app, Channel.WEB) is None


def test_a_post_without_the_owner_fields_keeps_the_owners(app, org):
    """The older form (only the accountability department) leaves the owners as they are."""
    owner = _set_owner(app, PHONE, "manager")
    client = login(app, "admin")
    response = client.post(SETTINGS, data={"csrf_token": token(client, SETTINGS),
                                           "accountability_department": "QA"})
    assert response.status_code == 302
    assert _owned(app, PHONE) == owner


@pytest.mark.parametrize("user", ["manager", "intake", "head_qa"])
def test_only_the_administrator_names_owners(app, org, user):
    client = login(app, user)
    csrf = token(client, LIST)
    response = client.post(SETTINGS, data={"csrf_token": csrf,
                                           _field(PHONE): str(org.users[user])})
    assert response.status_code == 403
    assert _owned(app, PHONE) is None


def test_the_service_refuses_another_role(app, org):
    from rules.errors import PermissionDenied

    with app.app_context():
        manager = db.session.get(Staff, org.users["manager"])
        with pytest.raises(PermissionDenied):
            channel_owners.set_owner(PHONE, str(manager.id), manager)
        assert channel_owners.owner_of(PHONE) is None


# --- the notification -------------------------------------------------------------------


def test_a_clerk_registering_on_the_screen_tells_the_channels_owner(app, org):
    """The intake clerk registers a hotline complaint: the hotline's owner (the manager)
    is told, in the bell and the notifications page; the phone's owner is not."""
    _set_owner(app, HOTLINE, "manager")
    _set_owner(app, PHONE, "supervisor")
    client = login(app, "intake")
    data = form_data(text(client.get(f"{LIST}new/")))
    with app.app_context():
        category = db.session.scalar(select(Category.id).filter_by(code="service"))
    data.update(customer_name="赵六", customer_phone="13911112222", title="门店服务差",
                description="店员态度不好", category_id=str(category), channel=HOTLINE)
    page = client.post(f"{LIST}new/", data=data, follow_redirects=True)
    with app.app_context():
        number = db.session.scalar(select(Complaint.number))
    assert f"Complaint {number} registered." in flashes(text(page))
    assert _told(app) == [(org.users["manager"], number)]
    html = text(login(app, "manager").get("/admin/notifications/"))
    assert "New complaint from a channel you own" in html and number in html


def test_every_registration_of_the_channel_tells_the_owner_once(app, org):
    owner = _set_owner(app, PHONE, "manager")
    numbers = [_register(app, "intake") for _ in range(3)]
    _register(app, "intake", channel=HOTLINE)  # another channel: not theirs
    assert _told(app) == [(owner, n) for n in sorted(numbers)]


def test_a_critical_complaint_tells_the_owner_beside_the_managers(app, org):
    """The owner who is also a manager gets both: the critical registration and the
    channel's (two kinds: the unique (recipient, event, kind) holds)."""
    owner = _set_owner(app, PHONE, "manager")
    number = _register(app, "intake", severity="critical")
    assert _told(app) == [(owner, number)]
    assert (owner, number) in _told(app, "critical_registered")


def test_the_owner_is_not_told_of_their_own_registration(app, org):
    _set_owner(app, PHONE, "intake")
    _register(app, "intake")
    assert _told(app) == []


def test_an_owner_since_deactivated_is_not_told(app, org):
    owner = _set_owner(app, PHONE, "manager")
    with app.app_context():
        db.session.get(Staff, owner).active = False
        db.session.commit()
    _register(app, "intake")
    assert _told(app) == []


def test_complaints_no_staff_member_typed_tell_the_owner(app, org):
    """The public form's and the mailbox's channel accounts (inactive, services.channels)
    register through the same service: the web and e-mail owners are told."""
    from services.channels import channel_account

    web = _set_owner(app, Channel.WEB, "manager")
    mail = _set_owner(app, Channel.EMAIL, "supervisor")
    with app.app_context():
        channel_account(Channel.WEB), channel_account(Channel.EMAIL)
    by_web = _register(app, "channel-web", channel=Channel.WEB)
    by_mail = _register(app, "channel-email", channel=Channel.EMAIL,
                        customer_email="a@example.com")
    assert _told(app) == sorted([(web, by_web), (mail, by_mail)])


def test_a_refused_registration_tells_nobody(app, org):
    """The notification is written in the registration's transaction: no complaint, no
    notification."""
    from rules.errors import RuleError

    _set_owner(app, PHONE, "manager")
    with pytest.raises(RuleError):
        _register(app, "intake", description="")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
        assert db.session.scalar(select(func.count()).select_from(Complaint)) == 0


def test_the_kind_has_its_notification_setting(app, org):
    """Like every kind: a row on the person's notification settings (e-mail by default)."""
    from rules.delivery import DEFAULT_EMAIL_KINDS, STAFF_KINDS

    assert NEW_IN_CHANNEL in STAFF_KINDS and NEW_IN_CHANNEL in DEFAULT_EMAIL_KINDS


def test_the_public_form_and_the_api_tell_the_owners(app, org):
    """End to end: a complaint sent through /complaint/new (channel web, registered by the
    inactive channel-web account) tells the web channel's owner; one sent through
    /api/v1/complaints (the token's account) tells the owner of the channel it names."""
    import json
    import re

    from services import api_tokens

    web = _set_owner(app, Channel.WEB, "manager")
    letter = _set_owner(app, "letter", "supervisor")
    client = app.test_client()
    page = client.get("/complaint/new").get_data(as_text=True)
    a, b = re.search(r"(\d+) \+ (\d+)", page).groups()
    form = {"csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                                    page).group(1),
            "challenge_token": re.search(r'name="challenge_token" value="([^"]+)"',
                                         page).group(1),
            "challenge": str(int(a) + int(b)), "customer_name": "李娜",
            "customer_phone": "13812345678", "description": "电水壶漏水", "consent": "yes"}
    assert client.post("/complaint/new", data=form).status_code == 302
    with app.app_context():
        by_web = db.session.scalar(select(Complaint.number).where(Complaint.channel == "web"))
        _, token = api_tokens.create("owners", org.users["intake"], org.users["admin"])
    response = client.post("/api/v1/complaints", content_type="application/json",
                           headers={"Authorization": f"Bearer {token}"},
                           data=json.dumps({"customer_name": "张三", "title": "来信投诉",
                                            "customer_phone": "13800138000",
                                            "description": "信件内容", "channel": "letter"}))
    assert response.status_code == 201
    by_api = response.get_json()["number"]
    assert _told(app) == sorted([(web, by_web), (letter, by_api)])
