"""Complaint list, detail, workflow action forms, bulk actions and the safe edit form."""


def add_views(admin):
    """Add the complaint screens."""
