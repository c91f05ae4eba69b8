"""Three levels of report unit: 全辖, 支局, 网点, on a hand-built book with two 支局.

The book (every policy 分红, the holder 40 at maturity on 2013-05-15, inside both conversion
targets' bases):
  S1: A1  10 policies;  A2  6 policies, 5 naming S1 and one (A2-5) naming S2 → A2 is S1's
  S2: B1  9 policies
Outcomes: A1-0, A1-1, A2-5, B1-0 转保; A2-0, B1-1, B1-2, B1-3 转存.

Allocated targets (rate basis, largest remainder over the bases 10, 6, 9 of 25):
  保单转换 ceil(20% × 25) = 5: quotas 2.0, 1.2, 1.8 → floors 2, 1, 1, the last one to B1 (0.8)
           → A1 2, A2 1, B1 2; S1 = 3, S2 = 2.
  存款转换 ceil(30% × 25 = 7.5) = 8: quotas 3.2, 1.92, 2.88 → floors 3, 1, 2, one each to A2
           (0.92) and B1 (0.88) → A1 3, A2 2, B1 3; S1 = 5, S2 = 3.
Every policy matures in May, so 2013Q2's targets are the year's.
"""

from __future__ import annotations

import pandas as pd
import pytest

from maturity_analysis.analysis.book import (
    ALL,
    branch_label,
    branch_sub_branches,
    compared_branches,
    enrich,
    for_branch,
    standing_table,
    sub_branch_unit,
    unit_branches,
)
from maturity_analysis.analysis.evaluation import (
    PENDING,
    allocated,
    beside,
    by_branch,
    by_sub_branch,
    evaluate,
    wilson,
)
from maturity_analysis.analysis.targets import (
    GOAL,
    TOTAL,
    allocate_branches,
    allocate_sub_branches,
    branch_targets,
)
from maturity_analysis.exceptions import MaturityDataError
from maturity_analysis.ingest.forms import Tracking, frame
from maturity_analysis.reports.jobs import select_units, unit_folder, unit_names

S1, S2 = sub_branch_unit("S1"), sub_branch_unit("S2")
SIZES = {"A1": 10, "A2": 6, "B1": 9}


def _book(make_policies):
    rows = []
    for code, n in SIZES.items():
        for i in range(n):
            sub = "S2" if code == "B1" or (code, i) == ("A2", 5) else "S1"
            rows.append(
                {
                    "branch_code": code,
                    "branch_name": f"{code}网点",
                    "sub_branch": sub,
                    "maturity_date": "2013-05-15",
                    "age": 40,
                }
            )
    book = make_policies(rows)
    book["policy_no"] = [f"{code}-{i}" for code, n in SIZES.items() for i in range(n)]
    return book


def _tracking(book):
    done = {"A1-0": "转保", "A1-1": "转保", "A2-5": "转保", "B1-0": "转保"}
    done |= {"A2-0": "转存", "B1-1": "转存", "B1-2": "转存", "B1-3": "转存"}
    branch = dict(zip(book["policy_no"], book["branch_code"], strict=True))
    rows = [
        {"policy_no": p, "outcome": o, "outcome_date": "2013-05-20", "branch_code": branch[p]}
        for p, o in done.items()
    ]
    return Tracking(outcomes=frame("outcomes", rows))


@pytest.fixture
def book(make_policies):
    return _book(make_policies)


def test_a_branch_belongs_to_the_sub_branch_most_of_its_policies_name(book):
    assert branch_sub_branches(book).to_dict() == {"A1": "S1", "A2": "S1", "B1": "S2"}
    assert unit_branches(book, S1) == ["A1", "A2"] and unit_branches(book, ALL) is None
    mine = for_branch(book, S1)
    assert len(mine) == 16 and "A2-5" in set(mine["policy_no"])  # the stray one stays with A2
    assert len(for_branch(book, S2)) == 9
    assert branch_label(S1) == "S1" and branch_label("A1", "A1网点") == "A1网点（A1）"


def test_sub_branch_targets_are_the_sum_of_its_branches(book):
    by_branch_ = allocate_branches(book).droplevel(1)
    for label, s1, s2 in (("保单转换", 3, 2), ("存款转换", 5, 3)):
        col = (label, GOAL)
        assert by_branch_[col].to_dict() == {
            "A1": 2 if label == "保单转换" else 3,
            "A2": 1 if label == "保单转换" else 2,
            "B1": 2 if label == "保单转换" else 3,
            TOTAL: s1 + s2,
        }
        subs = allocate_sub_branches(book)[col]
        assert subs.to_dict() == {"S1": s1, "S2": s2, TOTAL: s1 + s2}
        goals = branch_targets(book, S1)
        assert goals["目标"].at[label, GOAL] == s1
        assert goals["网点分配"].loc[TOTAL, col].item() == s1  # its branches and their 合计
        assert list(goals["网点分配"].index.get_level_values(0)) == ["A1", "A2", TOTAL]
        assert goals["阶段分配"].loc[TOTAL, col].item() == s1
    assert allocated(book, "2013Q2", S1) == {
        "policy_conversion": 3,
        "deposit_conversion": 5,
        "persistency": 0,
    }
    assert allocated(book, "2013Q2", S2)["deposit_conversion"] == 3


def test_sub_branch_counts_are_the_sum_of_its_branches(book):
    tracking = _tracking(book)
    branches = by_branch(book, tracking, "2013Q2")
    subs = by_sub_branch(book, tracking, "2013Q2")
    mine = evaluate(book, tracking, "2013Q2", S1)
    s = mine.summary
    # 保单转换: A1 2 + A2 1 (A2-5, naming S2, counts in A2's 支局) = 3 of the base 10 + 6
    assert (
        s.at["policy_conversion", "实际"]
        == 3
        == sum(branches.loc[(c, "policy_conversion"), "实际"] for c in ("A1", "A2"))
    )
    assert s.at["policy_conversion", "分母"] == 16 and s.at["policy_conversion", "目标"] == 3
    # 存款转换: A1 0 + A2 1 = 1 against 3 + 2 = 5
    assert s.at["deposit_conversion", "实际"] == 1 and s.at["deposit_conversion", "目标"] == 5
    # Wilson(3, 16) ≈ 6.6%-43.0% holds the target's share 3/16 = 18.75%: too few to tell
    lo, hi = wilson(3, 16)
    assert lo < 3 / 16 < hi and s.at["policy_conversion", "结论"] == PENDING
    pd.testing.assert_frame_equal(subs.xs("S1", level="sub_branch"), s, check_names=False)
    assert subs.xs("S2", level="sub_branch").at["deposit_conversion", "实际"] == 3
    assert mine.title.startswith("S1 2013Q2")
    assert set(beside(branches, book, S1).index.get_level_values(0)) == {"A1", "A2"}
    assert beside(branches, book, ALL).equals(branches)


def test_a_branch_report_compares_the_branches_of_its_sub_branch(book):
    """A branch's report shows the rows its 支局's report shows (itself among them); a branch
    naming no 支局, every branch."""
    branches = by_branch(book, _tracking(book), "2013Q2")
    # A2's policies name S1 five times and S2 once (A2-5): A2 is S1's, beside A1
    assert compared_branches(book, "A2") == ["A1", "A2"] == compared_branches(book, S1)
    assert set(beside(branches, book, "A1").index.get_level_values(0)) == {"A1", "A2"}
    assert set(beside(branches, book, "B1").index.get_level_values(0)) == {"B1"}
    assert compared_branches(book, ALL) is None
    alone = book.assign(sub_branch=book["sub_branch"].astype(object))
    alone.loc[alone["branch_code"] == "B1", "sub_branch"] = " "
    assert compared_branches(alone, "B1") is None
    assert beside(branches, alone, "B1").equals(branches)
    assert compared_branches(alone, "A1") == ["A1", "A2"]
    with pytest.raises(MaturityDataError, match="Z9"):
        compared_branches(book, "Z9")


def test_sub_branch_standing_ranks_it_among_the_sub_branches(book):
    table = standing_table(enrich(book), S2)
    assert list(table.columns) == ["本支局", "全辖"]
    assert table.at["满期保单(件)", "本支局"] == 9
    assert table.iloc[-1].tolist() == [2, 2]  # 9 policies against S1's 16: second of two


def test_a_sub_branch_never_reads_as_a_branch_or_all(book, make_policies):
    with pytest.raises(MaturityDataError, match="S9"):
        for_branch(book, sub_branch_unit("S9"))
    odd = make_policies([{"branch_code": "支局:S1", "sub_branch": "S1"}])
    for unit in (S1, ALL, "A1"):  # whatever the unit, the code that reads as a 支局 is named
        with pytest.raises(MaturityDataError, match="'支局:S1': a 网点代码 may not start"):
            unit_branches(odd, unit)
    with pytest.raises(MaturityDataError, match="may not start"):
        for_branch(odd, S1)
    named_all = make_policies([{"branch_code": "A1", "sub_branch": "ALL"}])
    assert unit_names(named_all) == {"支局:ALL": "ALL", "A1": "网点一"}
    folders = {unit_folder(u) for u in (ALL, "ALL_", "支局_S1", S1, "A1")}
    assert len(folders) == 5


@pytest.mark.parametrize("period", ["2013Q2", "2013"])
def test_by_sub_branch_agrees_with_evaluate(book, period):
    branch = dict(zip(book["policy_no"], book["branch_code"], strict=True))
    calls = [  # with a team, without one (its branch's first), on a team with no log
        {"policy_no": p, "call_date": d, "team": t, "intent": "考虑中", "branch_code": branch[p]}
        for p, d, t in (
            ("A1-0", "2013-05-06", "一组"),
            ("A2-1", "2013-05-07", None),
            ("B1-0", "2013-05-08", "二组"),
        )
    ]
    log = [
        {"work_date": "2013-05-06", "branch_code": "A1", "team": "一组", "calls": 3},
        {"work_date": "2013-05-09", "branch_code": "A2", "team": "三组", "calls": 2},
    ]
    outcomes = _tracking(book).outcomes
    tracking = Tracking(
        calls=frame("calls", calls), worklog=frame("worklog", log), outcomes=outcomes
    )
    subs = by_sub_branch(book, tracking, period)
    for name, unit in (("S1", S1), ("S2", S2)):
        pd.testing.assert_frame_equal(
            subs.xs(name, level="sub_branch"),
            evaluate(book, tracking, period, unit).summary,
            check_names=False,
        )


def test_units_in_report_order_and_selected_by_sub_branch(book):
    known = unit_names(book)
    assert list(known) == [S1, "A1", "A2", S2, "B1"]
    assert list(select_units(known, None)) == [ALL, S1, "A1", "A2", S2, "B1"]
    assert select_units(known, [S2, "A1"]) == {S2: "S2", "A1": "A1网点"}
    with pytest.raises(MaturityDataError, match=r"支局 .S3.: no branch .*\(支局: S1, S2\)"):
        select_units(known, [sub_branch_unit("S3")])


def test_reports_command_selects_sub_branches():
    from maturity_analysis.cli import _units, build_parser

    args = build_parser().parse_args(["reports", "--branch", "A1", "--sub-branch", "城关支局"])
    assert _units(args) == ["A1", "支局:城关支局"]
    assert _units(build_parser().parse_args(["reports"])) is None


def test_a_notebook_may_be_made_for_some_levels():
    from maturity_analysis.reports.jobs import applies_to

    branch_only = {"metadata": {"maturity_analysis": {"levels": ["all", "branch"]}}}
    assert applies_to(branch_only, "2013Q2", ALL) and applies_to(branch_only, "2013Q2", "A1")
    assert not applies_to(branch_only, "2013Q2", S1)
    assert applies_to({"metadata": {}}, "2013", S1)
