# analytics: sales figures computed once from the dataset.
bb_module(analytics SOURCES src/analytics/summary.c DEPS bb_ingest bb_util)
bb_test(analytics SOURCES tests/test_analytics.c DEPS bb_analytics)
