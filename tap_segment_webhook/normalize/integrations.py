"""Segment's per-message destination filter: the `integrations` object.

`{"All": false, "Stitch": true}` sends a message only to Stitch; `{"Stitch": false}` sends it
everywhere but Stitch. A destination set to an object of options counts as turned on. Archives
such as Segment's S3 destination contain every message whatever its `integrations` object sets, so replay applies the
filter itself when a destination name is configured.
"""

from __future__ import annotations

import typing as t


def is_enabled(integrations: t.Any, destination: str) -> bool:
    """Return whether a message's `integrations` object lets it reach `destination`."""
    if not isinstance(integrations, dict):
        return True
    setting = integrations.get(destination)
    if setting is None:
        folded = destination.casefold()
        for name, value in integrations.items():
            if isinstance(name, str) and name.casefold() == folded:
                setting = value
                break
    if setting is not None:
        return setting is not False
    return integrations.get("All", True) is not False
