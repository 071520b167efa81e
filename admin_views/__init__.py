"""Flask-Admin screens: thin views over the services."""


def init_app(app):
    """Attach login, screens, translations and security headers to the app."""
