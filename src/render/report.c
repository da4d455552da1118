#include "render/report.h"

#include "render/chart.h"
#include "render/pdf.h"
#include "render/templates.h"
#include "render/xlsx.h"
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
