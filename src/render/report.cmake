# report: the report model laid out as charts, PDF, workbook and HTML.
# templates/ is compiled into the binary (cmake/embed.cmake).
file(GLOB BB_TEMPLATE_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/templates/*)
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/generated/templates.c
  COMMAND ${CMAKE_COMMAND} -DTEMPLATE_DIR=${CMAKE_SOURCE_DIR}/templates
          -DOUTPUT=${CMAKE_BINARY_DIR}/generated/templates.c -P ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
  DEPENDS ${BB_TEMPLATE_FILES} ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
  COMMENT "Embedding templates/")
bb_module(report
  SOURCES src/render/report.c src/render/report_html.c src/render/report_pdf.c
          src/render/report_xlsx.c src/render/report_charts.c src/render/section_sales.c
          src/render/section_changes.c src/render/section_segments.c src/render/section_recs.c
          src/render/customer_sheet.c
          ${CMAKE_BINARY_DIR}/generated/templates.c
  DEPS bb_recommend bb_segment bb_analytics bb_ingest bb_template bb_chart bb_pdf bb_xlsx bb_util PkgConfig::CJSON)
