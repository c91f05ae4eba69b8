"""Reading the filled forms back: every row accepted or rejected with its reason, none lost."""

import tomllib
from datetime import datetime

import pandas as pd
import pytest
from openpyxl import Workbook

from maturity_analysis.config import PLAN_FILE
from maturity_analysis.exceptions import MaturityDataError, PlanError
from maturity_analysis.ingest.forms import (
    FORMS,
    KINDS,
    REJECT_COLUMNS,
    columns,
    frame,
    read_tracking,
    settings,
)
from maturity_analysis.plan.model import parse_plan


@pytest.fixture
def policies(make_policies):
    df = make_policies(
        [
            {"branch_code": "B01", "product_type": "分红", "maturity_date": "2013-02-20"},
            {
                "branch_code": "B01",
                "product_type": "万能",
                "maturity_date": "2013-03-10",
                "term_years": None,
            },
            {"branch_code": "B02", "product_type": "分红", "maturity_date": "2013-05-05"},
        ]
    )
    df["policy_no"] = ["P1", "P2", "P3"]
    return df


def _xlsx(path, headers, rows, title=None, sheet="Sheet1", extra_sheets=()):
    """A workbook as a team would return it: optional title line, header, rows."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    if title:
        ws.append([title])
        ws.append([])
    ws.append(headers)
    for r in rows:
        ws.append(r)
    for name, cells in extra_sheets:
        other = wb.create_sheet(name)
        for r in cells:
            other.append(r)
    wb.save(path)
    return path


# Each case: the rows written (one good row first) and, per bad row, (column, reason) expected.
# Excel rows: title on 1, blank 2, header 3, so data starts on row 4.
CALLS = [
    ["2013-01-08", "第1组", "张三", "P1", "分红", "", "", "考虑中", ""],  # 4 good
    [datetime(2013, 1, 9), "第1组", "李四", "P2", "万能", "", "", "继续持有", ""],  # 5 good
    ["2013年1月10日", "第1组", "李四", "P2", "万能", "", "", "未接通", ""],  # 6 good
    ["2013-01-08", "第1组", "王五", "P9", "分红", "", "", "考虑中", ""],  # 7 unknown policy
    ["2014-03-01", "第1组", "张三", "P1", "分红", "", "", "考虑中", ""],  # 8 after the year
    ["2013-01-11", "第1组", "张三", "P1", "分红", "", "", "好的", ""],  # 9 not in drop-down
    ["2013-01-12", "第1组", "张三", None, "分红", "", "", "考虑中", ""],  # 10 no policy
    ["2013-01-08", "第1组", "张三", "P1", "分红", "", "", "意向转保", ""],  # 11 duplicate of 4
    ["明天", "第1组", "张三", "P1", "分红", "", "", "考虑中", ""],  # 12 not a date
    [None] * 9,  # 13 blank
    ["合计", None, None, None, None, None, None, None, None],  # 14 total row: not a record
    [41285, "第2组", "张三", "P1", "分红", "", "", "意向转存", ""],  # 15 good (serial)
]
CALLS_BAD = {
    7: ("保单号", "not in the maturity list"),
    8: ("填写日期", "outside the plan year"),
    9: ("客户意向", "not one of the drop-down's answers"),
    10: ("保单号", "required but empty"),
    11: ("保单号、填写日期", "duplicate"),
    12: ("填写日期", "not a date"),
}

COMPLAINTS = [
    ["2013-01-10", "张三", "P1", "收益低于存款", "解释", "2013-01-15", "否", "否", None],  # 4 good
    ["2013-02-01", "李四", "P2", "收益低", "赔偿", "2013-02-05", "否", "是", "1,200元"],  # 5 good
    ["2013-02-01", "李四", "P2", "收益低", "", None, "否", "是", None],  # 6 no amount
    ["2013-02-01", "李四", "P2", "态度", "", None, "否", "否", 300],  # 7 amount on 否
    ["2013-02-10", "李四", "P2", "态度", "", "2013-02-01", "否", "否", None],  # 8 answer before
    ["2013-02-10", "李四", "P2", "态度", "", None, "可能", "否", None],  # 9 not 是/否
    ["2013-02-11", "李四", "P2", None, "", None, "否", "否", None],  # 10 no 投诉点
    ["2013-02-12", "李四", "P2", "态度", "", None, "否", "是", -5],  # 11 negative
]
COMPLAINTS_BAD = {
    6: ("赔偿金额", "是否赔偿 is 是 but 赔偿金额 is empty"),
    7: ("赔偿金额", "是否赔偿 is 否 but 赔偿金额 is given"),
    8: ("答复日期", "before 投诉日期"),
    9: ("是否非常规退保", "drop-down"),
    10: ("投诉点", "required but empty"),
    11: ("赔偿金额", "negative amount"),
}

WORKLOG = [
    ["2013-01-07", "B01", "第1组", 22, 18, 1, 0, 0, 0, ""],  # 4 good
    ["2013-01-07", "B01", "第2组", "15", 12, 0, 1, 0, 0, ""],  # 5 good (count as text)
    ["2013-01-07", "B99", "第1组", 20, 18, 0, 0, 0, 0, ""],  # 6 unknown branch
    ["2013-01-08", "B01", "第1组", 20, 25, 0, 0, 0, 0, ""],  # 7 effective > calls
    ["2013-01-09", "B01", "第1组", 20.5, 18, 0, 0, 0, 0, ""],  # 8 not whole
    ["2013-01-07", "B01", "第1组", 21, 18, 0, 0, 0, 0, ""],  # 9 duplicate of 4
    ["2013-01-10", "B01", None, 20, 18, 0, 0, 0, 0, ""],  # 10 no team
]
WORKLOG_BAD = {
    6: ("网点代码", "branch code not in the maturity list"),
    7: ("有效回访", "more than 回访量"),
    8: ("回访量", "not a whole number"),
    9: ("网点代码、团队、日期", "duplicate"),
    10: ("团队", "required but empty"),
}

OUTCOMES = [
    ["P1", "张三", "转保", "2013-02-25", "XX+意外险", 12000, None, ""],  # 4 good
    ["P2", "李四", "续持", "2013-03-10", None, None, None, ""],  # 5 good (万能)
    ["P3", "王五", "续持", "2013-05-06", None, None, None, ""],  # 6 分红 cannot be held
    ["P3", "王五", "转存", "2013-05-06", None, None, None, ""],  # 7 no deposit amount
    ["P3", "王五", "转保", "2013-05-06", None, None, None, ""],  # 8 no new premium
    ["P1", "张三", "领取", "2013-02-26", None, None, None, ""],  # 9 duplicate policy
    ["P3", "王五", "退回", "2013-05-06", None, None, None, ""],  # 10 unknown kind
    ["P3", "王五", "转存", "2012-10-01", None, None, 11000, ""],  # 11 before the year
]
OUTCOMES_BAD = {
    6: ("满期去向", "only possible for 万能"),
    7: ("转存金额", "needs 转存金额"),
    8: ("新保单保费", "needs 新保单保费"),
    9: ("保单号", "duplicate"),
    10: ("满期去向", "drop-down"),
    11: ("办理日期", "outside the plan year"),
}

CASES = {
    "calls": (CALLS, CALLS_BAD),
    "complaints": (COMPLAINTS, COMPLAINTS_BAD),
    "worklog": (WORKLOG, WORKLOG_BAD),
    "outcomes": (OUTCOMES, OUTCOMES_BAD),
}


@pytest.fixture
def read(tmp_path, policies):
    folder = tmp_path / "tracking"
    folder.mkdir()
    for kind, (rows, _) in CASES.items():
        _xlsx(folder / f"{kind}.xlsx", FORMS[kind].headers, rows, title=FORMS[kind].title)
    return read_tracking(folder, policies)


@pytest.mark.parametrize("kind", KINDS)
def test_nothing_is_lost(read, kind):
    rows, bad = CASES[kind]
    footer = sum(r[0] == "合计" for r in rows)
    non_blank = sum(any(v is not None for v in r) for r in rows) - footer
    c = read.counts[kind]
    assert (c["rows_footer"], c["rows_blank"]) == ((1, 1) if kind == "calls" else (0, 0))
    assert c["rows_read"] == non_blank
    assert c["rows_accepted"] == non_blank - len(bad) == len(read.tracking[kind])
    assert c["rows_rejected"] == len(bad)
    assert c["rows_accepted"] + c["rows_rejected"] == c["rows_read"]


# Footer rows as branches write them: 共计 and a spaced 合 计, with the totals in them.
FOOTERS = {
    "calls": [
        ["共计", None, None, 3, None, None, None, None, None],
        ["合 计", None, "3人", None, None, None, None, 3, None],
    ],
    "complaints": [
        ["共计", None, None, None, None, None, None, 1, 1200],
        ["合\u3000计", 2, None, None, None, None, None, None, "1,200元"],
    ],
}


@pytest.mark.parametrize("kind", FOOTERS)
def test_gongji_and_spaced_heji_footers_are_footers(tmp_path, policies, kind):
    # Two good rows and one bad (rows 4-6 under the title and header), then the footers on
    # rows 7 and 8: counted as footers, neither read nor rejected.
    rows, bad = CASES[kind]
    written = [rows[0], rows[1], rows[min(bad) - 4], *FOOTERS[kind]]  # bad: its Excel row
    _xlsx(tmp_path / f"{kind}.xlsx", FORMS[kind].headers, written, title=FORMS[kind].title)
    read = read_tracking(tmp_path, policies)
    c = read.counts[kind]
    assert (c["rows_footer"], c["rows_blank"]) == (2, 0)
    assert (c["rows_read"], c["rows_accepted"], c["rows_rejected"]) == (3, 2, 1)
    assert c["rows_accepted"] + c["rows_rejected"] == c["rows_read"]
    assert read.rejects["row"].tolist() == [6]
    assert len(read.tracking[kind]) == 2


def test_csv_rows_are_numbered_by_line_and_footers_set_apart(tmp_path, policies):
    # A blank line and a 共计 footer in a CSV: the bad row is named by its line (4), the
    # blank line is counted blank, the footer is not read.
    text = (
        "日期,网点代码,团队,回访量\n2013-01-07,B01,第1组,20\n\n2013-01-08,B99,第1组,20\n共计,,,40\n"
    )
    (tmp_path / "worklog.csv").write_text(text, encoding="utf-8")
    read = read_tracking(tmp_path, policies)
    c = read.counts["worklog"]
    assert (c["rows_read"], c["rows_accepted"], c["rows_blank"], c["rows_footer"]) == (2, 1, 1, 1)
    assert read.rejects[["row", "header"]].values.tolist() == [[4, "网点代码"]]


@pytest.mark.parametrize(
    ("kind", "row", "column", "reason"),
    [(k, row, col, why) for k, (_, bad) in CASES.items() for row, (col, why) in bad.items()],
)
def test_every_bad_row_is_rejected_for_its_reason(read, kind, row, column, reason):
    mine = read.rejects[(read.rejects["file"] == f"{kind}.xlsx") & (read.rejects["row"] == row)]
    assert len(mine) == 1
    assert mine["header"].iloc[0] == column
    assert reason in mine["reason"].iloc[0]


def test_rejects_have_the_loaders_columns(read):
    assert list(read.rejects.columns) == list(REJECT_COLUMNS)
    assert set(read.rejects["sheet"]) == {"Sheet1"}


def test_accepted_values_are_parsed(read):
    calls = read.tracking.calls
    assert list(calls.columns) == columns("calls")
    # 2013-01-08, a datetime cell, 2013年1月10日, and Excel serial 41285 = 2013-01-11.
    assert [d.date().isoformat() for d in calls["call_date"]] == [
        "2013-01-08",
        "2013-01-09",
        "2013-01-10",
        "2013-01-11",
    ]
    assert list(calls["branch_code"]) == ["B01"] * 4  # from the maturity list
    comp = read.tracking.complaints
    assert comp["compensation"].tolist()[1] == 1200.0  # "1,200元"
    assert comp["compensated"].tolist() == [False, True]
    assert read.tracking.worklog["calls"].tolist() == [22, 15]
    assert read.tracking.outcomes["outcome"].tolist() == ["转保", "续持"]


def test_a_missing_folder_is_an_empty_dataset(tmp_path, policies):
    read = read_tracking(tmp_path / "none", policies)
    for kind in KINDS:
        assert read.tracking[kind].empty
        assert list(read.tracking[kind].columns) == columns(kind)
        assert read.counts[kind]["rows_read"] == 0
    assert read.rejects.empty


def test_a_file_without_the_forms_headers_is_an_error(tmp_path, policies):
    _xlsx(tmp_path / "calls_jan.xlsx", ["姓名", "电话"], [["张三", "138"]])
    with pytest.raises(MaturityDataError, match=r"calls_jan\.xlsx.*附件一.*客户意向"):
        read_tracking(tmp_path, policies)


def test_the_form_sheet_is_found_among_others_and_aliases_work(tmp_path, policies):
    # A returned workbook: a cover sheet first, then the form with 回访日期 for 填写日期.
    headers = ["回访日期", "客户姓名", "保单号", "客户意向"]
    _xlsx(
        tmp_path / "calls.xlsx",
        ["封面"],
        [["说明"]],
        sheet="封面",
        extra_sheets=[("附件一", [headers, ["2013-01-08", "张三", "P1", "考虑中"]])],
    )
    read = read_tracking(tmp_path, policies)
    assert read.tracking.calls["policy_no"].tolist() == ["P1"]


def test_gb18030_csv(tmp_path, policies):
    text = "日期,网点代码,团队,回访量\n2013-01-07,B01,第1组,20\n"
    (tmp_path / "worklog.csv").write_bytes(text.encode("gb18030"))
    read = read_tracking(tmp_path, policies)
    assert read.tracking.worklog["team"].tolist() == ["第1组"]


def test_duplicates_across_files_are_rejected(tmp_path, policies):
    row = ["P1", "张三", "领取", "2013-02-25", None, None, None, ""]
    for name in ("outcomes_1.xlsx", "outcomes_2.xlsx"):
        _xlsx(tmp_path / name, FORMS["outcomes"].headers, [row])
    read = read_tracking(tmp_path, policies)
    assert len(read.tracking.outcomes) == 1
    assert read.rejects["reason"].str.endswith("duplicate (保单号) of outcomes_1.xlsx row 2").all()
    assert len(read.rejects) == 1


def test_frame_builds_a_typed_frame():
    df = frame(
        "complaints",
        [
            {
                "policy_no": "P1",
                "complaint_date": "2013-02-01",
                "compensated": True,
                "compensation": 100,
            }
        ],
    )
    assert list(df.columns) == columns("complaints")
    assert df["complaint_date"].dtype == "datetime64[ns]"
    assert df["compensated"].dtype == "boolean"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("yes_no", ["是"], "tracking.yes_no"),
        ("policies_per_team", 0, "policies_per_team"),
        ("not_reached", "没接", "tracking.not_reached"),
        ("intent_answers", "考虑中", "list of text"),
        ("hold_outcome", "持有", "tracking.hold_outcome"),
        ("confidence", 95, "between 0 and 1"),
    ],
)
def test_malformed_tracking_section_names_the_key(key, value, message):
    shipped = tomllib.loads(PLAN_FILE.read_text(encoding="utf-8"))
    raw = shipped | {"tracking": shipped["tracking"] | {key: value}}
    with pytest.raises(PlanError, match=message):
        settings(parse_plan(raw, source="next-year.toml"))


def test_a_missing_tracking_key_is_named():
    shipped = tomllib.loads(PLAN_FILE.read_text(encoding="utf-8"))
    section = {k: v for k, v in shipped["tracking"].items() if k != "min_teams"}
    with pytest.raises(PlanError, match="tracking.min_teams"):
        settings(parse_plan(shipped | {"tracking": section}, source="x.toml"))


def test_forms_have_the_plans_columns():
    # PLAN_FIGURES.md, "Operations": 附件一 填写日期, 客户姓名, 保单号, 所持险种, 满期说明,
    # 转保说明, 客户意向, 备注; 附件二 投诉点, 处理意见, 是否非常规退保.
    assert {
        "填写日期",
        "客户姓名",
        "保单号",
        "所持险种",
        "满期说明",
        "转保说明",
        "客户意向",
        "备注",
    } <= set(FORMS["calls"].headers)
    assert {"投诉点", "处理意见", "是否非常规退保"} <= set(FORMS["complaints"].headers)
    assert pd.Index(FORMS["worklog"].headers).is_unique


def test_a_row_with_several_problems_names_them_all(tmp_path, policies):
    # 填写日期 unreadable and 客户意向 off the list: the first is the reason, the other is named.
    _xlsx(
        tmp_path / "calls.xlsx",
        FORMS["calls"].headers,
        [["昨天", "第1组", "张三", "P1", "分红", "", "", "好的", ""]],
    )
    rej = read_tracking(tmp_path, policies).rejects
    assert rej[["column", "other_problems"]].values.tolist() == [["call_date", "intent"]]


def test_prepare_tracking_writes_parquet(tmp_path, policies):
    from maturity_analysis.ingest.dataset import prepare_tracking

    raw = tmp_path / "raw" / "demo"
    (raw / "tracking").mkdir(parents=True)
    _xlsx(raw / "tracking" / "outcomes.xlsx", FORMS["outcomes"].headers, OUTCOMES)
    out = tmp_path / "processed" / "demo"
    out.mkdir(parents=True)
    done = prepare_tracking(raw, policies, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{k}.parquet" for k in KINDS)
    assert done.counts["outcomes"]["rows_accepted"] == 2
    assert [name for name, _ in done.counts["inputs"]] == ["outcomes.xlsx"]
    back = pd.read_parquet(out / "outcomes.parquet")
    assert back["policy_no"].tolist() == ["P1", "P2"]


# --- the sample's tracking files ---------------------------------------------------------------


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory):
    """A 3000-policy, 10-branch book shaped like the sample, with its year of forms."""
    from maturity_analysis.sample.book import scaled_policies
    from maturity_analysis.sample.tracking import canonical, write_tracking

    book = scaled_policies(3000, branches=10)
    out = tmp_path_factory.mktemp("sample")
    paths = write_tracking(out, book)
    policies = canonical(book)
    return book, out, paths, policies, read_tracking(out / "tracking", policies)


def test_sample_files_are_where_the_design_says(small_sample):
    _, out, paths, _, _ = small_sample
    assert [p.relative_to(out).as_posix() for p in paths] == [
        "tracking/calls.xlsx",
        "tracking/complaints.xlsx",
        "tracking/worklog.xlsx",
        "tracking/outcomes.xlsx",
    ]


def test_sample_is_deterministic(small_sample, tmp_path):
    from maturity_analysis.sample.tracking import write_tracking

    book, _, paths, _, _ = small_sample
    again = write_tracking(tmp_path, book)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]


def test_sample_rejects_only_its_deliberate_errors(small_sample):
    from maturity_analysis.sample.tracking import BAD_ROWS

    read = small_sample[-1]
    assert {k: c["rows_rejected"] for k, c in read.counts.items()} == {
        k: len(v) for k, v in BAD_ROWS.items()
    }


@pytest.fixture(scope="module")
def sample_year(small_sample):
    from maturity_analysis.analysis.evaluation import by_branch

    _, _, _, policies, read = small_sample
    return by_branch(policies, read.tracking, "2013")


@pytest.mark.parametrize(
    "key",
    [
        "policy_conversion",
        "deposit_conversion",
        "persistency",
        "complaint_satisfaction",
        "answered_in_time",
        "calls_per_team_day",
    ],
)
def test_sample_branches_differ_on_every_kpi(sample_year, key):
    met = sample_year["达标"].xs(key, level="key")
    assert met.any() and not met.all()


def test_sample_work_log_over_claims_only_where_it_means_to(small_sample):
    # 附件三 claims what 附件一 records, but for the deliberate over-claims (OVER_CLAIMED)
    from maturity_analysis.analysis.evaluation import team_days
    from maturity_analysis.sample.tracking import OVER_CLAIMED

    _, _, _, policies, read = small_sample
    days = team_days(read.tracking, "2013", policies=policies)
    codes = sorted(policies["branch_code"].unique())
    flagged = days[days["claimed"] > days["calls"]]
    assert sorted(flagged["branch_code"].unique()) == [codes[i] for i in OVER_CLAIMED]
    logged = days[days["claimed"] > 0]
    honest = logged[logged["claimed"] <= logged["calls"]]
    assert (honest["claimed"] == honest["calls"]).all()  # no under-claim either
    unlogged = days[(days["claimed"] == 0) & (days["calls"] > 0)]
    assert 0 < len(unlogged) < 0.05 * len(days)  # a few team-days without a log
    assert days["claimed"].sum() < 1.05 * days["calls"].sum()


def test_sample_misses_some_customers_before_maturity(sample_year):
    share = sample_year["实际"].xs("phoned_before_maturity", level="key")
    assert (share < 1).all() and share.min() < 0.95 < share.max()


def test_sample_has_late_answers_short_days_and_compensation(small_sample):
    read = small_sample[-1]
    comp = read.tracking.complaints
    waited = (comp["answer_date"] - comp["complaint_date"]).dt.days
    assert (waited > 7).any() and (waited <= 7).any() and comp["answer_date"].isna().any()
    assert (read.tracking.worklog["calls"] < 20).any()
    assert comp["compensated"].any() and comp["irregular_surrender"].any()
    assert set(read.tracking.outcomes["outcome"]) == {"转保", "转存", "续持", "退保", "领取"}


def test_prepare_reads_the_tracking_folder_and_notices_changes(tmp_path):
    # load.prepare also reads tracking/: parquet per kind, rejects added to rejects.csv,
    # counts in the manifest; read_dataset prepares again when a tracking file changes.
    from maturity_analysis.ingest.dataset import prepare, read_dataset, read_dataset_tracking
    from maturity_analysis.sample.book import scaled_policies
    from maturity_analysis.sample.tracking import BAD_ROWS, write_tracking

    raw = tmp_path / "raw" / "demo"
    raw.mkdir(parents=True)
    book = scaled_policies(400, branches=3)
    book.to_excel(raw / "policies.xlsx", index=False)
    write_tracking(raw, book)
    out = tmp_path / "processed" / "demo"
    result = prepare(raw, out=out)
    assert {f"{k}.parquet" for k in KINDS} <= {p.name for p in out.iterdir()}
    m = result.manifest
    assert {k: m["tracking"][k]["rows_rejected"] for k in KINDS} == {
        k: len(v) for k, v in BAD_ROWS.items()
    }
    rejects = pd.read_csv(out / "rejects.csv", encoding="utf-8-sig", dtype=str)
    assert len(rejects) == m["rows_rejected"] + sum(len(v) for v in BAD_ROWS.values())
    calls = read_dataset_tracking("demo", tmp_path / "raw", tmp_path / "processed").calls
    assert len(calls) == m["tracking"]["calls"]["rows_accepted"]

    _xlsx(raw / "tracking" / "outcomes.xlsx", FORMS["outcomes"].headers, [])  # emptied
    read_dataset("demo", tmp_path / "raw", tmp_path / "processed")
    assert pd.read_parquet(out / "outcomes.parquet").empty


def test_sample_gives_every_action_list_and_league_table_something(small_sample):
    # home visits logged for some key customers; on a mid-year day every list has rows
    # (overdue complaints among them) and both league tables rank several units
    from datetime import date

    from maturity_analysis.analysis import actions, honours
    from maturity_analysis.analysis.book import enrich
    from maturity_analysis.plan.period import parse_period

    _, _, _, policies, read = small_sample
    calls = read.tracking.calls
    assert 0 < (calls["visit_mode"] == "上门").sum() < len(calls)
    book = enrich(policies)
    lists = actions.action_lists(book, read.tracking, date(2013, 5, 14))
    assert all(len(frame) for frame in lists.values()), {k: len(v) for k, v in lists.items()}
    assert (lists[actions.COMPLAINTS]["状态"] == actions.OVERDUE).any()
    q2 = parse_period("2013Q2")
    for level in ("team", "manager"):
        table = honours.league_table(book, read.tracking, q2, level)
        assert len(table) > 3 and table["转保件数"].sum() > 0
