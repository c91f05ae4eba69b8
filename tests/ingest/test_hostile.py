"""Mangled numbers, reserved codes and faults (#14, #15): nothing lost, errors in one line.

Each test builds a small book in ``tmp_path`` and checks what came out; where rows are
involved, ``accepted + rejected == rows read`` (:func:`accounted`).
"""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest
from test_policies import CANONICAL, HEADERS, accounted, good, make_id, write_csv, write_xlsx

from maturity_analysis.analysis.book import ALL
from maturity_analysis.cli import main
from maturity_analysis.exceptions import MaturityDataError
from maturity_analysis.ingest.dataset import prepare, read_dataset
from maturity_analysis.ingest.policies import REASONS, WARNINGS, load_policies
from maturity_analysis.ingest.readers import MAX_CELL, ascii_digits, column_letter
from maturity_analysis.ingest.schema import RESERVED_CODES
from maturity_analysis.output.privacy import MASKERS


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


# ------------------------------------------------------------------- numbers Excel mangled


def test_ids_excel_stored_as_numbers_keep_the_policies_with_a_birth_date(tmp_path):
    """The whole ID column numeric: 28 floats, 2 IDs ending in X (text); 2 floats lack a birth
    date, so nothing gives their age."""
    ids = [make_id("19600305", i) for i in range(32)]
    rows = []
    for i, pid in enumerate(ids):
        cell = pid if pid.endswith("X") else float(pid)
        rows.append(
            good(
                i,
                holder_id=cell,
                holder_birth_date=None if i >= 30 else good(i)["holder_birth_date"],
            )
        )
    f = write_xlsx(tmp_path / "policies.xlsx", rows)
    got = accounted(load_policies(f), 32)
    floats = [i for i in range(32) if not ids[i].endswith("X")]
    lost_no_birth = [i for i in floats if i >= 30]
    m = got.manifest
    assert m["rows_rejected"] == len(lost_no_birth)
    assert set(got.rejects["reason"]) <= {REASONS["id_number"]}
    kept_lost = [i for i in floats if i < 30]
    assert m["rows_warned"] == len(kept_lost) == m["warnings"][WARNINGS["id_dropped"]]
    by_no = got.policies.set_index("policy_no")
    assert by_no.loc[[f"P2013{i:06d}" for i in kept_lost], "holder_id"].isna().all()
    assert (by_no.loc[[f"P2013{i:06d}" for i in kept_lost], "age"] == 53).all()
    kept_x = [i for i in range(32) if ids[i].endswith("X")]
    assert len(kept_x) >= 2  # text IDs beside the numeric ones
    assert by_no.loc[[f"P2013{i:06d}" for i in kept_x], "holder_id"].tolist() == [
        ids[i] for i in kept_x
    ]


@pytest.mark.parametrize(
    ("cell", "kept"),
    [
        (2013000000001230, None),  # 16 digits, Excel's trailing 0: the last digit is lost
        (2013000000001230.0, None),  # the same as a float cell
        (9.1234567890123e15, None),  # beyond 2**53
        (1.2345678901234567e17, None),  # 18 digits
        (201300000000123, "201300000000123"),  # 15 digits: Excel holds them exactly
        (2013000000001234, "2013000000001234"),  # a whole number no Excel could have written
    ],
)
def test_policy_numbers_excel_truncated_are_rejected(tmp_path, cell, kept):
    f = write_xlsx(tmp_path / "policies.xlsx", [good(0), good(1, policy_no=cell)])
    got = accounted(load_policies(f), 2)
    if kept is None:
        [rej] = got.rejects.to_dict("records")
        assert (rej["column"], rej["reason"], rej["row"]) == ("policy_no", REASONS["number"], 3)
        assert "15" in rej["reason"]
    else:
        assert got.policies["policy_no"].tolist() == ["P2013000000", kept]


def test_ascii_digits_are_the_texts_python_calls_ascii_and_decimal():
    texts = ["820086247235680", "11010519600305001X", "１２３", "٣", "", " 1", "1.0", "1E+17", None]
    expected = [t is not None and t.isascii() and t.isdecimal() for t in texts]
    assert ascii_digits(pd.Series(texts, dtype="str")).tolist() == expected
    assert expected == [True, False, False, False, False, False, False, False, False]


def test_identifiers_are_cleaned_unless_they_are_digits_with_at_most_a_final_x(tmp_path):
    """Only text that is not ASCII digits (a final X or x aside) goes through the cleaning."""
    pid = make_id("19600305", 7)
    rows = [
        good(0, holder_id=pid[:17] + "x", holder_mobile="１３８００００００００"),
        good(1, policy_no=" P2013000001\t", holder_id=f" {pid} ", holder_mobile="13800000000.0"),
        good(2, policy_no="2013000000002", holder_id="X"),
    ]
    got = accounted(load_policies(write_csv(tmp_path / "policies.csv", rows)), 3)
    by_no = got.policies.set_index("policy_no")
    assert by_no.loc["P2013000000", ["holder_id", "holder_mobile"]].tolist() == [
        pid[:17] + "X",
        "13800000000",
    ]
    assert by_no.loc["P2013000001", ["holder_id", "holder_mobile"]].tolist() == [
        pid,
        "13800000000",
    ]
    assert by_no.loc["2013000000002", "holder_id"] == "X"


def test_branch_coded_all_is_rejected_as_reserved(tmp_path):
    assert ALL in RESERVED_CODES  # the ingest layer's copy is the analysis layer's name
    rows = [good(0), good(1, branch_code="ALL"), good(2, branch_code=" all "), good(3)]
    got = accounted(load_policies(write_xlsx(tmp_path / "policies.xlsx", rows)), 4)
    assert got.policies["policy_no"].tolist() == ["P2013000000", "P2013000003"]
    assert got.rejects["reason"].tolist() == [REASONS["reserved"]] * 2
    assert got.rejects["row"].tolist() == [3, 4]
    assert set(got.rejects["column"]) == {"branch_code"}


# ----------------------------------------------------------------------------- rejects.csv


def test_rejects_csv_masks_pii_values(tmp_path):
    bad_id = make_id("19600305", 7)[:17] + "Q"
    rows = [
        good(0),
        good(0, premium=1),  # a duplicate: its value is the policy number
        good(2, holder_birth_date=None, holder_id=bad_id),
        good(3, premium="x"),
    ]
    write_xlsx(tmp_path / "policies.xlsx", rows)
    result = prepare(tmp_path, out=tmp_path / "out")
    assert result.manifest["rows_read"] == 4
    assert result.manifest["rows_accepted"] + result.manifest["rows_rejected"] == 4
    text = (tmp_path / "out" / "rejects.csv").read_text(encoding="utf-8-sig")
    assert "P2013000000" not in text and bad_id not in text
    back = pd.read_csv(tmp_path / "out" / "rejects.csv", dtype=str, keep_default_na=False)
    values = dict(zip(back["column"], back["value"], strict=True))
    assert values["policy_no"] == MASKERS["policy_no"]("P2013000000")
    assert values["holder_id"] == MASKERS["holder_id"](bad_id)
    assert values["premium"] == "x"  # not PII: as written
    assert back["row"].tolist() == ["3", "4", "5"]


# -------------------------------------------------------------------- files that break


@pytest.fixture
def prepared(tmp_path):
    raw = tmp_path / "raw"
    (raw / "demo").mkdir(parents=True)
    write_xlsx(raw / "demo" / "policies.xlsx", [good(0), good(1)])
    processed = tmp_path / "processed"
    read_dataset("demo", raw_dir=raw, processed_dir=processed)
    return raw, processed, processed / "demo" / "policies.parquet"


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(p.read_bytes()[:100]),
        lambda p: p.write_bytes(b""),
        lambda p: p.unlink(),
    ],
    ids=["truncated", "empty", "deleted"],
)
def test_damaged_parquet_is_prepared_again_from_raw(prepared, damage, capsys):
    raw, processed, parquet = prepared
    damage(parquet)
    again = read_dataset("demo", raw_dir=raw, processed_dir=processed)
    assert again["policy_no"].tolist() == ["P2013000000", "P2013000001"]
    assert "preparing dataset 'demo' again" in capsys.readouterr().err


def test_damaged_parquet_without_raw_files_is_one_line(prepared):
    raw, processed, parquet = prepared
    parquet.write_bytes(parquet.read_bytes()[:100])
    (raw / "demo" / "policies.xlsx").unlink()
    (raw / "demo").rmdir()
    with pytest.raises(MaturityDataError) as err:
        read_dataset("demo", raw_dir=raw, processed_dir=processed)
    message = one_line(err)
    assert "policies.parquet" in message and "damaged" in message and "prepare" in message


@pytest.mark.parametrize("slow", [False, True], ids=["pyarrow", "csv module"])
def test_csv_cell_over_the_limit_is_one_line_naming_line_and_column(tmp_path, slow):
    rows = [good(0), good(1, holder_name="张" * (MAX_CELL + 1))]
    f = write_csv(tmp_path / "policies.csv", [None, *rows] if slow else rows)
    with pytest.raises(MaturityDataError) as err:
        load_policies(f)
    message = one_line(err)
    line = 4 if slow else 3
    column = column_letter(CANONICAL.index("holder_name"))
    assert f"policies.csv line {line} column {column}" in message
    assert f"{MAX_CELL + 1:,} characters" in message and "'张张张" in message


def test_ctrl_c_during_prepare_leaves_the_earlier_files_and_exits_130(
    tmp_path, monkeypatch, capsys
):
    write_xlsx(tmp_path / "policies.xlsx", [good(0), good(1)])
    out = tmp_path / "out"
    assert main(["prepare", str(tmp_path), "--out", str(out)]) == 0
    before = (out / "policies.parquet").read_bytes()
    write_xlsx(tmp_path / "policies.xlsx", [good(0), good(1), good(2)])
    capsys.readouterr()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)  # after the parquet is written
    assert main(["prepare", str(tmp_path), "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert err.startswith("interrupted") and err.count("\n") == 1
    assert sorted(p.name for p in out.iterdir()) == ["policies.parquet", "rejects.csv"]
    assert (out / "policies.parquet").read_bytes() == before  # the old file, whole


def test_utf16_tab_separated_text_is_read(tmp_path):
    """Excel's 'Unicode text' (.txt): UTF-16 with a BOM, tab-separated."""
    write_csv(tmp_path / "policies.txt", [good(0), good(1, premium=0)], encoding="utf-16", sep="\t")
    got = accounted(load_policies(tmp_path), 2)
    assert got.policies.loc[0, "holder_name"] == "张三"
    assert got.manifest["inputs"][0]["encoding"] == "utf-16"
    assert got.rejects.loc[0, "row"] == 3


def test_password_protected_workbook_says_so(tmp_path):
    f = tmp_path / "policies.xlsx"
    # An encrypted Office file: an OLE container whose directory names an EncryptedPackage.
    f.write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 1000
        + "EncryptedPackage".encode("utf-16-le")
    )
    with pytest.raises(MaturityDataError) as err:
        load_policies(f)
    message = one_line(err)
    assert "policies.xlsx" in message and "password-protected" in message
    assert "xlrd" not in message


def _add_sheet(path, title, rows):
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet(title)
    for r in rows:
        ws.append(r)
    wb.save(path)


def test_summary_or_pivot_sheet_is_skipped_with_a_note(tmp_path, capsys):
    f = write_xlsx(tmp_path / "policies.xlsx", [good(0), good(1), good(2)])
    _add_sheet(
        f,
        "汇总",
        [["网点代码", "险种类型", "已交保费"], ["0101", "分红", 150000], ["总计", None, 150000]],
    )
    got = accounted(load_policies(f), 3)
    [inp] = got.manifest["inputs"]
    assert inp["skipped_sheets"] == ["汇总"] and "汇总" in inp["sheet_notes"]
    assert main(["prepare", str(f), "--out", str(tmp_path / "out")]) == 0
    assert "skipped sheet 汇总 of policies.xlsx" in capsys.readouterr().out


def test_an_incomplete_sheet_with_policy_numbers_is_still_an_error(tmp_path):
    f = write_xlsx(tmp_path / "policies.xlsx", [good(0)])
    _add_sheet(f, "补充", [["保单号", "网点代码", "险种类型"], ["P1", "0101", "分红"]])
    with pytest.raises(MaturityDataError, match="sheet 补充: required column missing"):
        load_policies(f)


def test_duplicate_header_columns_are_named(tmp_path):
    headers = list(HEADERS.values()) + ["已交保费"]
    wb = openpyxl.Workbook()
    wb.active.append(headers)
    wb.active.append([good(0)[n] for n in CANONICAL] + [1])
    wb.save(tmp_path / "policies.xlsx")
    with pytest.raises(MaturityDataError) as err:
        load_policies(tmp_path / "policies.xlsx")
    first = column_letter(CANONICAL.index("premium"))
    second = column_letter(len(headers) - 1)
    assert f"已交保费 (premium) is in more than one column (columns {first} and {second})" in (
        one_line(err)
    )


def test_excel_error_values_are_missing_not_text(tmp_path):
    rows = [good(0, holder_mobile="#N/A"), good(1, premium="#DIV/0!"), good(2)]
    f = write_xlsx(tmp_path / "policies.xlsx", rows)
    assert openpyxl.load_workbook(f).active["E2"].data_type == "e"  # stored as Excel's error
    got = accounted(load_policies(f), 3)
    assert got.policies["holder_mobile"].isna().tolist() == [True, False]
    [rej] = got.rejects.to_dict("records")
    assert (rej["column"], rej["reason"], rej["value"]) == (
        "premium",
        REASONS["missing"],
        "#DIV/0!",
    )


# ---------------------------------------------------------------------- missing datasets


def test_missing_dataset_says_how_to_make_it(tmp_path):
    with pytest.raises(MaturityDataError) as err:
        read_dataset("mine", raw_dir=tmp_path / "raw", processed_dir=tmp_path / "processed")
    message = one_line(err)
    assert "make data" in message and "maturity-analysis prepare data/raw/mine" in message
    assert err.value._render_traceback_() == [f"MaturityDataError: {message}"]  # in a notebook


def test_missing_sample_is_made_with_a_message(tmp_path, monkeypatch, capsys):
    from maturity_analysis.sample import book

    def small_sample(out):  # the real generator takes seconds; the wiring is what is tested
        out.mkdir(parents=True)
        return [write_xlsx(out / "policies.xlsx", [good(0), good(1)])]

    monkeypatch.setattr(book, "write_sample", small_sample)
    got = read_dataset("sample", raw_dir=tmp_path / "raw", processed_dir=tmp_path / "processed")
    assert len(got) == 2 and (tmp_path / "raw" / "sample" / "policies.xlsx").is_file()
    err = capsys.readouterr().err
    assert "sample dataset is missing: writing it" in err and "preparing dataset 'sample'" in err


# ------------------------------------------------------------------------------- progress


def test_prepare_shows_progress_bars_only_when_asked(tmp_path, capsys):
    write_xlsx(tmp_path / "policies.xlsx", [good(0), good(1)])
    prepare(tmp_path, out=tmp_path / "a", progress=True)
    err = capsys.readouterr().err
    assert "reading" in err and "policies.xlsx: 2 rows" in err and "validating" in err
    assert main(["prepare", str(tmp_path), "--out", str(tmp_path / "b")]) == 0  # not a TTY
    assert capsys.readouterr().err == ""
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["rows_read"] == manifest["rows_accepted"] + manifest["rows_rejected"] == 2
