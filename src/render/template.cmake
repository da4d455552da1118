# template: Mustache templates (HTML report, e-mail bodies) rendered against cJSON data.
bb_module(template SOURCES src/render/template.c DEPS bb_util PkgConfig::CJSON)
bb_test(template SOURCES tests/test_template.c DEPS bb_template SHARED)
