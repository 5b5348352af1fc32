"""The job scripts, run locally on small data."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dataset(folder: Path, rows: int = 40) -> None:
    folder.mkdir(parents=True)
    pd.DataFrame(
        {
            "size": range(rows),
            "colour": ["red", "blue"] * (rows // 2),
            "target": [2.0 * n for n in range(rows)],
        }
    ).to_csv(folder / "part.csv", index=False)


def test_preprocess_writes_headerless_splits_with_the_target_first(tmp_path: Path) -> None:
    dataset(tmp_path / "raw" / "2026")
    script("preprocess").main(["--target-column", "target"], tmp_path / "raw", tmp_path / "out")
    parts = {
        name: pd.read_csv(tmp_path / "out" / name / f"{name}.csv", header=None)
        for name in ("train", "validation", "test")
    }
    assert [len(part) for part in parts.values()] == [28, 6, 6]
    for part in parts.values():
        assert list(part.columns) == [0, 1, 2, 3]  # target, size, colour_blue, colour_red
        assert (part[0] == 2.0 * part[1]).all()


def test_preprocess_names_a_missing_target_column(tmp_path: Path) -> None:
    dataset(tmp_path / "raw")
    with pytest.raises(SystemExit, match="'rings' not in the dataset's columns: size, colour, target"):
        script("preprocess").main(["--target-column", "rings"], tmp_path / "raw", tmp_path / "out")


def test_preprocess_says_where_to_put_data_when_there_is_none(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    with pytest.raises(SystemExit, match="no CSV files under the pipeline's InputDataUrl"):
        script("preprocess").main(["--target-column", "target"], tmp_path / "raw", tmp_path / "out")


def test_evaluation_report_has_the_registry_regression_shape() -> None:
    report = script("evaluate").regression_report([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert report == {"regression_metrics": {"rmse": {"value": 0.0}, "r2": {"value": 1.0}}}
    worse = script("evaluate").regression_report([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    assert worse["regression_metrics"]["rmse"]["value"] == pytest.approx((2 / 3) ** 0.5)
    assert worse["regression_metrics"]["r2"]["value"] == pytest.approx(0.0)
