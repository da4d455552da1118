/*
 * templates.h - the files of templates/, built into the binary.
 *
 * bb_templates[] ends with a {NULL, NULL, 0} entry. A configured template
 * directory overrides these at run time (see report.h).
 */
#ifndef BB_TEMPLATES_H
#define BB_TEMPLATES_H

#include <stddef.h>

typedef struct bb_template_file {
    const char *name;
    const char *data;   /* NUL-terminated */
    size_t len;
} bb_template_file;

extern const bb_template_file bb_templates[];

#endif
