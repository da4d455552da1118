# chart: every chart (PNG for PDF/xlsx, SVG for HTML), drawn by PLplot in a
# forked child process so PLplot can neither prompt nor exit() the program.
bb_module(chart SOURCES src/render/chart.c DEPS bb_util PkgConfig::PLPLOT m)
bb_test(chart SOURCES tests/test_chart.c DEPS bb_chart)
