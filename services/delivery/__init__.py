"""Delivery of notifications outside the app: e-mail, group robots (WeCom, DingTalk), SMS.

Public API: :func:`run_pass` (one worker pass: plan, digests, send), :func:`plan` (fan out
notifications into deliveries) and :class:`PassResult`. The guarantee (nothing lost, at
most one repeat with the same idempotency key) is written in ``worker``'s docstring.

(``plan`` here is the function: importing it binds the name after the submodule's.)
"""

from .plan import Planned, plan, plan_digests
from .worker import PassResult, run_pass, send_due

__all__ = ["PassResult", "Planned", "plan", "plan_digests", "run_pass", "send_due"]
