# pdf: the PDF layout layer over libharu (headings, paragraphs, KPI tiles, tables, images).
bb_module(pdf SOURCES src/render/pdf.c DEPS bb_util hpdf::hpdf z m)
bb_test(pdf SOURCES tests/test_pdf.c DEPS bb_pdf PkgConfig::CJSON z)
