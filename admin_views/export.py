"""Streaming .xlsx export of every list (see issue 4); mixed into SecureModelView."""


class XlsxExportMixin:
    """Placeholder until the streaming export lands: no export at all."""

    can_export = False
