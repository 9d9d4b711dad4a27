"""User CSV files: parsing, UTC rules, and one clear error per bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from aitrade.data import load_bars
from aitrade.errors import DataError, UnknownSymbolError, UserError

GOOD = """ts,open,high,low,close,volume
2024-01-01T00:00:00,10,11,9,10.5,100
2024-01-01T01:00:00,10.5,12,10,11,120
2024-01-01T05:00:00+03:00,11,11.5,10.5,11.2,90
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.csv"
    path.write_text(text)
    return path


def test_reads_naive_as_utc_and_converts_offsets(tmp_path: Path) -> None:
    write(tmp_path / "csv", "MYCOIN", GOOD)
    df = load_bars("MYCOIN", "1h", source="csv", path=tmp_path / "csv")["MYCOIN"]
    assert list(df.index) == [pd.Timestamp(f"2024-01-01 0{h}:00", tz="UTC") for h in (0, 1, 2)]
    assert df["close"].tolist() == [10.5, 11.0, 11.2]
    assert df.attrs["source"] == "csv"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("ts,open,high,low,close\n2024-01-01,1,1,1,1\n", "lacks column(s) volume"),
        ("ts,open,high,low,close,volume\nnot-a-date,1,1,1,1,1\n", "row 2: cannot read ts 'not-a-date'"),
        (
            "ts,open,high,low,close,volume\n2024-01-01T00:00,1,abc,1,1,1\n",
            "row 2: high='abc' is not a number",
        ),
        (
            "ts,open,high,low,close,volume\n2024-01-01T00:00,1,2,0.5,1,1\n2024-01-01T00:00,1,2,0.5,1,1\n",
            "duplicate",
        ),
    ],
)
def test_bad_files_fail_with_one_clear_error(tmp_path: Path, text: str, needle: str) -> None:
    write(tmp_path / "csv", "BAD", text)
    with pytest.raises(DataError) as err:
        load_bars("BAD", "1h", source="csv", path=tmp_path / "csv")
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_binary_garbage_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "BIN.csv").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01")
    with pytest.raises(DataError, match="BIN.csv"):
        load_bars("BIN", "1h", source="csv", path=tmp_path / "csv")


def test_missing_file_lists_what_is_there(tmp_path: Path) -> None:
    write(tmp_path / "csv", "AAA", GOOD)
    with pytest.raises(UnknownSymbolError, match="CSV symbols there: AAA"):
        load_bars("BBB", "1h", source="csv", path=tmp_path / "csv")
    with pytest.raises(DataError, match="does not exist"):
        load_bars("AAA", "1h", source="csv", path=tmp_path / "nowhere")
    with pytest.raises(UserError, match="--path"):
        load_bars("AAA", "1h", source="csv")


def test_any_symbol_is_allowed_for_csv(tmp_path: Path) -> None:
    write(tmp_path / "csv", "ANYTHING_GOES", GOOD)
    assert "ANYTHING_GOES" in load_bars("ANYTHING_GOES", "1h", source="csv", path=tmp_path / "csv")
