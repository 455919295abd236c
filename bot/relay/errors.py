"""One error type for every failed platform call, in the shop's words."""

from __future__ import annotations


class SendError(Exception):
    """A platform call that did not go through.

    `reason` is shown to admins as it is, so it says what happened and what to
    do in plain words; `detail` is the platform's own message for the log.
    """

    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None,
                 detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason} ({self.detail})" if self.detail else self.reason
