"""Stages of one analysis, shared by the engine's progress callback and the platform's status."""

from enum import StrEnum


class Stage(StrEnum):
    QUEUED = "queued"
    FETCHING = "fetching"
    DECODING = "decoding"
    DETECTING_FACES = "detecting_faces"
    SCORING = "scoring"
    DONE = "done"
    FAILED = "failed"
