"""Business calendars for planning: a warehouse's working days, its holidays and its shipping
cut-off. Pure arithmetic on aware datetimes (no database), so it can be hand-checked.

Lead times count only on working days (a working day has 24 countable hours; weekends and
holidays count none). A ship step that would start after the warehouse's cut-off starts on the
next working day. Times are read in the project's time zone (settings.TIME_ZONE).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from django.utils import timezone

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class BusinessCalendar:
    working_days: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO weekdays
    holidays: frozenset[date] = field(default_factory=frozenset)
    cutoff: time | None = None
    tz: tzinfo | None = None

    @classmethod
    def from_string(
        cls, working_days: str, *, holidays=(), cutoff: time | None = None, tz: tzinfo | None = None
    ) -> BusinessCalendar:
        return cls(
            working_days=frozenset(int(c) for c in (working_days or "12345")),
            holidays=frozenset(holidays),
            cutoff=cutoff,
            tz=tz,
        )

    # --- days ---------------------------------------------------------------------------------

    def is_working(self, day: date) -> bool:
        return day.isoweekday() in self.working_days and day not in self.holidays

    def _zone(self) -> tzinfo:
        return self.tz or timezone.get_current_timezone()

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self._zone())

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self._zone())

    def next_working_day(self, day: date) -> date:
        day += ONE_DAY
        for _ in range(3660):
            if self.is_working(day):
                return day
            day += ONE_DAY
        raise ValueError("No working day within ten years: check the calendar.")

    def previous_working_day(self, day: date) -> date:
        day -= ONE_DAY
        for _ in range(3660):
            if self.is_working(day):
                return day
            day -= ONE_DAY
        raise ValueError("No working day within ten years: check the calendar.")

    # --- arithmetic ---------------------------------------------------------------------------

    def add(self, start: datetime, hours: float | int) -> datetime:
        """`hours` of working time after `start` (a start on a closed day waits for the next
        working day's midnight)."""
        t = self._local(start)
        remaining = timedelta(hours=hours)
        if not remaining:
            return t
        if not self.is_working(t.date()):
            t = self._midnight(self.next_working_day(t.date()))
        while True:
            day_end = self._midnight(t.date() + ONE_DAY)
            available = day_end - t
            if remaining <= available:
                return t + remaining
            remaining -= available
            t = self._midnight(self.next_working_day(t.date()))

    def subtract(self, end: datetime, hours: float | int) -> datetime:
        """The latest start from which `hours` of working time end at `end`."""
        t = self._local(end)
        remaining = timedelta(hours=hours)
        if not remaining:
            return t
        # Midnight ends the day before it.
        day = t.date() - ONE_DAY if t.timetz().replace(tzinfo=None) == time.min else t.date()
        if not self.is_working(day):
            day = self.previous_working_day(day)
            t = self._midnight(day + ONE_DAY)
        while True:
            available = t - self._midnight(day)
            if remaining <= available:
                return t - remaining
            remaining -= available
            day = self.previous_working_day(day)
            t = self._midnight(day + ONE_DAY)

    def ship_start(self, start: datetime) -> datetime:
        """A ship step released after the cut-off (or on a closed day) starts the next working
        day at midnight."""
        t = self._local(start)
        if not self.is_working(t.date()):
            return self._midnight(self.next_working_day(t.date()))
        if self.cutoff is not None and t.time() > self.cutoff:
            return self._midnight(self.next_working_day(t.date()))
        return t

    def ship_by(self, day: date) -> datetime:
        """The last moment goods can leave to be on time for `day`: the cut-off of the last
        working day on or before it (its end, without a cut-off)."""
        if not self.is_working(day):
            day = self.previous_working_day(day)
        if self.cutoff is not None:
            return datetime.combine(day, self.cutoff, tzinfo=self._zone())
        return self._midnight(day + ONE_DAY)
