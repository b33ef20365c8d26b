"""ORD-001..ORD-010 at their boundaries: equal to the limit complies, a minute over breaches,
an unrecorded event is pending until `as_of` is past the limit, other months are left out."""

import pandas as pd
import pytest
from helpers import audit, keys, notices, summary_row, write


def order(order_id, created="2026-10-05 10:00", channel="tmall", **kw):
    t = pd.Timestamp(created)
    row = dict(
        order_id=order_id,
        channel=channel,
        customer_id="tb_1",
        created_at=t,
        paid_at=t + pd.Timedelta(minutes=5),
        accepted_at=t,
        contacted_at=t + pd.Timedelta(minutes=5),
        confirmed_at=t,
        handed_off_at=t + pd.Timedelta(hours=1),
        shipped_at=t + pd.Timedelta(hours=2),
        amount=100,
    )
    row.update(kw)
    return row


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "2026-10"


@pytest.mark.parametrize(
    ("rule", "column", "start", "limit"),
    [
        ("ORD-001", "contacted_at", "accepted_at", pd.Timedelta(minutes=10)),
        ("ORD-002", "handed_off_at", "confirmed_at", pd.Timedelta(hours=24)),
        ("ORD-003", "shipped_at", "paid_at", pd.Timedelta(hours=24)),
    ],
)
def test_ord_001_002_003_duration_boundaries(folder, rule, column, start, limit):
    t = pd.Timestamp("2026-10-05 10:00")
    base = {start: t}
    orders = [
        order("exact", **base, **{column: t + limit}),
        order("minute-over", **base, **{column: t + limit + pd.Timedelta(minutes=1)}),
        order("never", **base, **{column: None}),
        order("pending", created="2026-10-31 23:58", **{start: pd.Timestamp("2026-10-31 23:58"), column: None}),
        order("september", created="2026-09-30 10:00", **{start: pd.Timestamp("2026-09-30 10:00"), column: None}),
    ]
    found = audit(write(folder, orders=orders), rules=rule)
    assert keys(found, rule) == {"minute-over", "never"}
    over = found.set_index("key").loc["minute-over"]
    assert over["observed"] == pytest.approx(
        limit / pd.Timedelta(1, {"ORD-001": "min"}.get(rule, "h")) + (1 if rule == "ORD-001" else 1 / 60)
    )
    assert summary_row(found, rule)["pending"] == 1


def test_ord_003_unrecorded_event_breaches_once_as_of_is_past_the_limit(folder):
    t = pd.Timestamp("2026-10-31 12:00")
    write(folder, orders=[order("late-paid", created=str(t), paid_at=t, shipped_at=None)])
    assert keys(audit(folder, rules="ORD-003", as_of="2026-11-01 12:00"), "ORD-003") == set()
    assert keys(audit(folder, rules="ORD-003", as_of="2026-11-01 12:01"), "ORD-003") == {"late-paid"}


def test_ord_003_recorded_event_after_as_of_is_still_used(folder):
    t = pd.Timestamp("2026-10-31 12:00")
    write(folder, orders=[order("shipped-later", created=str(t), paid_at=t, shipped_at=t + pd.Timedelta(hours=30))])
    found = audit(folder, rules="ORD-003", as_of="2026-11-01 00:00")
    assert keys(found, "ORD-003") == {"shipped-later"}
    assert found["observed"].iloc[0] == 30


def test_ord_003_refunded_unshipped_order_is_exempt_from_shipping(folder):
    t = pd.Timestamp("2026-10-05 10:00")
    write(
        folder,
        orders=[
            order("refunded", paid_at=t, shipped_at=None, refunded_at=t + pd.Timedelta(hours=1)),
            order(
                "refunded-late-ship",
                paid_at=t,
                shipped_at=t + pd.Timedelta(hours=30),
                refunded_at=t + pd.Timedelta(hours=1),
            ),
        ],
    )
    assert keys(audit(folder, rules="ORD-003"), "ORD-003") == {"refunded-late-ship"}


def test_ord_003_channel_limit_from_policy(folder):
    t = pd.Timestamp("2026-10-05 10:00")
    ship = t + pd.Timedelta(hours=40)
    write(
        folder,
        orders=[
            order("wx", channel="wechat", paid_at=t, shipped_at=ship),
            order("tm", channel="tmall", paid_at=t, shipped_at=ship),
        ],
    )
    found = audit(folder, rules="ORD-003", policy={"rules": {"ORD-003": {"by_channel": {"wechat": 48}}}})
    assert keys(found, "ORD-003") == {"tm"}
    assert found["limit"].iloc[0] == 24


def test_ord_004_sign_offs_for_dealer_shipments(folder):
    signed = dict(sign_ecommerce="周", sign_marketing="吴", sign_salesops="郑")
    write(
        folder,
        orders=[
            order("three", channel="distributor", **signed),
            order("two", channel="distributor", **{**signed, "sign_salesops": None}),
            order("two-special", channel="distributor", special_case="是", **{**signed, "sign_salesops": None}),
            order("one-special", channel="distributor", special_case="Y", sign_ecommerce="周"),
            order("unshipped", channel="distributor", shipped_at=None),
            order("tmall-unsigned", channel="tmall"),
        ],
    )
    found = audit(folder, rules="ORD-004")
    assert keys(found, "ORD-004") == {"two", "one-special"}
    assert found.set_index("key").loc["one-special", "limit"] == 2


def test_ord_005_never_shipped_before_payment(folder):
    t = pd.Timestamp("2026-10-05 10:00")
    write(
        folder,
        orders=[
            order("same-moment", paid_at=t, shipped_at=t),
            order("before", paid_at=t + pd.Timedelta(hours=1), shipped_at=t),
            order("unpaid", paid_at=None, shipped_at=t),
            order("unshipped-unpaid", paid_at=None, shipped_at=None),
        ],
    )
    assert keys(audit(folder, rules="ORD-005"), "ORD-005") == {"before", "unpaid"}


def registered_folder(folder):
    customers = [
        dict(customer_id="C1", registered_at="2025-01-01", pay_account="6222 0001"),
        dict(customer_id="C2", registered_at="2026-10-05 10:00", pay_account="6222 0002"),
        dict(customer_id="C3", registered_at="2026-10-06", pay_account=None),
    ]
    orders = [
        order("ok", channel="distributor", customer_id="C1", pay_account="6222-0001"),
        order("same-moment", channel="wechat", customer_id="C2", pay_account="6222 0002"),
        order("late", channel="wechat", customer_id="C3"),
        order("unknown", channel="wechat", customer_id="C9"),
        order("blank", channel="distributor", customer_id=None),
        order("foreign", channel="distributor", customer_id="C1", pay_account="9999"),
        order("tmall-unknown", channel="tmall", customer_id="C9"),
    ]
    lines = [
        dict(order_id="unknown", sku="A", qty=2, unit_price=80),
        dict(order_id="unknown", sku="A", qty=1, unit_price=0, is_gift="Y"),
        dict(order_id="foreign", sku="A", qty=1, unit_price=100),
        dict(order_id="late", sku="B", qty=3, unit_price=45),
        dict(order_id="ok", sku="A", qty=1, unit_price=50),
    ]
    products = [dict(sku="A", retail_price=100), dict(sku="B", retail_price=50)]
    return write(folder, orders=orders, customers=customers, order_lines=lines, products=products)


def test_ord_006_007_008_registered_customers_accounts_and_retail_price(folder):
    found = audit(registered_folder(folder), rules="ORD-006,ORD-007,ORD-008")
    assert keys(found, "ORD-006") == {"late", "unknown", "blank"}
    assert keys(found, "ORD-007") == {"foreign"}
    assert keys(found, "ORD-008") == {"unknown", "late"}
    shortfall = found[found["rule_id"] == "ORD-008"].set_index("key")["amount"]
    assert shortfall.to_dict() == {"late": 15.0, "unknown": 40.0}


def test_ord_006_rules_needing_an_absent_dataset_are_skipped_with_a_notice(folder):
    write(folder, orders=[order("a")])
    found = audit(folder, rules="ORD-006")
    assert found.empty
    assert summary_row(found, "ORD-006")["status"] == "skipped: no customers"
    assert "ORD-006 skipped: no customers dataset" in notices(found)


def test_ord_009_impossible_timestamps(folder):
    t = pd.Timestamp("2026-10-05 10:00")
    write(
        folder,
        orders=[
            order("paid-early", paid_at=t - pd.Timedelta(minutes=1)),
            order("delivered-early", shipped_at=t + pd.Timedelta(hours=2), delivered_at=t + pd.Timedelta(hours=1)),
            order("ghost", shipped_at=None, delivered_at=t + pd.Timedelta(days=1)),
            order("fine", delivered_at=t + pd.Timedelta(days=1)),
        ],
    )
    found = audit(folder, rules="ORD-009", lang="en")
    assert keys(found, "ORD-009") == {"paid-early", "delivered-early", "ghost"}
    assert found.set_index("key").loc["ghost", "message"] == "delivered but never shipped"
    assert audit(folder, rules="ORD-009").set_index("key").loc["ghost", "message"] == "未发货却已签收"


def test_ord_010_changed_orders_use_the_first_occurrence(folder):
    write(
        folder,
        orders=[
            order("changed", amount=100, shipped_at="2026-10-05 12:00"),
            order("changed", amount=120, shipped_at="2026-10-07 12:00"),
            order("same-again", amount=50),
            order("same-again", amount=50, status="已发货"),
        ],
    )
    found = audit(folder, lang="en")
    assert keys(found) == {("ORD-010", "changed")}
    assert found["observed"].iloc[0] == 2
    assert "amount" in found["message"].iloc[0]
    assert any("later rows of repeated order_id values set aside" in n for n in notices(found))
