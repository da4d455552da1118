# ingest: streaming CSV, typed fields, the dataset, strict loading with quarantine.
bb_module(ingest
  SOURCES src/ingest/csv.c src/ingest/field.c src/ingest/dataset.c src/ingest/ingest.c
  DEPS bb_util csv::csv PkgConfig::CJSON)
bb_test(csv SOURCES tests/test_csv.c DEPS bb_ingest PkgConfig::CJSON SHARED)
bb_test(ingest SOURCES tests/test_ingest.c DEPS bb_ingest SHARED)
