"""The home page: my queue, overdue, due soon, department load, satisfaction, calendar."""

from .base import SecureIndexView


class DashboardView(SecureIndexView):
    """The admin index page (Flask-Admin's default one is public; this one is not)."""
