"""Merging: git's diff3 (:mod:`.diff3`), minimal text edits (:mod:`.text`) and every pull rule
(:mod:`.rules`). Pure Python: no pycrdt, no Tornado."""

from __future__ import annotations

from .diff3 import MAX_DIFF_COST, ConflictHunk, Hunk, Merge3Result, diff_lines, merge3, split_lines
from .rules import MergeOutcome, PullInput, PullPlan, PullStatus, Strategy, plan_pull
from .text import Edit, Unit, apply_edits, text_check, text_edits

__all__ = [
    "MAX_DIFF_COST",
    "ConflictHunk",
    "Edit",
    "Hunk",
    "Merge3Result",
    "MergeOutcome",
    "PullInput",
    "PullPlan",
    "PullStatus",
    "Strategy",
    "Unit",
    "apply_edits",
    "diff_lines",
    "merge3",
    "plan_pull",
    "split_lines",
    "text_check",
    "text_edits",
]
