"""Canonical columns of the maturity list, their header aliases, kinds and allowed values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One canonical column: its typical header, the aliases real exports use, its kind."""

    name: str
    header: str
    kind: str  # "text", "id", "date", "amount", "int", "term"
    required: bool = False
    pii: bool = False
    aliases: tuple[str, ...] = ()


POLICY_COLUMNS: tuple[Column, ...] = (
    Column("policy_no", "保单号", "id", True, True, ("保单号码", "保险单号", "合同号")),
    Column("holder_name", "投保人姓名", "text", False, True, ("投保人", "客户姓名", "姓名")),
    Column(
        "holder_id",
        "投保人身份证号",
        "id",
        False,
        True,
        ("投保人证件号码", "证件号码", "身份证号", "身份证号码", "投保人身份证"),
    ),
    Column("holder_birth_date", "投保人出生日期", "date", False, False, ("出生日期", "生日")),
    Column(
        "holder_mobile",
        "投保人手机",
        "id",
        False,
        True,
        ("手机", "手机号", "手机号码", "联系电话", "投保人手机号"),
    ),
    Column("branch_code", "网点代码", "id", True, False, ("网点编码", "网点号", "机构代码")),
    Column("branch_name", "网点名称", "text", False, False, ("网点", "机构名称")),
    Column("sub_branch", "支局", "text", False, False, ("所属支局", "支局名称")),
    Column("product_type", "险种类型", "text", True, False, ("险种类别", "产品类型", "险种")),
    Column("product_name", "产品名称", "text", False, False, ("险种名称", "产品")),
    Column("term_years", "保障期限", "term", False, False, ("保险期间", "保险期限", "期限")),
    Column("payment_mode", "缴费方式", "text", False, False, ("交费方式", "缴费类型")),
    # 期交: the years premiums are paid (1 ≤ payment_years ≤ term_years); 趸交: 1 or blank.
    Column(
        "payment_years",
        "缴费年期",
        "int",
        False,
        False,
        ("交费年期", "缴费期限", "交费期限", "缴费年限", "交费年限", "缴费期间"),
    ),
    Column(
        "premium",
        "已交保费",
        "amount",
        True,
        False,
        ("保费", "满期本金", "累计保费", "已缴保费", "总保费"),
    ),
    Column("issue_date", "承保日期", "date", True, False, ("生效日期", "签单日期", "保险起期")),
    Column("maturity_date", "保险止期", "date", True, False, ("满期日期", "满期日", "满期时间")),
    Column(
        "maturity_value",
        "满期金+分红",
        "amount",
        False,
        False,
        ("满期金", "满期给付金额", "满期金额", "账户价值", "满期金加分红"),
    ),
    Column("manager", "客户经理", "text", False, False, ("理财经理",)),
)

COLUMNS_BY_NAME = {c.name: c for c in POLICY_COLUMNS}
SAMPLE_HEADERS = [c.header for c in POLICY_COLUMNS]
PII_COLUMNS = tuple(c.name for c in POLICY_COLUMNS if c.pii)
# The PII a reader asks for by name (``read_dataset(pii=...)``): the customer's name, ID and
# phone, nearly unique per policy and used only by the call lists, the masked customer lists and
# the privacy check. ``policy_no``, PII too, is read by default: it is the key that the tracking
# forms, the KPIs, the costs and the reconciliation join on.
PERSONAL_COLUMNS = tuple(c for c in PII_COLUMNS if c != "policy_no")

# Allowed values, with the spellings exports use for them.
PRODUCT_TYPES = {
    "分红": ("分红", "分红险", "分红型", "两全分红"),
    "万能": ("万能", "万能险", "万能型"),
}
PAYMENT_MODES = {
    "趸交": ("趸交", "趸缴", "一次交清", "一次性"),
    "期交": ("期交", "期缴", "年交", "年缴"),
}
WHOLE_LIFE = ("终身", "终生", "终身型")
# Branch codes a branch may not have, in any case: ALL is the whole book's unit
# (``maturity_analysis.analysis.book.ALL``).
RESERVED_CODES = ("ALL",)

DERIVED_COLUMNS = ("age", "age_band", "principal_band")
# Text repeated on many rows, stored in policies.parquet as dictionary-encoded categories.
CATEGORY_COLUMNS = (
    "branch_code",
    "branch_name",
    "sub_branch",
    "product_type",
    "product_name",
    "payment_mode",
    "manager",
)
