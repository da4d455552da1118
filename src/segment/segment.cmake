# segment: behavioural features, k-means (OpenBLAS distances, Hartigan
# refinement, restarts over threads), quality scores over k, PCA, named
# segment profiles.
bb_module(segment
  SOURCES src/segment/parallel.c src/segment/kmeans.c src/segment/quality.c src/segment/pca.c
          src/segment/features.c src/segment/naming.c src/segment/segment.c
  DEPS bb_analytics bb_ingest bb_util PkgConfig::OPENBLAS PkgConfig::LAPACKE PkgConfig::CJSON
       Threads::Threads m)

# section_segments: the Customer segments section (charts, PDF, workbook,
# HTML). A library of its own, unless src/render/report.cmake lists
# section_segments.c among bb_report's sources (so that report_*.c can call
# it without a cycle between two libraries): then bb_report carries it.
set(BB_SECTION_SEGMENTS bb_section_segments)
if(TARGET bb_report)
  get_target_property(_bb_report_sources bb_report SOURCES)
  if(_bb_report_sources MATCHES "section_segments\\.c")
    set(BB_SECTION_SEGMENTS bb_report)
  endif()
endif()
if(BB_SECTION_SEGMENTS STREQUAL "bb_section_segments")
  bb_module(section_segments SOURCES src/render/section_segments.c
    DEPS bb_segment bb_report bb_chart bb_pdf bb_xlsx bb_template bb_util PkgConfig::CJSON m)
endif()

# Times k-means on a raw matrix (scripts/bench_kmeans.py compares it with
# scikit-learn's KMeans on the same file).
add_executable(bb_kmeans_bench src/segment/kmeans_bench.c)
target_link_libraries(bb_kmeans_bench PRIVATE bb_segment)

bb_test(segment SOURCES tests/test_segment.c DEPS bb_segment SHARED)
bb_test(segment_render SOURCES tests/test_segment_render.c DEPS ${BB_SECTION_SEGMENTS} bb_segment bb_analytics)
# Against scikit-learn (/usr/bin/python3 + python3-sklearn): skipped without them.
bb_test(segment_sklearn SOURCES tests/test_segment_sklearn.c DEPS bb_segment SHARED)
