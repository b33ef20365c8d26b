"""The review notebooks are thin and alike; they are written from one template so they stay so.

`python -m opskit.report.notebooks` rewrites `notebooks/*.ipynb` (without outputs except the
cells nbval checks, which are filled by running them once).
"""

from __future__ import annotations

from pathlib import Path

REVIEWS = {
    "order_sla_audit": (
        "opskit.report.order_sla",
        "OrderSlaReview",
        "订单时效审计 · Order SLA audit",
        "本月订单是否按制度及时联系、跟踪、发货，经销商发货是否三方签字，客户是否建档并从登记账户付款。\n\n"
        "Were this month's orders contacted, tracked and shipped on time, dealer shipments signed off, "
        "customers registered and paying from their registered accounts?",
    ),
    "service_stats": (
        "opskit.report.service",
        "ServiceReview",
        "客服统计 · Customer-service stats",
        "咨询与投诉是否24小时内回复、售后48小时内处理并反馈、投诉48小时内反馈、逐条分类，在线客服是否使用规范用语；"
        "以及咨询量、回复时长（日历与工作时间）、积压、服务时间外咨询、重复咨询和周趋势。\n\n"
        "Were inquiries answered within 24 h, after-sales done and fed back within 48 h, complaints fed back within "
        "48 h, every ticket classified and the chat script followed? With volumes, reply times on both clocks, "
        "backlog, out-of-hours and repeat contacts, and the weekly trend.",
    ),
    "stocktake_variance": (
        "opskit.report.stocktake",
        "StocktakeReview",
        "盘点差异分析 · Stock-take variance",
        "每月30日是否两人以上盘点，实盘与电商台帐表是否相符，差异是否及时复盘，短缺按零售价赔偿；"
        "台帐是否每日填写、结转相符，进货与财务核销是否一致；以及库存记录准确率、差异金额、可售天数和滞销品。\n\n"
        "Was stock counted on the 30th by two people, did the count match the ledger, were variances recounted "
        "in time and shortages charged at retail, is the ledger complete and rolling forward, do purchases match "
        "finance? With record accuracy, variance value, days of cover and slow movers.",
    ),
    "promotion_review": (
        "opskit.report.promotions",
        "PromotionReview",
        "促销活动复盘 · Promotion review",
        "活动方案是否提前两周提交并经经理审批、销管部与市场部确认、内容完整，结束后是否按时提交总结，赠品出库与财务核销是否一致，"
        "费用是否在预算内、销售额是否达标；以及活动提升、增量、投资回报、活动后回落和对同类商品的影响。\n\n"
        "Were plans submitted two weeks ahead, approved, confirmed and complete, reviews submitted, gifts written off, "
        "costs within budget and targets met? With uplift, incremental revenue, ROI, the dip after, and the effect "
        "on other SKUs of the category.",
    ),
}
NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"


def review_class(name: str):
    """The Review subclass behind notebook `name`."""
    import importlib

    module, cls = REVIEWS[name][:2]
    return getattr(importlib.import_module(module), cls)


PARAMETERS = """\
import os

data_root = os.environ.get("OPSKIT_DATA_ROOT", "../data_samples")  # a root of YYYY-MM/ folders, or one month
month = None  # e.g. "2026-10"; None: the latest month under data_root
as_of = None  # e.g. "2026-11-01 00:00"; None: the first instant of the next month
policy = None  # a policy YAML overriding the defaults
lang = "zh"  # "zh" or "en"
interactive = True  # widgets (JupyterLab, Voila); False: the static report of the batch
output_dir = None  # where the batch collects headline figures"""


def notebook(name: str):
    import nbformat.v4 as nbf

    module, cls, title, about = REVIEWS[name]
    cells = [
        nbf.new_markdown_cell(f"# {title}\n\n{about}"),
        nbf.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        nbf.new_code_cell(
            "import opskit\n"
            f"from {module} import {cls}\n\n"
            f"review = {cls}.open(data_root, month, as_of=as_of, policy=policy, lang=lang, strict=not interactive)\n"
            "data, findings = review.data, review.findings  # to explore: data['orders'], opskit.summary(findings)"
        ),
        nbf.new_code_cell("# NBVAL_CHECK_OUTPUT\nreview.rules_view()"),
        nbf.new_code_cell("kpis = review.save_kpis(output_dir)"),
        nbf.new_code_cell(
            "review.dashboard(data_root, as_of=as_of, policy=policy) if interactive else review.report()",
            metadata={"tags": ["nbval-ignore-output"]},
        ),
    ]
    for i, cell in enumerate(cells):
        cell.id = f"{name.replace('_', '-')}-{i}"  # stable ids: regenerating changes nothing
    nb = nbf.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def write_all(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """Write every review notebook, then fill the outputs of the cells nbval checks."""
    import nbformat
    from nbclient import NotebookClient

    written = []
    for name in REVIEWS:
        nb = notebook(name)
        NotebookClient(nb, resources={"metadata": {"path": str(folder)}}, timeout=300).execute()
        for cell in nb.cells:
            if cell.cell_type == "code":
                checked = cell.source.startswith("# NBVAL_CHECK_OUTPUT")
                if not checked:  # nbval compares the checked cells' stored outputs, which need a count
                    cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
        nb.metadata.pop("widgets", None)
        path = folder / f"{name}.ipynb"
        nbformat.write(nb, path)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all():
        print(f"wrote {path}")
