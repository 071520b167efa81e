"""The monthly meeting workbook: every figure a SQL aggregate, every summary with a chart.

Figures come from ``COUNT`` / ``SUM(CASE …)`` / ``GROUP BY`` queries run by the database;
no complaint is loaded into Python to be counted. Only the two lists (repeat complainants,
overdue complaints) read rows, streamed. The definition of every figure is in
docs/metrics.md.

- ``report``: the month (:class:`Period`) and what a report holds (:class:`Figures`,
  :class:`MonthlyReport`);
- ``figures``: the SQL that computes them (:func:`monthly_report`), working days included;
- ``workbook``: the xlsx file (:func:`write_monthly_workbook`).
"""

from .figures import WorkingDays, monthly_report, overdue_rows
from .report import Figures, MonthlyReport, Period, month
from .workbook import write_monthly_workbook

__all__ = [
    "Figures", "MonthlyReport", "Period", "WorkingDays", "month", "monthly_report",
    "overdue_rows", "write_monthly_workbook",
]
