# pipeline: settings, run directories, the order of stages.
bb_module(pipeline
  SOURCES src/pipeline/config.c src/pipeline/rundir.c src/pipeline/pipeline.c
          src/pipeline/recommend_cmd.c
  DEPS bb_report bb_mail bb_recommend bb_segment bb_analytics bb_ingest bb_gen bb_util PkgConfig::INIH PkgConfig::CJSON)
bb_test(config SOURCES tests/test_config.c DEPS bb_pipeline)
