"""Structured (filter) pruning of the paper's networks: schedule, unit groups, surgery, pruner."""
from empirical.pruning.pruner import PruneReport, StructuredPruner
from empirical.pruning.schedule import (cumulative_pruned, remaining_fraction, round_ratio,
                                        target_counts)
from empirical.pruning.surgery import remove_channels
from empirical.pruning.units import UnitGroup, unit_groups

__all__ = ["StructuredPruner", "PruneReport", "round_ratio", "remaining_fraction",
           "cumulative_pruned", "target_counts", "remove_channels", "unit_groups", "UnitGroup"]
