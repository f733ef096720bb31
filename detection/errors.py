"""Expected failures of the engine, each carrying one sentence a person can act on.

Callers show `str(exc)` (== `exc.message`) to users; the technical detail goes to the log.
"""


class DetectionError(Exception):
    """Base of every expected engine failure; `message` is the sentence for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UnreadableVideo(DetectionError):
    """The file is missing, empty, not a video, truncated or cannot be decoded."""


class VideoTooLong(DetectionError):
    """The video (or the part asked for) is longer than the configured limit."""


class VideoTooLarge(DetectionError):
    """The frame size exceeds the configured pixel limit."""


class NoTrainedModel(DetectionError):
    """No trained checkpoint is available, so no verdict may be shown."""


class BadModelFile(DetectionError):
    """A checkpoint exists but cannot be read or does not fit this code."""


class FetchError(DetectionError):
    """A URL could not be downloaded as a video within the limits."""


class UnsafeURL(FetchError):
    """A URL points at something the server must not reach (SSRF guard)."""
