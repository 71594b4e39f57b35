"""Errors and warnings raised by hotspot-rct.

Every error a user can cause is a :class:`ValueError` subclass carrying a
message that names the file, row, column and value at fault where there is
one.  The command line turns these into a one-line message and exit code 2.
"""

from __future__ import annotations

__all__ = [
    "RCTError",
    "DataError",
    "DesignError",
    "ConfigError",
    "VerificationError",
    "OutputExistsError",
    "InconsistentOutputError",
    "QuarantineLimitError",
    "RCTWarning",
    "QuarantineWarning",
    "UnknownOffenceWarning",
    "ClockChangeWarning",
    "CalibrationWarning",
    "SeparationWarning",
]


class RCTError(ValueError):
    """Base class of every error hotspot-rct raises on purpose."""


class DataError(RCTError):
    """Input data that cannot be used (bad file, column, row or value).

    Parameters
    ----------
    message
        What is wrong.
    file, row, column, value
        Where it is wrong; each is added to the message when given.
        ``row`` is 1-based and counts data rows (the header is row 0).
    """

    def __init__(
        self,
        message: str,
        *,
        file: object | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object | None = None,
    ) -> None:
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        self.value = value
        where = []
        if file is not None:
            where.append(f"{file}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        if value is not None:
            where.append(f"value {value!r}")
        full = f"{': '.join([', '.join(where), message]) if where else message}"
        super().__init__(full)


class DesignError(RCTError):
    """A trial design that cannot be built (e.g. more tasked than hot spots)."""


class ConfigError(RCTError):
    """An invalid ``trial.toml``; the message lists every problem with its key."""

    def __init__(self, problems: list[str], *, file: object | None = None) -> None:
        self.problems = list(problems)
        head = f"{file}: " if file is not None else ""
        n = len(self.problems)
        body = "; ".join(self.problems)
        super().__init__(f"{head}{n} problem{'s' if n != 1 else ''} in trial file: {body}")


class VerificationError(RCTError):
    """An allocation that does not re-derive from its manifest."""


class OutputExistsError(RCTError):
    """An output file exists and ``force`` (``--force``) was not given.

    One overwrite rule for every file a command writes: an existing output
    (or any member of its unit: quarantine file, manifest) is refused unless
    the user asks to replace it.
    """


class InconsistentOutputError(DataError):
    """An output, its quarantine file and its manifest do not belong together.

    Raised by readers that verify ``<output>.manifest.json`` (an interrupted
    write that could not be completed, or a file edited or copied in by hand).
    """


class QuarantineLimitError(DataError):
    """A run quarantined more than the allowed share of its input rows.

    Nothing is written.  ``reasons`` holds the top reasons with their counts.
    """

    def __init__(
        self,
        message: str,
        *,
        file: object | None = None,
        reasons: dict[str, int] | None = None,
    ) -> None:
        self.reasons = dict(reasons or {})
        super().__init__(message, file=file)


class RCTWarning(UserWarning):
    """Base class of hotspot-rct warnings."""


class QuarantineWarning(RCTWarning):
    """Some input rows were quarantined (see the quarantine file)."""


class UnknownOffenceWarning(RCTWarning):
    """Offence codes or categories with no harm weight."""


class ClockChangeWarning(RCTWarning):
    """Naive local times fell in an ambiguous or non-existent clock-change hour."""


class CalibrationWarning(RCTWarning):
    """A test whose size under the null is off, or a Monte Carlo error that is large."""


class SeparationWarning(RCTWarning):
    """A count model whose rate ratio is not estimable: every event (or none) in one arm.

    The maximum-likelihood ratio is 0 or infinite and a Wald test meaningless;
    the message points to the randomisation test or an exact conditional test.
    """
