#include "render/report.h"

#include "render/chart.h"
#include "render/pdf.h"
#include "render/xlsx.h"

#include <stdio.h>
#include <string.h>

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
