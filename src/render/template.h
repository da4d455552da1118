/*
 * template.h - Mustache templates rendered against cJSON data.
 *
 * Implements the Mustache spec (interpolation, sections, inverted sections,
 * comments, partials, set delimiters; no lambdas, no template inheritance).
 * The HTML report and e-mail bodies come from our own template files; the data
 * comes from customer CSVs and is never parsed as template syntax: an
 * interpolated value goes to the output as text, whatever it contains.
 *
 * Rendering, in brief:
 *   {{name}}      the value HTML-escaped (& < > " ' become entities);
 *   {{{name}}}    and {{&name}} the value as it is;
 *   {{a.b.c}}     "a" is looked up through the context stack (innermost
 *                 first), then "b" and "c" only inside what was found;
 *   {{.}}         the innermost context itself;
 *   {{#name}}..{{/name}}  once per element of a non-empty array (each element
 *                 pushed on the context stack), once for any other truthy
 *                 value (pushed too), never for a falsey one;
 *   {{^name}}..{{/name}}  once when the value is falsey;
 *   {{>name}}     the partial of that name rendered in the current context
 *                 (a missing partial renders as nothing);
 *   {{!...}}      nothing; {{=<% %>=}} changes the delimiters.
 * Falsey (the spec's `!!data` rule): missing, null, false, 0, NaN, "" and [].
 * Everything else, including {}, is truthy.
 * Numbers print as integers when integral ("85", not "85.0"), otherwise in
 * the shortest form that reads back to the same double ("1.21", "0.1"),
 * always with a '.' whatever the C locale. true/false print as "true" and
 * "false"; null, objects and arrays print as nothing.
 *
 * A template is parsed once per call into a token list (a partial once per
 * call and indentation), so loops over thousands of rows do not re-scan it.
 * Nesting is capped at BB_TPL_MAX_DEPTH: sections inside one template, and
 * partials inside partials (a partial including itself without end is an
 * error, not a stack overflow).
 *
 * Usage:
 *
 *     cJSON *data = cJSON_Parse("{\"name\":\"Zo\\u00eb & Co\"}");
 *     bb_buf out;
 *     char err[256];
 *     bb_buf_init(&out, 0);
 *     bb_err e = bb_tpl_render("<h1>{{name}}</h1>", 17, data, NULL, &out,
 *                              err, sizeof err);
 *     // out.data == "<h1>Zoë &amp; Co</h1>"; on error err says where
 *     bb_buf_free(&out);
 *     cJSON_Delete(data);
 */
#ifndef BB_TEMPLATE_H
#define BB_TEMPLATE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "util/buf.h"
#include "util/err.h"

/* Deepest section nesting in one template, and deepest partial nesting. */
#define BB_TPL_MAX_DEPTH 64

/*
 * Renders tpl[0..len) with data (any cJSON value, the bottom of the context
 * stack; NULL for none) and appends the output to out.
 *
 * partials: a cJSON object mapping partial name -> template string, or NULL.
 * Partials are looked up when rendered, so an unused entry is never parsed.
 *
 * Returns BB_OK, or:
 *   BB_ERR_CONFIG    a template error (unclosed tag or section, mismatched
 *                    closing tag, bad delimiter, bad tag name, nesting deeper
 *                    than BB_TPL_MAX_DEPTH, a partial that is not a string);
 *   BB_ERR_NOMEM     out would grow past its cap, or an allocation failed;
 *   BB_ERR_INTERNAL  tpl or out is NULL.
 * On failure out is left as it was, and a message naming the partial (if
 * any), line and column (1-based, in characters) is written to err when err
 * is not NULL (truncated to errsize; "" on success).
 *
 * Nothing is kept between calls; the caller owns everything passed in.
 */
bb_err bb_tpl_render(const char *tpl, size_t len, const cJSON *data, const cJSON *partials,
                     bb_buf *out, char *err, size_t errsize);

#endif
