"""Masking of names, phones, IDs and policy numbers, and the leak check run on every report."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maturity_analysis.ingest.ids import mask_value
from maturity_analysis.ingest.schema import PII_COLUMNS
from maturity_analysis.output.privacy import (
    PiiIndex,
    find_pii,
    mask_frame,
    mask_id,
    mask_name,
    mask_phone,
    mask_policy,
)

PEOPLE = pd.DataFrame(
    {
        "policy_no": ["820081541907374", "P2008000123"],
        "holder_name": ["欧阳建锋", "高峰"],
        "holder_id": ["11010519491231002X", "421087196602188825"],
        "holder_mobile": ["13812345678", "18341055508"],
        "premium": [50_000.0, 12_000.0],
    }
)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三明", "张*明"),
        ("欧阳建锋", "欧阳*锋"),
        ("欧阳锋", "欧阳*"),
        ("李四", "李*"),
        ("王小二三", "王**三"),
        (" 司马光 ", "司马*"),
        (None, None),
    ],
)
def test_mask_name_keeps_surname_and_last_character(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("mask", "value", "masked"),
    [
        (mask_phone, "13812345678", "138****5678"),
        (mask_id, "11010519491231002X", "110***********002X"),
        (mask_policy, "820081541907374", "***********7374"),
        (mask_policy, "123", "**3"),
        (mask_phone, None, None),
    ],
)
def test_masks_of_numbers(mask, value, masked):
    assert mask(value) == masked


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_masked_phone_keeps_length_and_shows_seven_digits_at_most(phone):
    masked = mask_phone(phone)
    assert len(masked) == len(phone)
    assert sum(c.isdigit() for c in masked) == 7
    assert find_pii(masked, pd.DataFrame({"holder_mobile": [phone]})) == []


@given(st.from_regex(r"\A[1-9]\d{16}[0-9X]\Z"))
def test_masked_id_shows_no_birth_date(id_number):
    masked = mask_id(id_number)
    assert masked[:3] == id_number[:3] and masked[-4:] == id_number[-4:]
    assert set(masked[3:-4]) == {"*"}


def test_mask_frame_masks_pii_columns_only_and_leaves_input_alone():
    before = PEOPLE.copy()
    masked = mask_frame(PEOPLE)
    pd.testing.assert_frame_equal(PEOPLE, before)
    assert masked["holder_name"].tolist() == ["欧阳*锋", "高*"]
    assert masked["holder_mobile"].tolist() == ["138****5678", "183****5508"]
    assert masked["premium"].tolist() == PEOPLE["premium"].tolist()
    assert all((masked[c] != PEOPLE[c]).all() for c in PII_COLUMNS)


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        ("<td>欧阳建锋</td>", ["holder_name"]),
        ("<p>客户欧阳建锋已来电</p>", ["holder_name"]),  # a long name inside a sentence
        ("<td>高峰</td>", ["holder_name"]),
        ("联系电话：13812345678。", ["holder_mobile"]),
        ("证件 11010519491231002x", ["holder_id"]),  # case does not hide an ID
        ("保单 P2008000123 已满期；再次 P2008000123", ["policy_no"]),
        ("<td>欧阳*锋</td><td>138****5678</td><td>***********7374</td>", []),
        ("<p>高峰期每天拨打 20 个电话</p>", []),  # a two-character name inside a word
        ("<td>138123456789</td>", []),  # a longer number is not the phone
    ],
)
def test_find_pii(text, columns):
    assert [f.column for f in find_pii(text, PEOPLE)] == columns


def test_find_pii_reports_masked_values_only():
    found = find_pii("<td>欧阳建锋</td><td>13812345678</td>", PEOPLE)
    assert [f.masked for f in found] == ["欧阳*锋", "138****5678"]


def test_find_pii_ignores_embedded_images():
    # Base64 may happen to hold a phone number between two "+" (token boundaries).
    image = '<img src="data:image/png;base64,iVBORw0KGgo+13812345678+AAAA==">'
    assert find_pii(image, PEOPLE) == []
    assert [f.column for f in find_pii(image + "<span>13812345678</span>", PEOPLE)] == [
        "holder_mobile"
    ]


def test_index_takes_the_columns_there_are_and_skips_blanks():
    people = pd.DataFrame({"holder_name": ["张三明", None, "", "李"], "premium": [1.0] * 4})
    index = PiiIndex(people)
    assert [f.masked for f in index.find("<td>张三明</td><td>李</td><td>13812345678</td>")] == [
        "张*明"
    ]


def test_redact_masks_every_value_in_a_message():
    index = PiiIndex(PEOPLE)
    message = "KeyError: '欧阳建锋' (13812345678, 保单 P2008000123)"
    assert index.redact(message) == "KeyError: '欧阳*锋' (138****5678, 保单 *******0123)"


def test_rejects_and_reports_mask_by_the_same_rule():
    values = {
        "holder_name": ["欧阳锋", "欧阳建锋", "李四", "张"],
        "holder_id": ["11010519491231002X", "1234"],
        "holder_mobile": ["13812345678", "12"],
        "policy_no": ["P2008000123", "P1"],
    }
    people = pd.DataFrame({c: pd.Series(v) for c, v in values.items()})
    masked = mask_frame(people)
    for column, column_values in values.items():
        for i, value in enumerate(column_values):
            assert mask_value(column, value) == masked.at[i, column]
    assert mask_value("holder_name", "欧阳锋") == "欧阳*"  # the whole compound surname kept
    assert mask_value("premium", "5万") == "5万"
