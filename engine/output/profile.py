"""`evaluate --profile`: where the evaluation spent its time (on standard error)."""

from __future__ import annotations

from typing import IO

from engine.evaluation.service import Evaluation
from engine.output.console import console


def render_evaluation_profile(evaluation: Evaluation, err: IO[bytes] | None = None) -> None:
    timings = evaluation.timings
    stages = {**timings.stages, "total": timings.total()}
    evaluate = timings.stages.get("evaluate")
    rate = timings.evaluations / evaluate if evaluate else 0
    with console(err) as c:
        c.print(
            "profile: "
            + ", ".join(f"{k} {v:.3f}s" for k, v in stages.items())
            + f"; {timings.evaluations:,} entity-rule evaluations ({rate / 1e6:,.1f} M/s in evaluate)"
            + f"; source {'reused' if evaluation.reused else 'materialized'}"
        )
