"""The reports family: the one owner of where Pacer keeps the reports it accepts and applies.

Keys (names in ``shared.names``): each report's record ``report_key`` (status, summary, errors)
and the city's index of them ``city_reports_key``; the pre-v2 records at ``legacy_report_key``,
which ``records`` moves under their city; the entries appended to ``REPORTS_STREAM``; what the
apply writes of a city's judged state besides its sites and readings (``city_periods_key``,
``city_latest_as_of_key``, ``city_period_received_key``, ``LAST_RECEIVED_KEY``, the city's
counter in ``STATE_GENERATION_KEY``) and the ``PROGRESS_STREAM`` entry written atomically with
the apply; the rejection counts ``REPORTS_REJECTED_KEY``, the dead letters
(``DEAD_LETTER_STREAM``) and the entries' last errors (``ENTRY_ERRORS_KEY``). Who touches them:

- the ingest, through ``ReportIntake`` (``intake``): the accept script (``accept_script``)
  records a report and appends it to the reports stream in one step, after the sites family's
  ``sites_claims`` checks; the ingest reads the records, pages the city's index, previews and
  releases a site;
- the aggregator, through ``ReportApplier`` (``apply``, behind its handler's ``Applier``
  Protocol): the apply scripts (``apply_scripts``) mark the record applied or rejected, write the
  city's state (running the sites family's ``sites_apply`` and the indicators' ``gigabit_apply``),
  acknowledge the entry and append the progress entry in one step, and dead-letter what keeps
  failing;
- ``records``: the start-up upgrade of pre-v2 records (ingest and aggregator), and the rejection
  counts the exporter reads;
- ``shared.store.state`` reads the judged state the apply wrote (progress, exporter, alerting).
"""

from shared.store.reports.apply import UPGRADE_WAIT_S, Outcome, ReportApplier, entry_version
from shared.store.reports.intake import Acceptance, ReportIntake, ReportStore, SiteCheck
from shared.store.reports.records import (
    REJECTION_CODES,
    RejectedCount,
    UpgradeResult,
    adopt_legacy_record,
    read_rejected_counts,
    upgrade_report_records,
)

__all__ = [
    "REJECTION_CODES",
    "UPGRADE_WAIT_S",
    "Acceptance",
    "Outcome",
    "RejectedCount",
    "ReportApplier",
    "ReportIntake",
    "ReportStore",
    "SiteCheck",
    "UpgradeResult",
    "adopt_legacy_record",
    "entry_version",
    "read_rejected_counts",
    "upgrade_report_records",
]
