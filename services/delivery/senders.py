"""Sending one Delivery: an e-mail over SMTP (Flask-Mailman), a WeCom or DingTalk group-robot
post, or an SMS through the configured HTTP gateway.

:func:`send` returns when the other side accepted the message and otherwise raises
:class:`~services.delivery.errors.Transient` (worth another try: the server is down,
busy, times out, answers SMTP 4xx or HTTP 429/5xx, a robot's rate limit) or
:class:`~services.delivery.errors.Permanent` (another try cannot help: a bad address,
SMTP 5xx for the recipient or the data, HTTP 4xx, a robot's keyword / signature / IP
check). The error's text (for ``Delivery.last_error``) has any e-mail address or phone
number in it masked.

It reads only the Delivery's fields (``channel``, ``key``, ``address``, ``subject``,
``body``, ``html``, ``locale``) and the department's robot settings; it never touches the
database, so the worker calls it outside any transaction. The idempotency key travels as
the e-mail's ``Message-ID: <key@MAIL_MESSAGE_ID_DOMAIN>`` and as every webhook's
``X-Request-Id`` (and the SMS gateway's ``request_id``), so a receiver can drop a repeat.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import smtplib
import socket
import urllib.error
import urllib.parse
import urllib.request
from email.header import Header

from flask import current_app
from flask_mailman import EmailMultiAlternatives, Mail
from flask_mailman.message import sanitize_address

from rules.delivery import DINGTALK, EMAIL, ROBOTS, SMS
from rules.privacy import mask_text

from .. import clock
from .errors import Permanent, Transient, Unreachable
from .render import header_text

mail = Mail()  # bound to the app in app.create_app (mail.init_app)

# Robot answers (errcode) that mean "not now": WeCom 45009 API freq out of limit, 45033
# too many concurrent calls; DingTalk 130101 sending too fast; both -1 system busy.
ROBOT_BUSY = frozenset({-1, 45009, 45033, 130101})
ERROR_MAX = 400  # Delivery.last_error holds 500
ANSWER_MAX = 65536  # bytes of a webhook's answer read


def send(delivery, department=None, *, mail_connection=None) -> None:
    """Send ``delivery`` once; raise Transient or Permanent when it did not go.

    ``department``: the Department whose robot a ``wecom`` / ``dingtalk`` delivery posts
    to. ``mail_connection``: an open Flask-Mailman connection to reuse for many e-mails
    (``mail.get_connection()``, opened and closed by the caller; after a Transient error
    close it and open a new one); by default each e-mail opens its own.
    """
    channel = delivery.channel
    if channel == EMAIL:
        _send_email(delivery, mail_connection)
    elif channel in ROBOTS:
        _send_robot(delivery, department)
    elif channel == SMS:
        _send_sms(delivery)
    else:
        raise Permanent(f"unknown channel {channel!r}")


def _error(text: str) -> str:
    return (mask_text(" ".join(str(text).split())) or "")[:ERROR_MAX]


# --- e-mail -------------------------------------------------------------------------------

_ID_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def _id_part(text: str, colon: str) -> str:
    out = []
    for char in text:
        if char in _ID_SAFE:
            out.append(char)
        elif char == ":":
            out.append(colon)
        else:
            out.extend(f"={byte:02X}" for byte in char.encode("utf-8"))
    return "".join(out)


def message_id(key: str) -> str:
    """``<key@domain>`` with the key made a valid, one-to-one id-left: letters, digits,
    ``-`` and ``_`` kept, ``:`` as ``.`` (or ``=3A`` where a dot would be out of place),
    every other byte as ``=XX``; the domain is ``MAIL_MESSAGE_ID_DOMAIN``."""
    left = _id_part(key, ".")
    if not left or left.startswith(".") or left.endswith(".") or ".." in left:
        left = _id_part(key, "=3A")
    domain = "".join(c for c in str(current_app.config["MAIL_MESSAGE_ID_DOMAIN"])
                     if c.isascii() and (c.isalnum() or c in "-.")).strip(".")
    return f"<{left}@{domain or 'localhost'}>"


def _address(delivery) -> str:
    address = (delivery.address or "").strip()
    if not address or "@" not in address or any(c.isspace() or ord(c) < 32 for c in address):
        raise Permanent(_error(f"not an e-mail address: {address!r}"))
    try:
        sanitize_address(address, "utf-8")
    except ValueError:
        raise Permanent(_error(f"not an e-mail address: {address!r}")) from None
    return address


def _smtp_code(err: smtplib.SMTPException) -> int | None:
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in err.recipients.values()]
        return min(codes) if codes else None  # one 4xx among them: worth a retry
    return getattr(err, "smtp_code", None)


class _Email(EmailMultiAlternatives):
    """Flask-Mailman's message with a non-ASCII subject folded after "Subject: " (its own
    encoding starts the encoded words on a continuation line, which readers show with a
    leading space). The subject is already one clean line (render.header_text)."""

    def message(self):
        msg = super().message()
        if not self.subject.isascii():
            msg.replace_header("Subject", Header(self.subject, "utf-8", header_name="Subject"))
        return msg


def _send_closing(message, own: bool) -> None:
    """Send; a connection opened for this message alone is closed even when it failed
    (Flask-Mailman leaves it open when the server refuses)."""
    try:
        message.send()
    finally:
        if own:
            try:
                message.connection.close()
            except OSError:  # smtplib's errors included: the socket is gone either way
                pass


def _send_email(delivery, connection) -> None:
    address = _address(delivery)
    config = current_app.config
    if current_app.extensions["mailman"].backend == "smtp" and not config.get("MAIL_SERVER"):
        raise Unreachable("e-mail is off on this server (MAIL_SERVER is not set)")
    headers = {"Message-ID": message_id(delivery.key),
               # RFC 3834: an automatic message; asks out-of-office replies to keep quiet.
               "Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
    if delivery.locale:
        headers["Content-Language"] = "zh-CN" if delivery.locale.startswith("zh") else "en"
    message = _Email(
        subject=header_text(delivery.subject), body=delivery.body or "",
        from_email=config["MAIL_DEFAULT_SENDER"], to=[address], headers=headers,
        connection=connection or mail.get_connection())
    if delivery.html:
        message.attach_alternative(delivery.html, "text/html")
    try:
        _send_closing(message, own=connection is None)
    except (ConnectionRefusedError, socket.gaierror, smtplib.SMTPConnectError) as err:
        raise Unreachable(_error(f"SMTP server unreachable: {err}")) from None
    except (smtplib.SMTPServerDisconnected,
            smtplib.SMTPHeloError, smtplib.SMTPAuthenticationError,
            smtplib.SMTPNotSupportedError, smtplib.SMTPSenderRefused) as err:
        # The server or our own settings (login, sender), not this message: try again.
        raise Transient(_error(f"SMTP: {err}")) from None
    except smtplib.SMTPException as err:
        code = _smtp_code(err)
        text = _error(f"SMTP {code}: {err}" if code else f"SMTP: {err}")
        if code is not None and 500 <= code < 600:
            raise Permanent(text) from None
        raise Transient(text) from None
    except OSError as err:  # refused, reset, timed out, TLS
        raise Transient(_error(f"SMTP connection: {err}")) from None
    except ValueError as err:  # an address or header Flask-Mailman will not write
        raise Permanent(_error(f"e-mail refused before sending: {err}")) from None


# --- webhooks -----------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook that redirects is misconfigured: never re-post elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _post(url: str, payload: dict, key: str, headers: dict | None = None) -> bytes:
    """POST ``payload`` as JSON; the answer's body when the status is 2xx."""
    if urllib.parse.urlsplit(url or "").scheme not in ("http", "https"):
        raise Permanent("the webhook address is not an http(s) URL")
    request = urllib.request.Request(
        url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json; charset=utf-8",
                 "X-Request-Id": key, **(headers or {})})
    timeout = current_app.config.get("WEBHOOK_TIMEOUT") or 10
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.read(ANSWER_MAX)
    except urllib.error.HTTPError as err:
        err.close()
        text = f"HTTP {err.code} {err.reason}"
        if err.code == 429 or err.code >= 500:
            raise Transient(_error(text)) from None
        raise Permanent(_error(text)) from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, (ConnectionRefusedError, socket.gaierror)):
            raise Unreachable(_error(f"webhook unreachable: {err.reason}")) from None
        raise Transient(_error(f"webhook unreachable: {err.reason}")) from None
    except (OSError, http.client.HTTPException) as err:
        raise Transient(_error(f"webhook unreachable: {getattr(err, 'reason', err)}")) from None
    except ValueError as err:  # an address or header http.client will not send
        raise Permanent(_error(f"webhook refused before sending: {err}")) from None


def _robot_answer(raw: bytes) -> None:
    try:
        answer = json.loads(raw.decode("utf-8"))
        code = int(answer.get("errcode", 0))
    except (ValueError, AttributeError, TypeError):
        raise Permanent("the robot's answer is not its JSON (is the address right?)") from None
    if code == 0:
        return
    text = _error(f"robot errcode {code}: {answer.get('errmsg', '')}")
    if code in ROBOT_BUSY:
        raise Transient(text)
    raise Permanent(text)


def _timestamp_ms() -> int:
    """Milliseconds since the epoch, which DingTalk checks within an hour of its own
    clock: the company's time (services.clock, the one reader of the clock) placed in its
    zone."""
    return int(clock.now().replace(tzinfo=clock.zone()).timestamp()) * 1000


def dingtalk_sign(secret: str, timestamp: int) -> str:
    """DingTalk's 加签: base64 of HMAC-SHA256 over "timestamp\\nsecret" keyed by the
    secret, URL-encoded."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(),
                      hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode("ascii"))


def robot_url(kind: str, url: str, secret: str | None, timestamp: int | None = None) -> str:
    """The address to post to: DingTalk with a secret gets ``&timestamp=…&sign=…``."""
    if kind != DINGTALK or not secret:
        return url
    timestamp = _timestamp_ms() if timestamp is None else timestamp
    joiner = "&" if urllib.parse.urlsplit(url).query else "?"
    return f"{url}{joiner}timestamp={timestamp}&sign={dingtalk_sign(secret, timestamp)}"


def _send_robot(delivery, department) -> None:
    if department is None or not department.robot_url:
        raise Permanent("the department has no group robot any more")
    url = robot_url(delivery.channel, department.robot_url, department.robot_secret)
    payload = {"msgtype": "text", "text": {"content": delivery.body or delivery.subject}}
    _robot_answer(_post(url, payload, delivery.key))


def _send_sms(delivery) -> None:
    config = current_app.config
    url = config.get("SMS_WEBHOOK_URL")
    if not url:
        raise Unreachable("SMS is off on this server (SMS_WEBHOOK_URL is not set)")
    if not (delivery.address or "").strip():
        raise Permanent("no phone number")
    headers = {}
    if config.get("SMS_WEBHOOK_TOKEN"):
        headers["Authorization"] = f"Bearer {config['SMS_WEBHOOK_TOKEN']}"
    _post(url, {"to": delivery.address.strip(), "text": delivery.body or "",
                "request_id": delivery.key}, delivery.key, headers)
