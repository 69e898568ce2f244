"""Authenticity detection: explainable flags from public count series.

:mod:`~collector.detection.detectors` holds the pure detectors, :mod:`~collector.detection.series`
loads stored series as numpy arrays, :mod:`~collector.detection.flags` stores and reads flags,
:mod:`~collector.detection.runner` runs full and incremental scoring, and
:mod:`~collector.detection.webhook` announces new flags. docs/detection.md explains the method.

The names below are imported on first use, so that the command line starts without numpy.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DetectionSummary",
    "changed_accounts",
    "detect_accounts",
    "make_detection_hook",
    "run_detection",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("collector.detection.runner"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
