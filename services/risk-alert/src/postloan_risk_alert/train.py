"""Train a challenger scorecard and promote it only if it beats the champion on the same hold-out.

python -m postloan_risk_alert.train                      # on the service's own history
python -m postloan_risk_alert.train --synthetic 200000   # on the seeded synthetic book
python -m postloan_risk_alert.train --synthetic 200000 --output model.json --version default-v1   # no database
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from postloan_common.db import engine_scope, session_factory
from postloan_risk_alert import synthetic
from postloan_risk_alert.domain import training
from postloan_risk_alert.domain.scoring import Scorecard
from postloan_risk_alert.service import history, models
from postloan_risk_alert.service.model_evaluation import evaluate_and_store
from postloan_risk_alert.settings import Settings

DESCRIPTION = "Behavioural scorecard: PD of 90+ DPD within 12 months; logistic regression on monotone WoE bins."


def fit_and_evaluate(data: training.Dataset, *, version: str, seed: int) -> tuple[Scorecard, training.Dataset]:
    """Fit on 70% of `data`; return the model (with its hold-out metrics) and the hold-out rows."""
    train_rows, holdout = data.split(seed=seed)
    model = training.fit(train_rows, version=version, description=DESCRIPTION)
    metrics = training.evaluate(model, holdout)
    fitted = Scorecard.from_json({**model.to_json(), "training": {**model.training, "holdout": metrics}})
    return fitted, holdout


async def _train_against_champion(settings: Settings, data: training.Dataset, version: str, seed: int) -> int:
    async with engine_scope(settings.database_url) as engine:
        sessions = session_factory(engine)
        async with sessions.begin() as session:
            champion = await models.champion(session)
            challenger, holdout = fit_and_evaluate(data, version=version, seed=seed)
            challenger_metrics: dict[str, Any] = challenger.training["holdout"]
            champion_auc = training.evaluate(champion, holdout)["auc"]
            promote = training.should_promote(challenger_auc=challenger_metrics["auc"], champion_auc=champion_auc)
            await models.save(
                session,
                model=challenger,
                status=models.CHALLENGER,
                metrics={**challenger_metrics, "champion_auc_on_holdout": champion_auc},
            )
            await evaluate_and_store(session, versions=[challenger.version, champion.version])
            if promote:
                await models.promote(
                    session,
                    version=challenger.version,
                    details={
                        "auc": challenger_metrics["auc"],
                        "champion": champion.version,
                        "champion_auc": champion_auc,
                    },
                )
    verdict = "promoted" if promote else "kept as challenger"
    print(
        f"{challenger.version}: hold-out AUC {challenger_metrics['auc']:.4f} (KS {challenger_metrics['ks']:.4f}, "
        f"Gini {challenger_metrics['gini']:.4f}) vs champion {champion.version} {champion_auc:.4f} → {verdict}"
    )
    return 0


async def _own_history(settings: Settings) -> training.Dataset:
    async with engine_scope(settings.database_url) as engine, session_factory(engine)() as session:
        return await history.training_rows(session)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m postloan_risk_alert.train`."""
    parser = argparse.ArgumentParser(prog="python -m postloan_risk_alert.train", description=__doc__)
    parser.add_argument("--synthetic", type=int, metavar="N", help="fit on N synthetic loans instead of history")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--version", default=None, help="model version (default: a timestamp)")
    parser.add_argument("--output", type=Path, help="write the artifact here instead of using the database")
    args = parser.parse_args(argv)
    version = args.version or "v" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    settings = Settings()
    if args.synthetic:
        data = synthetic.generate(args.synthetic, seed=args.seed)
    else:
        data = asyncio.run(_own_history(settings))
        if len(data) < 1000 or data.outcome.min() == data.outcome.max():
            print(f"not enough labelled history ({len(data)} rows with outcomes); try --synthetic N", file=sys.stderr)
            return 2
    if args.output:
        model, _ = fit_and_evaluate(data, version=version, seed=args.seed)
        args.output.write_text(json.dumps(model.to_json(), indent=1, sort_keys=True) + "\n")
        metrics = model.training["holdout"]
        print(f"{version}: hold-out AUC {metrics['auc']:.4f}, KS {metrics['ks']:.4f} → {args.output}")
        return 0
    return asyncio.run(_train_against_champion(settings, data, version, args.seed))


if __name__ == "__main__":
    raise SystemExit(main())
