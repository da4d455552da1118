# recommend: interactions (CSR, time split), the OpenBLAS autoencoder, the
# baselines (popularity, item-kNN, EASE through LAPACKE), evaluation, reasons,
# the model file. (`bbreport recommend` is src/pipeline/recommend_cmd.c; the
# section renderers and customer sheets belong to bb_report.)
find_package(Threads REQUIRED)
bb_module(recommend
  SOURCES src/recommend/interactions.c src/recommend/parallel.c src/recommend/autoencoder.c
          src/recommend/baselines.c src/recommend/evaluate.c src/recommend/reasons.c
          src/recommend/model.c src/recommend/model_file.c src/recommend/recommend.c
  DEPS bb_analytics bb_ingest bb_util PkgConfig::OPENBLAS PkgConfig::LAPACKE
       PkgConfig::CJSON Threads::Threads m)
# The numeric loops (sparse layer, softmax, Adam, EASE/kNN scoring) need the
# vectoriser, which -O2 of GCC 12 runs only for loops without an epilogue.
# No -ffast-math: results stay bit-for-bit what the C source says; without
# errno from libm and FP traps, sqrtf (Adam) and the conditional loops
# (ReLU masks, clamped exp) become vector instructions.
target_compile_options(bb_recommend PRIVATE $<$<NOT:$<CONFIG:Debug>>:-O3> -fno-math-errno -fno-trapping-math)

bb_test(autoencoder SOURCES tests/test_autoencoder.c DEPS bb_recommend)
bb_test(recommend SOURCES tests/test_recommend.c DEPS bb_pipeline bb_recommend bb_gen SHARED)
bb_test(recommend_render SOURCES tests/test_recommend_render.c DEPS bb_report bb_recommend bb_gen bb_ingest)

# Training speed against the machine's sgemm peak (scripts/bench.sh calls it).
add_executable(bb_ae_bench src/recommend/bench.c)
target_link_libraries(bb_ae_bench PRIVATE bb_report bb_recommend bb_analytics)
