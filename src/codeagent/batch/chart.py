"""The PNG chart of success rate against horizon (matplotlib, Agg backend).

matplotlib is optional (`pip install codeagent[chart]`); without it `write_chart`
raises a ConfigError that says how to get it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codeagent.errors import ConfigError


def write_chart(report: dict[str, Any], path: Path) -> Path:
    """Bars: success rate per horizon bucket (n attempts on each); line: pass^k."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("the chart needs matplotlib", hint="pip install 'codeagent[chart]' (or matplotlib)") from None
    rows = report.get("by_horizon") or []
    if not rows:
        raise ConfigError("nothing to chart: the report has no results")
    labels = [str(row["bucket"]) for row in rows]
    rates = [row["success_rate"] for row in rows]
    xs = list(range(len(rows)))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(rows) + 2), 4), dpi=110)
    try:
        bars = ax.bar(xs, rates, color="#4C78A8", label="success rate (all attempts)")
        for bar, row in zip(bars, rows):
            ax.annotate(f"{row['successes']}/{row['attempts']}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
        if any(row.get("k", 1) > 1 for row in rows):
            ks = sorted({row["k"] for row in rows})
            ax.plot(xs, [row["pass_hat_k"] for row in rows], color="#E45756", marker="o",
                    label=f"pass^k, k={'/'.join(map(str, ks))} (all k attempts succeed)")
        source = "label" if report.get("horizon_source") == "label" else "measured steps"
        ax.set_xticks(xs, labels)
        ax.set_xlabel(f"horizon ({source})")
        ax.set_ylabel("success rate")
        ax.set_ylim(0, 1.3)
        ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.set_title(f"Success vs horizon: {report['tasks']} tasks, {report['attempts']} attempts, "
                     f"pass@1 {report['pass_at_1']:.2f}", fontsize=10)
        ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
