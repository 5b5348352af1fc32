"""The job scripts, run locally on small data."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import script


def dataset(folder: Path, rows: int = 40, target: object = None) -> None:
    folder.mkdir(parents=True)
    pd.DataFrame(
        {
            "size": range(rows),
            "colour": ["red", "blue"] * (rows // 2),
            "target": target or [2.0 * n for n in range(rows)],
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


def test_preprocess_writes_numbers_only_booleans_as_0_and_1(tmp_path: Path) -> None:
    """The built-in XGBoost algorithm's CSV reader rejects True/False."""
    (tmp_path / "raw").mkdir()
    pd.DataFrame({"smoker": [True, False] * 10, "target": range(20)}).to_csv(
        tmp_path / "raw" / "a.csv", index=False
    )
    script("preprocess").main(["--target-column", "target"], tmp_path / "raw", tmp_path / "out")
    written = (tmp_path / "out" / "train" / "train.csv").read_text()
    assert "True" not in written
    assert "False" not in written
    train = pd.read_csv(tmp_path / "out" / "train" / "train.csv", header=None)
    assert set(train[1]) == {0.0, 1.0}


def test_preprocess_names_a_non_numeric_target_in_one_line(tmp_path: Path) -> None:
    dataset(tmp_path / "raw", target=["low", "high"] * 20)
    with pytest.raises(SystemExit) as stopped:
        script("preprocess").main(["--target-column", "target"], tmp_path / "raw", tmp_path / "out")
    assert (
        str(stopped.value) == "target column 'target' must be numeric (a regression target), but holds 'low'"
    )


def test_preprocess_writes_a_sample_payload_of_test_rows_without_the_target(tmp_path: Path) -> None:
    dataset(tmp_path / "raw")
    script("preprocess").main(["--target-column", "target"], tmp_path / "raw", tmp_path / "out")
    with tarfile.open(tmp_path / "out" / "samples" / "payload.tar.gz") as archive:
        (member,) = archive.getmembers()
        payload = archive.extractfile(member)
        assert payload
        rows = payload.read().decode().splitlines()
    test = (tmp_path / "out" / "test" / "test.csv").read_text().splitlines()
    assert len(rows) == 5
    # Each row is a test row less its first column, the target.
    assert rows == [line.split(",", 1)[1] for line in test[:5]]


def test_the_sample_payload_keeps_within_one_endpoint_request(tmp_path: Path) -> None:
    preprocess = script("preprocess")
    test = pd.DataFrame({"target": [1.0, 2.0, 3.0], "x": [10.0, 20.0, 30.0], "y": [0.5, 0.25, 0.125]})
    one_row, two_rows = (len(test.iloc[:n, 1:].to_csv(header=False, index=False).encode()) for n in (1, 2))
    preprocess.write_sample_payload(test, tmp_path, limit=two_rows)
    with tarfile.open(tmp_path / "payload.tar.gz") as archive:
        (member,) = archive.getmembers()
        assert member.size == two_rows
        payload = archive.extractfile(member)
        assert payload
        assert payload.read().decode().splitlines() == ["10.0,0.5", "20.0,0.25"]
    with pytest.raises(SystemExit, match=r"^one test row without the target is 9 bytes as CSV"):
        preprocess.write_sample_payload(test, tmp_path, limit=one_row - 1)
