"""The targets file: the shipped default and its loader."""

from shared.targets.loader import DEFAULT_TARGETS_FILE, TargetsError, load_targets

__all__ = ["DEFAULT_TARGETS_FILE", "TargetsError", "load_targets"]
