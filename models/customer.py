"""The customer file (顾客档案): one row per real customer, linked from their complaints."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import db


class Customer(db.Model):
    """A customer recognised by ``key`` (rules.customers.customer_key: the normalised phone,
    else the lower-cased e-mail). Name, class and contact are those of their latest
    registration or edit; the complaints link here (``Complaint.customer_id``)."""

    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    customer_class: Mapped[str] = mapped_column(String(1), default="C")
    phone: Mapped[Optional[str]] = mapped_column(String(32))
    email: Mapped[Optional[str]] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    def __repr__(self):
        return f"<Customer {self.id}>"

    def __str__(self):
        return self.name
