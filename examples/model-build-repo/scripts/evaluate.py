"""Processing job: score the trained model on the test set and write the model registry's report.

Runs in SageMaker's XGBoost container, on Python 3.8: nothing newer is used here. The report
(``evaluation.json``) is both the register step's model quality statistics and the input of the
pipeline's quality gate.
"""

from __future__ import annotations

import json
import math
import tarfile
from collections.abc import Sequence
from pathlib import Path

MODEL = Path("/opt/ml/processing/model")
TEST = Path("/opt/ml/processing/test")
OUTPUT = Path("/opt/ml/processing/evaluation")


def regression_report(actual: Sequence[float], predicted: Sequence[float]) -> dict[str, object]:
    """RMSE and R² in the model registry's regression metrics shape."""
    if not actual or len(actual) != len(predicted):
        raise ValueError("need as many predictions as labels, and at least one")
    mean = sum(actual) / len(actual)
    squared_error = sum((a - p) ** 2 for a, p in zip(actual, predicted))  # noqa: B905 (no strict= on Python 3.8)
    total = sum((a - mean) ** 2 for a in actual)
    rmse = math.sqrt(squared_error / len(actual))
    r2 = 1.0 - squared_error / total if total else 0.0
    return {"regression_metrics": {"rmse": {"value": rmse}, "r2": {"value": r2}}}


def main(model_dir: Path = MODEL, test_dir: Path = TEST, output_dir: Path = OUTPUT) -> None:
    """Score ``model.tar.gz`` on the test CSV files and write ``evaluation.json``."""
    # Imported here: they exist in the job's container, not where the report function is tested.
    import pandas as pd  # noqa: PLC0415
    import xgboost  # noqa: PLC0415

    with tarfile.open(model_dir / "model.tar.gz") as archive:
        archive.extract("xgboost-model", model_dir)
    booster = xgboost.Booster()
    booster.load_model(str(model_dir / "xgboost-model"))

    test = pd.concat([pd.read_csv(path, header=None) for path in sorted(test_dir.glob("*.csv"))])
    actual = test.iloc[:, 0].astype(float).tolist()
    predicted = booster.predict(xgboost.DMatrix(test.iloc[:, 1:].values)).tolist()

    report = regression_report(actual, predicted)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "evaluation.json").write_text(json.dumps(report))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
