# xlsx: the report workbook (sheets, formats, filters, charts, links) over libxlsxwriter.
bb_module(xlsx SOURCES src/render/xlsx.c DEPS bb_util PkgConfig::XLSXWRITER)
bb_test(xlsx SOURCES tests/test_xlsx.c DEPS bb_xlsx)
