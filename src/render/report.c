#include "render/report.h"

#include "render/chart.h"
#include "render/pdf.h"
#include "render/templates.h"
#include "render/xlsx.h"
#include "util/buf.h"
#include "util/fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bb_report_chart *bb_report_add_chart(bb_report *r, const char *name, const char *title,
                                     char *png_path, char *svg_path, size_t path_size)
{
    if (r->n_charts == BB_REPORT_MAX_CHARTS || bb_report_find_chart(r, name))
        return NULL;
    bb_report_chart *c = &r->charts[r->n_charts++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->title, sizeof c->title, "%s", title);
    snprintf(c->png, sizeof c->png, "charts/%s.png", name);
    snprintf(c->svg, sizeof c->svg, "charts/%s.svg", name);
    if (png_path)
        snprintf(png_path, path_size, "%s/%s", r->run_dir, c->png);
    if (svg_path)
        snprintf(svg_path, path_size, "%s/%s", r->run_dir, c->svg);
    return c;
}

bb_err bb_report_template(const bb_report *r, const char *name, char **text, bb_log *log)
{
    *text = NULL;
    if (r->templates_dir && r->templates_dir[0]) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", r->templates_dir, name);
        size_t len;
        bb_err e = bb_fs_read_file(path, (size_t)4 << 20, text, &len);
        if (e != BB_OK)
            bb_error(log, "cannot read template %s", path);
        return e == BB_ERR_NOINPUT ? BB_ERR_CONFIG : e;
    }
    for (const bb_template_file *t = bb_templates; t->name; t++) {
        if (strcmp(t->name, name) == 0) {
            *text = strdup(t->data);
            return *text ? BB_OK : BB_ERR_NOMEM;
        }
    }
    bb_error(log, "no built-in template %s", name);
    return BB_ERR_INTERNAL;
}

bool bb_report_has_template(const bb_report *r, const char *name)
{
    if (r->templates_dir && r->templates_dir[0]) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", r->templates_dir, name);
        return bb_fs_exists(path);
    }
    for (const bb_template_file *t = bb_templates; t->name; t++)
        if (strcmp(t->name, name) == 0)
            return true;
    return false;
}

/* PLplot numbers its clip paths from 0 in every file ("text-clipping0"):
 * inlined as they are, a second chart would clip its text with the first
 * chart's paths and lose it. */
char *bb_report_inline_svg(const bb_report *r, const char *name)
{
    const bb_report_chart *ch = bb_report_find_chart(r, name);
    if (!ch || !ch->svg[0])
        return NULL;
    char path[2600], *data;
    size_t len;
    snprintf(path, sizeof path, "%s/%s", r->run_dir, ch->svg);
    if (bb_fs_read_file(path, (size_t)16 << 20, &data, &len) != BB_OK)
        return NULL;
    const char *svg = strstr(data, "<svg");
    if (!svg) {
        free(data);
        return NULL;
    }
    static const char *const marks[] = {"id=\"", "url(#", "href=\"#"};
    bb_buf b;
    bb_buf_init(&b, (size_t)32 << 20);
    bb_err e = BB_OK;
    const char *p = svg;
    while (*p && e == BB_OK) {
        const char *next = NULL;
        size_t mlen = 0, which = 0;
        for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
            const char *q = strstr(p, marks[i]);
            if (q && (!next || q < next)) {
                next = q;
                mlen = strlen(marks[i]);
                which = i;
            }
        }
        if (!next) {
            e = bb_buf_puts(&b, p);
            break;
        }
        /* "id=" only as a whole attribute name, not the end of "grid=". */
        bool whole = which != 0 || (next > svg && (next[-1] == ' ' || next[-1] == '\n' || next[-1] == '\t'));
        e = bb_buf_append(&b, p, (size_t)(next - p) + mlen);
        if (e == BB_OK && whole)
            e = bb_buf_printf(&b, "%s-", name);
        p = next + mlen;
    }
    free(data);
    char *out = e == BB_OK ? bb_buf_detach(&b) : NULL;
    bb_buf_free(&b);
    return out;
}

const bb_report_chart *bb_report_find_chart(const bb_report *r, const char *name)
{
    for (size_t i = 0; i < r->n_charts; i++)
        if (strcmp(r->charts[i].name, name) == 0)
            return &r->charts[i];
    return NULL;
}

void bb_report_heading(const bb_report *r, char *out, size_t size)
{
    if (r->business_name && r->business_name[0])
        snprintf(out, size, "%s: %s", r->title, r->business_name);
    else
        snprintf(out, size, "%s", r->title);
}

cJSON *bb_report_library_versions(void)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char cjson[32];
    snprintf(cjson, sizeof cjson, "cJSON %s", cJSON_Version());
    cJSON_AddStringToObject(o, "charts", bb_chart_library_version());
    cJSON_AddStringToObject(o, "pdf", bb_pdf_library_version());
    cJSON_AddStringToObject(o, "workbook", bb_xlsx_library_version());
    cJSON_AddStringToObject(o, "json", cjson);
    return o;
}
