"""The one path from a request to a workbook, shared by the Reports screen and
``flask report`` (and later a scheduled job): what the workbook may hold for whom
(:func:`options_for`), then the figures and the file (:func:`make_workbook`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from models import Department
from rules.errors import N_, PermissionDenied
from rules.privacy import may_see_contact, report_shows_corrective_actions

from .figures import period_report
from .report import Period, ReportOptions
from .workbook import write_monthly_workbook

PER_PERSON_REFUSED = N_("The per-person figures are for managers, supervisors, senior "
                        "management and the accountability department only.")


def options_for(staff, people_only: bool = False) -> ReportOptions:
    """What ``staff``'s workbook holds: the per-person sheet only for those who read the
    accountability records (``rules.accountability.can_read``: managers, administrators,
    supervisors, senior management, the accountability department's staff); the corrective
    actions for ``rules.privacy.report_shows_corrective_actions``; contacts masked unless
    ``rules.privacy.may_see_contact``. ``people_only`` (the per-person sheet alone) is
    refused with :class:`PermissionDenied` to anyone else."""
    from ..queues import may_read_accountability

    per_person = may_read_accountability(staff)
    if people_only and not per_person:
        raise PermissionDenied(PER_PERSON_REFUSED)
    return ReportOptions(mask_phones=not may_see_contact(staff.role), per_person=per_person,
                         corrective=report_shows_corrective_actions(staff.role),
                         people_only=people_only)


def make_workbook(period: Period, department: Department | None, options: ReportOptions,
                  target, value_labels: Mapping[str, Mapping], made_by: str,
                  now: datetime | None = None,
                  progress: Callable[[int], None] | None = None) -> int:
    """Compute the period's figures and write the workbook to ``target`` (a path or a
    binary file); returns the rows of its personal-data lists (for the export log).
    ``progress`` (a job's) is called with 1 once the figures are computed and 2 once the
    file is written."""
    report = period_report(period, department, options, now=now)
    if progress is not None:
        progress(1)
    rows = write_monthly_workbook(report, target, value_labels, options.mask_phones,
                                  made_by=made_by, people_only=options.people_only)
    if progress is not None:
        progress(2)
    return rows
