"""Which screens exist, in which menu order. Each view module adds its own views here."""

from . import (
    accountability,
    admin_events,
    api_tokens,
    capa,
    complaints,
    crud,
    customers,
    deliveries,
    jobs,
    notification_settings,
    notifications,
    reports,
)


def register_views(admin):
    """Add every model and custom view to the admin (see each module's ``add_views``)."""
    complaints.add_views(admin)
    customers.add_views(admin)
    crud.add_record_views(admin)
    accountability.add_views(admin)
    capa.add_views(admin)
    admin_events.add_views(admin)
    crud.add_config_views(admin)
    accountability.add_settings_view(admin, crud.SETTINGS)
    deliveries.add_views(admin, crud.SETTINGS)
    api_tokens.add_views(admin, crud.SETTINGS)
    reports.add_views(admin)
    notifications.add_views(admin)
    jobs.add_views(admin)
    notification_settings.add_views(admin)
