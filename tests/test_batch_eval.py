"""The reliability report: estimators against brute force, buckets, failure reasons,
the chart, and a clear message when matplotlib is missing."""

from __future__ import annotations

import itertools
import json
import sys

import pytest

from codeagent.batch.eval import build_report, load_report, pass_at_k, pass_hat_k, steps_bucket
from codeagent.batch.results import ResultStore
from codeagent.errors import ConfigError


def rec(task, attempt, ok, *, horizon=None, steps=3, reason=None, status=None, cost=0.01, tokens=100,
        wall=2.0, expect=None):
    return {"kind": "batch_result", "task_id": task, "attempt": attempt, "success": ok,
            "status": status or ("done" if ok else "not_done"), "reason": reason or ("tests_pass" if ok else "stuck"),
            "horizon": horizon, "steps": steps, "cost": cost, "tokens": {"total": tokens}, "wall_time": wall,
            "expect": expect}


@pytest.mark.parametrize("n,c", [(1, 0), (1, 1), (3, 1), (4, 2), (5, 5), (6, 0), (5, 3)])
def test_estimators_match_brute_force_over_all_k_subsets(n, c):
    outcomes = [True] * c + [False] * (n - c)
    for k in range(1, n + 1):
        subsets = list(itertools.combinations(outcomes, k))
        assert pass_at_k(n, c, k) == pytest.approx(sum(any(s) for s in subsets) / len(subsets))
        assert pass_hat_k(n, c, k) == pytest.approx(sum(all(s) for s in subsets) / len(subsets))


def test_report_headline_numbers():
    records = [
        rec("a", 1, True, horizon="1"), rec("a", 2, True, horizon="1"), rec("a", 3, True, horizon="1"),
        rec("b", 1, True, horizon="8", steps=10), rec("b", 2, False, horizon="8", steps=10, reason="budget:steps"),
        rec("b", 3, False, horizon="8", steps=12, reason="budget:steps"),
        rec("c", 1, False, horizon="short", status="crashed", reason="crashed:signal:SIGKILL", steps=0),
        rec("c", 2, False, horizon="short", status="timeout", reason="timeout:5s", steps=0),
        rec("c", 3, False, horizon="short", status="crashed", reason="crashed:signal:SIGKILL", steps=0),
    ]
    report = build_report(records)
    assert report["tasks"] == 3 and report["attempts"] == 9 and report["k"] == 3
    assert report["pass_at_1"] == pytest.approx(round((1 + 1 / 3 + 0) / 3, 4))
    assert report["pass_at_k"]["3"] == pytest.approx(round(2 / 3, 4))  # a and b each have a success
    assert report["pass_hat_k"]["3"] == pytest.approx(round(1 / 3, 4))  # only a never fails
    assert report["pass_hat_k"]["1"] == report["pass_at_1"]
    # numeric labels sort numerically; a word label sorts by its median steps
    assert [row["bucket"] for row in report["by_horizon"]] == ["short", "1", "8"]
    h8 = next(row for row in report["by_horizon"] if row["bucket"] == "8")
    assert (h8["attempts"], h8["successes"], h8["success_rate"], h8["pass_hat_k"]) == (3, 1, 0.3333, 0.0)
    assert report["failure_reasons"][0] == {"reason": "budget:steps", "count": 2}
    assert {"reason": "crashed:signal:SIGKILL", "count": 2} in report["failure_reasons"]
    assert report["statuses"] == {"done": 4, "not_done": 2, "crashed": 2, "timeout": 1}
    assert report["per_attempt"]["steps"]["median"] == 3
    assert report["per_attempt"]["cost_usd"]["total"] == pytest.approx(0.09)
    assert report["horizon_source"] == "label"


def test_without_labels_the_horizon_is_measured_steps():
    records = [rec("a", 1, True, steps=1), rec("b", 1, False, steps=5), rec("c", 1, True, steps=6),
               rec("d", 1, False, steps=40, wall=400)]
    report = build_report(records)
    assert report["horizon_source"] == "steps"
    assert [(r["bucket"], r["attempts"]) for r in report["by_horizon"]] == [
        ("steps 1", 1), ("steps 4-7", 2), ("steps 32+", 1)]
    assert [r["bucket"] for r in report["by_time"]] == ["<10s", "5-30m"]
    assert steps_bucket(0) == "0" and steps_bucket(16) == "16-31"


def test_unexpected_outcomes_follow_the_per_attempt_expectation():
    records = [rec("f", 1, True, expect="done,not_done"), rec("f", 2, False, expect="done,not_done"),
               rec("f", 3, False, expect="done,not_done"), rec("g", 1, True)]
    unexpected = build_report(records)["unexpected"]
    assert unexpected == [{"task_id": "f", "attempt": 3, "expected": "done", "status": "not_done"}]


def test_load_report_uses_the_latest_record_per_attempt_and_explains_missing_results(tmp_path):
    with pytest.raises(ConfigError, match="no such batch folder"):
        load_report(tmp_path / "nope")
    with pytest.raises(ConfigError, match="no results.jsonl"):
        load_report(tmp_path)
    store = ResultStore(tmp_path)
    store.append(rec("a", 1, False))
    store.append(rec("a", 1, True))  # a --redo
    report, warnings = load_report(tmp_path)
    assert report["attempts"] == 1 and report["pass_at_1"] == 1.0 and warnings == []


def test_chart_is_a_png_and_missing_matplotlib_says_how_to_get_it(tmp_path, monkeypatch):
    from codeagent.batch.chart import write_chart

    report = build_report([rec("a", 1, True, horizon="1"), rec("a", 2, False, horizon="1"),
                           rec("b", 1, False, horizon="4"), rec("b", 2, False, horizon="4")])
    path = write_chart(report, tmp_path / "sub" / "chart.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ConfigError, match="needs matplotlib") as info:
        write_chart(report, tmp_path / "again.png")
    assert "codeagent[chart]" in str(info.value)
    assert not (tmp_path / "again.png").exists()


def test_report_is_json_serializable():
    report = build_report([rec("a", 1, True)])
    assert json.loads(json.dumps(report))["kind"] == "eval_report"
