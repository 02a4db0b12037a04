"""The replay line: the `xorlab train` command that retrains one run, digit for digit.

The report gives one per section and the playground one per seed; both write it here.
"""

from __future__ import annotations

from .config import FIELD_FLAGS, RunConfig

DEFAULT_CONFIG = RunConfig()


def train_command(config: RunConfig) -> str:
    """The `xorlab train` line that replays one run (only non-default options)."""
    parts = ["xorlab train"]
    for name, flag in FIELD_FLAGS.items():
        value = getattr(config, name)
        if isinstance(value, bool):  # a switch: present or not
            if value:
                parts.append(flag)
        elif name == "seed" or value != getattr(DEFAULT_CONFIG, name):
            parts.append(f"{flag} {value}")
    return " ".join(parts)
