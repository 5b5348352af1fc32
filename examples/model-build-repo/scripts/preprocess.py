"""Processing job: split the build account's dataset into train, validation and test sets.

Runs in SageMaker's scikit-learn container. Reads every CSV file under the input prefix (each with
a header row), one-hot encodes text columns and writes headerless, numbers-only CSV with the target
column first: the built-in XGBoost algorithm's CSV reader takes nothing else (not even True/False).
Also writes the model version's sample payload: a few test rows, features only, as the endpoint
takes them.
"""

from __future__ import annotations

import argparse
import io
import sys
import tarfile
from pathlib import Path

import pandas as pd

INPUT = Path("/opt/ml/processing/raw")
OUTPUT = Path("/opt/ml/processing")
SPLITS = {"train": 0.7, "validation": 0.15, "test": 0.15}
SEED = 20261129
# The register step's SamplePayloadUrl names this file in the "samples" output.
SAMPLE_PAYLOAD = "payload.tar.gz"
SAMPLE_ROWS = 5
# Each payload file is sent as one InvokeEndpoint request, whose body is at most 6,291,456 bytes (SageMaker
# API Reference, "InvokeEndpoint"); the module's smoke test refuses a larger file.
INVOKE_ENDPOINT_BODY_LIMIT = 6_291_456


def load(input_dir: Path) -> pd.DataFrame:
    """Every CSV file under ``input_dir``, concatenated."""
    files = sorted(input_dir.rglob("*.csv"))
    if not files:
        raise SystemExit(
            f"no CSV files under the pipeline's InputDataUrl (mounted at {input_dir}); "
            "upload a dataset with a header row to that S3 prefix and start the pipeline again"
        )
    return pd.concat([pd.read_csv(path) for path in files], ignore_index=True)


def prepare(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """Numbers only (booleans as 0/1), the target first, rows with a missing target dropped."""
    if target not in frame.columns:
        raise SystemExit(f"target column {target!r} not in the dataset's columns: {', '.join(frame.columns)}")
    frame = frame.dropna(subset=[target])
    labels = pd.to_numeric(frame[target], errors="coerce")
    if labels.isna().any():
        example = frame[target][labels.isna()].iloc[0]
        raise SystemExit(
            f"target column {target!r} must be numeric (a regression target), but holds {example!r}"
        )
    features = pd.get_dummies(frame.drop(columns=[target]), dtype=float).astype(float).fillna(0.0)
    return pd.concat([labels.astype(float).rename(target), features], axis=1)


def split(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Shuffled with a fixed seed, so the same data gives the same split."""
    shuffled = frame.sample(frac=1.0, random_state=SEED).reset_index(drop=True)
    train_end = int(len(shuffled) * SPLITS["train"])
    validation_end = train_end + int(len(shuffled) * SPLITS["validation"])
    return {
        "train": shuffled.iloc[:train_end],
        "validation": shuffled.iloc[train_end:validation_end],
        "test": shuffled.iloc[validation_end:],
    }


def write_sample_payload(test: pd.DataFrame, folder: Path, limit: int = INVOKE_ENDPOINT_BODY_LIMIT) -> None:
    """A few test rows without the target, as one CSV in one .tar.gz (what the registry asks for).

    Fewer rows when a very wide dataset would make the file larger than one request may be.
    """
    count = SAMPLE_ROWS
    rows = test.iloc[:count, 1:].to_csv(header=False, index=False).encode()
    while len(rows) > limit and count > 1:
        count -= 1
        rows = test.iloc[:count, 1:].to_csv(header=False, index=False).encode()
    if len(rows) > limit:
        raise SystemExit(
            f"one test row without the target is {len(rows)} bytes as CSV, more than an endpoint request "
            f"may be ({limit}): the sample payload cannot be written"
        )
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / SAMPLE_PAYLOAD, "w:gz") as archive:
        member = tarfile.TarInfo("payload.csv")
        member.size = len(rows)
        archive.addfile(member, io.BytesIO(rows))


def main(argv: list[str] | None = None, input_dir: Path = INPUT, output_dir: Path = OUTPUT) -> None:
    """Read, prepare and split the dataset; a problem with the data stops the job with one line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target-column", required=True)
    args = parser.parse_args(argv)
    parts = split(prepare(load(input_dir), args.target_column))
    for name, part in parts.items():
        if part.empty:
            raise SystemExit(
                f"the dataset has too few rows for a {name} set ({sum(map(len, parts.values()))} rows)"
            )
        folder = output_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        part.to_csv(folder / f"{name}.csv", header=False, index=False)
        print(f"{name}: {len(part)} rows", file=sys.stderr)
    write_sample_payload(parts["test"], output_dir / "samples")


if __name__ == "__main__":
    main()
