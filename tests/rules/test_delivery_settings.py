"""rules.delivery_settings: staff e-mail addresses, robot settings, what may be sent again,
and how the queue shows addresses."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import InvalidInput, MissingInput
from rules.delivery_settings import (
    Robot,
    check_email,
    check_robot,
    check_webhook_url,
    retryable,
    shown_address,
    to_customer,
    url_for_record,
)

NOW = datetime(2026, 11, 24, 10, 0)


@pytest.mark.parametrize("raw, kept", [
    (None, None), ("", None), ("   ", None), (" li.na@example.com ", "li.na@example.com"),
    ("a.b+tag@mail.corp.example.cn", "a.b+tag@mail.corp.example.cn"),
    ("li@example.com\r\n", "li@example.com"),  # a line end pasted along: trimmed
])
def test_good_addresses_are_trimmed_and_kept(raw, kept):
    assert check_email(raw) == kept


@pytest.mark.parametrize("raw", [
    "li", "li@example", "@example.com", "li@.com.", "li@example.com\r\nBcc: x@evil.example",
    "a@example.com, b@example.com", "a@example.com;b@example.com",
    "Li <li@example.com>", '"li"@example.com', "li na@example.com", "li@exa mple.com",
    "a@b@example.com", "x" * 190 + "@example.com",
])
def test_bad_addresses_are_refused(raw):
    with pytest.raises(InvalidInput):
        check_email(raw)


@given(st.text(max_size=60))
def test_an_accepted_address_is_one_line_one_at_no_separator(raw):
    try:
        address = check_email(raw)
    except InvalidInput:
        return
    if address is None:
        assert raw.strip() == ""
        return
    assert address.count("@") == 1 and len(address) <= 200
    assert not any(c in address for c in " \t\r\n,;<>\"\x00")
    assert "." in address.split("@")[1]


@pytest.mark.parametrize("url", [
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc",
    "http://127.0.0.1:8080/hook", "HTTPS://oapi.dingtalk.com/robot/send?access_token=x",
])
def test_http_and_https_webhooks_are_kept(url):
    assert check_webhook_url(f" {url} ") == url


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "ftp://x.example/h", "file:///etc/passwd", "http://", "https:///x",
    "//x.example/h", "x.example/h", "https://u:p@x.example/h", "https://x.example/a b",
    "https://x.example/\r\nHost: evil", "https://[::1/h", "https://x.example/" + "a" * 500,
])
def test_other_webhooks_are_refused(url):
    with pytest.raises(InvalidInput):
        check_webhook_url(url)


@given(st.text(max_size=80))
def test_an_accepted_webhook_is_http_or_https(raw):
    try:
        url = check_webhook_url(raw)
    except InvalidInput:
        return
    assert url is None or url.lower().startswith(("http://", "https://"))


def test_robot_settings():
    assert check_robot("", "https://x.example/h", "s", "old") == Robot(None, None, None)
    assert check_robot("wecom", "https://x.example/h", "", None) == Robot(
        "wecom", "https://x.example/h", None)
    # The secret is write-only: blank keeps the stored one; a tick clears it.
    assert check_robot("dingtalk", "https://x.example/h", "", "old").secret == "old"
    assert check_robot("dingtalk", "https://x.example/h", " new ", "old").secret == "new"
    assert check_robot("dingtalk", "https://x.example/h", "", "old",
                       clear_secret=True).secret is None
    with pytest.raises(MissingInput):
        check_robot("wecom", "", "", None)
    with pytest.raises(InvalidInput):
        check_robot("slack", "https://x.example/h", "", None)
    with pytest.raises(InvalidInput):
        check_robot("dingtalk", "https://x.example/h", "a\nb", None)


@pytest.mark.parametrize("url, shown", [
    (None, None), ("", ""),
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET",
     "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?…"),
    ("https://u:p@h.example:8443/p#frag", "https://h.example:8443/p"),
])
def test_the_record_never_holds_the_robots_key(url, shown):
    assert url_for_record(url) == shown


def test_what_may_be_sent_again():
    assert retryable("failed", 6, None, NOW)
    assert retryable("failed", 1, NOW + timedelta(minutes=1), NOW)
    assert retryable("pending", 2, None, NOW)  # waiting after a failed try
    assert retryable("pending", 1, NOW - timedelta(seconds=1), NOW)  # its worker gave up
    assert not retryable("pending", 1, NOW + timedelta(seconds=1), NOW)  # being sent now
    assert not retryable("pending", 0, None, NOW)  # never tried: it goes out anyway
    assert not retryable("sent", 1, None, NOW)


def test_customers_addresses_are_masked_staff_kept():
    assert to_customer("customer_ack") and to_customer("customer_result")
    assert not to_customer("assign") and not to_customer("digest")
    assert shown_address("customer_ack", "email", "li.na@example.com") == "l***@example.com"
    assert shown_address("customer_result", "sms", "13812345678") == "138****5678"
    assert shown_address("assign", "email", "li.na@corp.example") == "li.na@corp.example"
    assert shown_address("customer_ack", "email", None) is None
