"""The monthly meeting workbook: every figure a SQL aggregate, every summary with a chart.

Figures come from ``COUNT`` / ``SUM(CASE …)`` / ``GROUP BY`` queries run by the database;
no complaint is loaded into Python to be counted. Only the two lists (repeat complainants,
overdue complaints) read rows, streamed. The definition of every figure is in
docs/metrics.md.

- ``report``: the period (:class:`Period`: a month, quarter, half-year or free range, and
  the previous one of the same length) and what a report holds (:class:`Figures`,
  :class:`MonthlyReport`, :class:`PersonFigures`, :class:`ReportOptions`);
- ``figures``: the SQL that computes them (:func:`monthly_report`, :func:`period_report`),
  working days included; no xlsx;
- ``workbook``: the xlsx file (:func:`write_monthly_workbook`); no SQL but the streamed
  overdue list;
- ``make``: the one path of the screen and ``flask report`` (:func:`options_for`,
  :func:`make_workbook`).
"""

from .figures import WorkingDays, monthly_report, overdue_rows, period_report
from .make import make_workbook, options_for
from .report import (
    PERIOD_KINDS,
    Figures,
    MonthlyReport,
    Period,
    PeriodReport,
    PersonFigures,
    ReportOptions,
    date_range,
    half,
    month,
    parse_period,
    quarter,
)
from .workbook import write_monthly_workbook

__all__ = [
    "PERIOD_KINDS", "Figures", "MonthlyReport", "Period", "PeriodReport", "PersonFigures",
    "ReportOptions", "WorkingDays", "date_range", "half", "make_workbook", "month",
    "monthly_report", "options_for", "overdue_rows", "parse_period", "period_report",
    "quarter", "write_monthly_workbook",
]
