"""Which planned visits are due to be announced, and which were: the queue's bookkeeping.

A visit is announced ``lead_time + SLACK`` seconds before its start, so that however late
the announcing task wakes (up to SLACK), nextVisit still comes at least ``lead_time`` ahead.
Cancelling a visit that was already announced needs a nextVisitCanceled; one not yet
announced is simply dropped.
"""

from __future__ import annotations

from dmcs.sims.visit_plan import PlannedVisit

SLACK = 1.0


class Announcer:
    """Pending visits ordered by announcement time; announced ones remembered by groupId."""

    def __init__(self, lead_time: float) -> None:
        self.lead_time = lead_time
        self.pending: list[PlannedVisit] = []
        self.announced: dict[str, PlannedVisit] = {}

    def add(self, visits: list[PlannedVisit]) -> None:
        known = {v.group_id for v in self.pending} | set(self.announced)
        duplicates = sorted(v.group_id for v in visits if v.group_id in known)
        if duplicates:
            raise ValueError(f"groupId(s) already planned: {', '.join(duplicates)}")
        self.pending = sorted([*self.pending, *visits], key=lambda v: v.start_time)

    def next_due_time(self) -> float | None:
        """When the next announcement is due (TAI), or None if nothing is pending."""
        return self.pending[0].start_time - self.lead_time - SLACK if self.pending else None

    def pop_due(self, now: float) -> list[PlannedVisit]:
        due = [v for v in self.pending if v.start_time - self.lead_time - SLACK <= now]
        self.pending = self.pending[len(due):]
        self.announced.update((v.group_id, v) for v in due)
        return due

    def cancel(self, group_id: str) -> bool:
        """Drop a visit; True if it had been announced (so a cancellation must be published)."""
        if group_id in self.announced:
            del self.announced[group_id]
            return True
        remaining = [v for v in self.pending if v.group_id != group_id]
        if len(remaining) == len(self.pending):
            raise ValueError(f"groupId {group_id!r} is neither planned nor announced")
        self.pending = remaining
        return False
