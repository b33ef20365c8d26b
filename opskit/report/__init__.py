"""Report helpers: safe files, Excel workbooks, charts, KPI records and dashboards."""
