"""Reference data shared by every family's sample months: products, customers, constants."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MONTHS = ("2026-09", "2026-10")
SEED = 20261001
CATEGORIES = {"茶叶": 1.0, "坚果": 0.5, "果干": 0.4, "礼盒": 2.5}
AGENTS = ["小王", "小李", "小陈", "小赵"]
MANAGERS = {"sign_ecommerce": "周敏", "sign_marketing": "吴强", "sign_salesops": "郑丽"}
H, M = pd.Timedelta(hours=1), pd.Timedelta(minutes=1)
D = pd.Timedelta(days=1)


# --------------------------------------------------------------------------- reference data


def products(n_skus: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    cats = list(CATEGORIES)
    cat = np.array(cats)[np.arange(n_skus) % len(cats)]
    base = np.array([CATEGORIES[c] for c in cat])
    retail = (np.round(rng.uniform(40, 160, n_skus) * base / 2) * 2).astype(float)
    sku = "SKU" + pd.Series(np.arange(1, n_skus + 1)).astype("str").str.zfill(4)
    names = pd.Series(cat) + "-" + pd.Series(np.arange(1, n_skus + 1)).astype("str")
    return pd.DataFrame(
        {
            "sku": sku,
            "name": names,
            "category": cat,
            "retail_price": retail,
            "cost_price": np.round(retail * rng.uniform(0.45, 0.6, n_skus), 2),
        }
    )


def customers(n: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(SEED + 1)
    ids = "C" + pd.Series(np.arange(1, n + 1)).astype("str").str.zfill(4)
    channel = np.where(np.arange(n) % 3 == 0, "distributor", "wechat")
    registered = pd.Timestamp("2025-03-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    account = (
        "6222 0210 "
        + pd.Series(rng.integers(1000, 9999, n)).astype("str")
        + " "
        + pd.Series(rng.integers(1000, 9999, n)).astype("str")
    )
    surnames = np.array(list("张王李赵刘陈杨黄吴周"))
    names = pd.Series(surnames[np.arange(n) % 10]) + np.where(channel == "distributor", "记商行", "女士")
    frame = pd.DataFrame(
        {
            "customer_id": ids,
            "name": names,
            "channel": channel,
            "registered_at": registered,
            "pay_account": account,
            "price_tier": np.where(channel == "distributor", "经销价", "会员价"),
        }
    )
    late = pd.DataFrame(
        [
            {  # registers only after its first October order: ORD-006
                "customer_id": "C0901",
                "name": "迟建档商行",
                "channel": "distributor",
                "registered_at": pd.Timestamp("2026-10-20 09:00"),
                "pay_account": "6222 0210 9010 9010",
                "price_tier": "经销价",
            }
        ]
    )
    return pd.concat([frame, late], ignore_index=True)


@dataclass
class Month:
    """The canonical frames of one month, before they are dressed up as exports."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)


def _ids(prefix: str, n: int, width: int = 5) -> pd.Series:
    return prefix + pd.Series(np.arange(1, n + 1)).astype("str").str.zfill(width)
