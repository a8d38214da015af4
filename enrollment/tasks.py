"""Background tasks run by django-q2 (scheduled by migrations)."""
import logging

from .services import delete_expired_pending

logger = logging.getLogger(__name__)


def delete_expired_pending_enrollments() -> int:
    deleted = delete_expired_pending()
    if deleted:
        logger.info("deleted %d expired pending enrolments", deleted)
    return deleted


def refresh_cohort_statistics() -> int:
    """AS-norm's statistics of enrolled faces that are missing or stale (enrollment.cohort), a batch per run."""
    from .cohort import refresh_stale

    return refresh_stale()
