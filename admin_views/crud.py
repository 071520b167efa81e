"""Generated screens: departments, staff, callbacks, SLA policies, calendar, categories, audit."""


def add_views(admin):
    """Add the configuration and audit screens."""
