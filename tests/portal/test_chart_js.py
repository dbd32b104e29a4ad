"""The chart's periods (portal/web/chart.js, run by node in UTC): the finest of day, week
(from Monday), month and year that needs at most 60 bars, every period between the first use
and the last one included (empty ones too), and every row in exactly one bar. The drawing
itself is checked in the browser flow (test_browser.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.portal.conftest import run_js

SCRIPT = """
import { periods } from "./portal/web/chart.js";
const spans = JSON.parse(process.argv[1]);
const out = spans.map((times) => {
  const { unit, bars } = periods(times.map((time) => ({ time })));
  const starts = bars.map((bar) => bar.start.toISOString());
  return { unit, starts, counts: bars.map((bar) => bar.rows.length) };
});
console.log(JSON.stringify(out));
"""
START = datetime(2026, 11, 4, 15, 30, tzinfo=UTC)  # a Wednesday


def _unix(*offsets: timedelta) -> list[int]:
    return [int((START + offset).timestamp()) for offset in offsets]


def test_periods_choose_the_finest_unit_that_fits() -> None:
    spans = [
        _unix(timedelta(0), timedelta(hours=1), timedelta(hours=8)),  # one day
        _unix(timedelta(0), timedelta(days=9), timedelta(days=9, hours=1)),  # ten days
        _unix(timedelta(0), timedelta(days=140)),  # 20 weeks: too many days
        _unix(timedelta(0), timedelta(days=3 * 365)),  # 3 years: too many weeks
        _unix(timedelta(0), timedelta(days=70 * 365)),  # 70 years: years, however many
    ]
    one_day, ten_days, weeks, months, years = run_js(SCRIPT, json.dumps(spans), timezone="UTC")
    assert one_day == {"unit": "day", "starts": ["2026-11-04T00:00:00.000Z"], "counts": [3]}
    assert ten_days["unit"] == "day" and len(ten_days["starts"]) == 10
    assert ten_days["counts"] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 2]  # empty days are bars too
    assert weeks["unit"] == "week" and weeks["starts"][0] == "2026-11-02T00:00:00.000Z"  # Monday
    assert len(weeks["starts"]) == 21 and sum(weeks["counts"]) == 2
    assert months["unit"] == "month" and months["starts"][0] == "2026-11-01T00:00:00.000Z"
    assert len(months["starts"]) == 37 and months["counts"][-1] == 1
    assert years["unit"] == "year" and len(years["starts"]) == 71 and sum(years["counts"]) == 2
