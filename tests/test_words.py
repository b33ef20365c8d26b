"""The words guard: every message of every rule has a template in both languages, templates only use
what the rule measures, titles and labels state the limit in force, and numbers read at a glance."""

import pandas as pd
import pytest
from helpers import SAMPLES

import opskit
from opskit.locale import LANGS, catalogue
from opskit.policy import load_policy
from opskit.render import (
    PERSONAL_KINDS,
    duration_text,
    fields,
    money_text,
    number_text,
    render_messages,
    rule_text,
    time_text,
)
from opskit.rule import all_rules

POLICY = load_policy()
RULES = all_rules()


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_every_message_has_a_template_in_both_languages(rule_id):
    rp, rule = POLICY[rule_id], RULES[rule_id]
    assert rp.messages, f"{rule_id} has no message templates"
    used = set()
    for mid, texts in rp.messages.items():
        assert set(texts) == set(LANGS), f"{rule_id}.{mid} lacks a language"
        for lang in LANGS:
            names = set(fields(texts[lang]))
            assert names <= {"observed", "limit", *rule.params}, f"{rule_id}.{mid}.{lang} uses undeclared {names}"
            used |= names
    assert set(rule.params) <= used, f"{rule_id} declares parameters no template uses"
    for which in ("title", "label"):
        for lang in LANGS:
            assert "{" not in rule_text(rp, which, lang) and rule_text(rp, which, lang).strip()


@pytest.mark.parametrize("rule_id", sorted(RULES))
@pytest.mark.parametrize("lang", LANGS)
def test_every_template_renders_without_leftovers(rule_id, lang):
    rp, rule = POLICY[rule_id], RULES[rule_id]
    ids = pd.Series(list(rp.messages))
    from opskit.locale import codes

    sample = {
        n: next(iter(codes(k.removeprefix("codes:"), lang))) if k.startswith("codes:") else None
        for n, k in rule.params.items()
    }
    params = pd.DataFrame(sample, index=ids.index).assign(observed=5.0, limit=3.0)
    text = render_messages(rp, ids, params, rule.params, lang)
    assert text.str.len().gt(0).all() and not text.str.contains(r"[{}]").any()


@pytest.fixture(scope="module")
def october():
    return {lang: opskit.run_checks(SAMPLES, "2026-10", lang=lang) for lang in LANGS}


def test_samples_emit_only_declared_message_ids(october):
    found = october["zh"].findings
    for rule_id, mid in zip(found["rule_id"], found["message_id"], strict=True):
        assert mid in POLICY[rule_id].messages


def test_zh_messages_are_chinese_and_en_english(october):
    zh, en = october["zh"].findings, october["en"].findings
    assert zh["message"].str.contains(r"[\u4e00-\u9fff]").all()
    english_words = r"\b(?:after|before|limit|not|shipped|counted|recount|ledger|plan|order|customer|by as_of)\b"
    assert not zh["message"].str.contains(english_words).any(), zh.loc[zh["message"].str.contains(english_words)]
    assert zh["title"].str.contains(r"[\u4e00-\u9fff]").all() and en["title"].str.contains("[a-z]").all()
    pd.testing.assert_frame_equal(
        zh[["rule_id", "key", "observed", "limit"]], en[["rule_id", "key", "observed", "limit"]]
    )


def test_personal_parameters_are_masked_for_managers(october):
    result = october["zh"]
    personal = {r for r, rule in RULES.items() if set(rule.params.values()) & PERSONAL_KINDS}
    assert {"ORD-006", "ORD-007"} <= personal
    raw, masked = result.messages(), result.messages(mask=True)
    i = result.findings.index[result.findings["key"] == "ORD007-ACCOUNT-2610"][0]
    assert raw[i] == "从账户 6228 4800 1111 2222 付款，登记账户为 6222 0210 4251 4975"
    assert masked[i] == "从账户 6228 **** 2222 付款，登记账户为 6222 **** 4975"
    j = result.findings.index[result.findings["key"] == "ORD006-UNKNOWN-2610"][0]
    assert masked[j] == "客户 C**** 不在客户档案中"


def test_lang_defaults_to_the_policy(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("lang: en\n", encoding="utf-8")
    found = opskit.check(SAMPLES, month="2026-10", rules="ORD-003", policy=policy)
    assert found["message"].iloc[0] == "shipped 30 h after payment (limit 24 h)"
    assert (
        opskit.check(SAMPLES, month="2026-10", rules="ORD-003")["message"].iloc[0]
        == "付款后 30 小时 才发货（时限 24 小时）"
    )


def test_unknown_language_is_refused():
    with pytest.raises(opskit.OpskitError, match="language 'fr' is not available"):
        opskit.check(SAMPLES, month="2026-10", rules="ORD-003", lang="fr")


def test_ord003_titles_and_labels_follow_the_policy():
    policy = load_policy({"rules": {"ORD-003": {"limit": 36, "by_channel": {"wechat": 48}}}})
    rp = policy["ORD-003"]
    assert rule_text(rp, "title", "zh") == "付款后36小时内发货（微信48小时）"
    assert rule_text(rp, "label", "zh") == "36小时内发货率（微信48小时）"
    assert rule_text(rp, "title", "en") == "Shipped within 36 h of payment (WeChat 48 h)"
    business = load_policy({"rules": {"CS-001": {"clock": "business"}}})["CS-001"]
    assert rule_text(business, "title", "zh") == "咨询24小时内首次回复（按服务时间计）"


def _new_limit(rp):
    return {"min": 17, "h": 37, "days": 5, "day": 28, "count": 4}.get(rp.unit, 1)


@pytest.mark.parametrize("rule_id", sorted(r for r, rp in POLICY.rules.items() if rp.limit is not None))
def test_changing_a_limit_changes_every_title_and_label_that_states_it(rule_id):
    from opskit.render import limit_text

    rp = POLICY[rule_id]
    changed = load_policy({"rules": {rule_id: {"limit": _new_limit(rp)}}})[rule_id]
    for lang in LANGS:
        old, new = limit_text(rp, rp.limit, lang), limit_text(changed, changed.limit, lang)
        for which in ("title", "label"):
            before, after = rule_text(rp, which, lang), rule_text(changed, which, lang)
            if old in before:
                assert new in after and old not in after, (rule_id, which, lang, after)


def test_catalogue_labels_of_rules_follow_the_policy():
    from opskit.report.i18n import t

    policy = load_policy({"rules": {"ORD-003": {"limit": 36}, "CS-001": {"limit": 12}, "CS-002": {"limit": 72}}})
    assert t("on_time_shipping", "zh", policy) == "36小时内发货率"
    assert t("on_time_shipping", "zh") == "24小时内发货率"
    assert t("first_reply_within_limit", "en", policy) == "First reply within 12 h"
    assert t("after_sales_within_limit", "zh", policy) == "售后3天内处理率"


def test_both_catalogues_have_the_same_keys():
    zh, en = catalogue("zh"), catalogue("en")
    assert set(zh["labels"]) == set(en["labels"])
    for part in ("codes", "message_codes", "formats"):
        assert set(zh[part]) == set(en[part])
        for section, table in zh[part].items():
            if isinstance(table, dict):
                assert set(table) == set(en[part][section]), (part, section)


def test_numbers_read_at_a_glance():
    values = pd.Series([108.00000000000003, 1348.8000000000002, 9000000.0, None])
    assert money_text(values, "zh").tolist() == ["¥108.00", "¥1,348.80", "¥9,000,000.00", "—"]
    assert number_text(pd.Series([1234.56, 2.0, -0.01]), "en").tolist() == ["1,234.6", "2", "0"]
    minutes = pd.Series([11, 38278, 1441, 90])
    assert duration_text(minutes, "min", "zh").tolist() == ["11 分钟", "26.6 天", "24 小时 1 分钟", "1 小时 30 分钟"]
    assert duration_text(pd.Series([30.0, 637.9, 0.5]), "h", "en").tolist() == ["30 h", "26.6 days", "30 min"]
    assert duration_text(pd.Series([100.0]), "h", "zh", clock="business").tolist() == ["100 小时"]
    assert duration_text(pd.Series([2.0]), "days", "zh", compact=True).tolist() == ["2天"]
    stamps = pd.Series(pd.to_datetime(["2026-10-21 00:00", "2026-10-05 14:03"]))
    assert time_text(stamps, "zh").tolist() == ["2026-10-21", "2026-10-05 14:03"]


def test_a_user_policy_may_override_a_template():
    policy = {
        "rules": {"ORD-003": {"messages": {"late": {"zh": "发货慢了 {observed}"}}, "title": {"zh": "{limit}发货"}}}
    }
    found = opskit.check(SAMPLES, month="2026-10", rules="ORD-003", policy=policy)
    assert found.set_index("key").loc["ORD003-LATE-2610", "message"] == "发货慢了 30 小时"
    assert found["title"].iloc[0] == "24小时发货"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"messages": {"nope": {"zh": "x"}}}, "messages is a mapping of message id"),
        ({"messages": {"late": {"zh": "{secret}"}}}, "unknown fields ['secret']"),
        ({"messages": {"late": {"fr": "x"}}}, "messages.late is a mapping with zh and/or en"),
        ({"title": {"zh": "{amount}"}}, "unknown fields ['amount']"),
    ],
)
def test_bad_templates_are_refused(override, message):
    with pytest.raises(opskit.PolicyError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_policy({"rules": {"ORD-003": override}})


def test_loader_errors_are_bilingual_and_still_name_file_row_and_column(tmp_path):
    folder = tmp_path / "2026-10"
    folder.mkdir()
    (folder / "orders.csv").write_text("订单编号,渠道,下单时间\nA1,京东,2026-10-05 10:00\n", encoding="utf-8")
    with pytest.raises(opskit.DataError) as info:
        opskit.load(folder)
    text = str(info.value)
    assert text.startswith("orders.csv, row 2, column 渠道 (channel): cannot read '京东' as enum")
    assert text.endswith(" / 无法识别'京东'（应为天猫、微信、经销商、其他）")
    (folder / "orders.csv").write_text("订单编号,下单时间\nA1,2026-10-05 10:00\n", encoding="utf-8")
    with pytest.raises(opskit.DataError, match=r"^orders.csv: missing required column channel .* / 缺少必填列 渠道$"):
        opskit.load(folder)


def test_every_notice_says_itself_in_both_languages_with_the_same_fields():
    """A notice template in one language only would leave an English line in a Chinese report."""
    import re
    import string

    en, zh = catalogue("en")["notices"], catalogue("zh")["notices"]
    assert set(en) == set(zh)
    for notice_id in en:
        fields = {f for _, f, _, _ in string.Formatter().parse(en[notice_id]) if f}
        assert fields == {f for _, f, _, _ in string.Formatter().parse(zh[notice_id]) if f}, notice_id
        assert re.search(r"[\u4e00-\u9fff]", zh[notice_id]), notice_id


def test_the_samples_notices_read_chinese_in_a_chinese_report(october):
    from opskit.errors import Notice, say

    notices = list(october["zh"].notices)
    assert notices and all(isinstance(n, Notice) for n in notices)
    assert notices[0] == "orders.csv: 1 exact duplicate rows dropped (rows 288)"  # what warnings and logs carry
    assert say(notices[0], "zh") == "orders.csv：删除完全重复的行 1 行（第 288 行）"
    skipped = Notice("rule_skipped", rule="STK-008", datasets="finance_writeoffs, products")
    assert skipped == "STK-008 skipped: no finance_writeoffs, products dataset"
    assert say(skipped, "zh") == "STK-008 未检查：缺少 财务核销、商品"
    assert say(skipped, "en") == "STK-008 skipped: no finance write-offs; products dataset"
