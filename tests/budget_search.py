"""The smallest memory budget a render's check allows, found by bisection (shared by the budget tests)."""

from __future__ import annotations

from soundstage.errors import ParameterError


def allowed_at(job, paths, lengths, starts, limit: int):
    """The render's costs under a budget of ``limit`` bytes, or None when the budget refuses it."""
    job.memory_limit_bytes = limit
    try:
        return job.check_costs(paths, lengths, starts)
    except ParameterError:
        return None


def smallest_allowed_budget(job, paths, lengths, starts) -> int:
    """The smallest budget in bytes under which ``job.check_costs`` does not refuse the render."""
    low, high = 1, 2**40
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if allowed_at(job, paths, lengths, starts, middle) else (middle, high)
    return high
