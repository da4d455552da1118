# gen: the synthetic dataset writer behind `bbreport gen`.
bb_module(gen SOURCES src/gen/gen.c DEPS bb_util)
bb_test(gen SOURCES tests/test_gen.c DEPS bb_gen m)
