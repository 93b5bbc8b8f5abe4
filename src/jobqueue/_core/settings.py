"""The core's settings: retention, confirmation timeout, failure threshold, id prefix."""

from __future__ import annotations

from fractions import Fraction

from .._validate import check_int, check_number, check_positive_number, check_str

__all__ = ["Settings"]


class Settings:
    """The core's settings, checked here."""

    __slots__ = (
        "confirmation_timeout",
        "id_prefix",
        "retention",
        "threshold_den",
        "threshold_num",
        "threshold_ratio",
        "threshold_tasks",
    )

    def __init__(
        self,
        *,
        retention: object,
        confirmation_timeout: object,
        threshold_tasks: object,
        threshold_ratio: object,
        id_prefix: object,
    ) -> None:
        """Raises: ValidationError: a setting is out of range (named as the façade names it)."""
        self.retention = check_positive_number("retention", retention)
        self.confirmation_timeout = check_positive_number(
            "confirmation_timeout", confirmation_timeout
        )
        self.threshold_tasks = check_int("failure_threshold_tasks", threshold_tasks, 1)
        ratio = check_number("failure_threshold_ratio", threshold_ratio, 0.0, 1.0, hi_open=True)
        self.threshold_ratio = ratio
        # Compared exactly, as the decimal written: in floats 0.29 * 100 is
        # 28.999999999999996, which would fail a job at exactly 29 %.
        self.threshold_num, self.threshold_den = Fraction(repr(ratio)).as_integer_ratio()
        self.id_prefix = check_str("id_prefix", id_prefix)
