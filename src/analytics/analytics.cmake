# analytics: the data summary and the sales figures, computed once from the dataset.
bb_module(analytics SOURCES src/analytics/summary.c src/analytics/sales.c src/analytics/changes.c
  DEPS bb_ingest bb_util PkgConfig::CJSON m)
bb_test(analytics SOURCES tests/test_analytics.c DEPS bb_analytics)
# test_sales also drives the sales section renderer, which lives in bb_report.
bb_test(sales SOURCES tests/test_sales.c
  DEPS bb_report bb_analytics bb_ingest bb_template bb_util PkgConfig::CJSON m SHARED)
