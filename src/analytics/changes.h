/*
 * changes.h - what changed since the previous run.
 *
 * The previous run is the one out/latest pointed at when this run started.
 * Its manifest.json records, under "sales", the KPI values of its period and
 * its top items (see bb_changes_manifest()); this run's figures are compared
 * with them. Segment migrations come from the segmentation stage (it reads the
 * previous run's assignments itself).
 *
 *     bb_changes *ch;
 *     e = bb_changes_compute("out/runs/2023-12-24_ab12cd34ef", ds, sales, log, &ch);
 *     if (ch->has_previous) ...   (false: no previous run, or one without figures)
 */
#ifndef BB_CHANGES_H
#define BB_CHANGES_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "analytics/sales.h"
#include "ingest/dataset.h"
#include "util/err.h"
#include "util/log.h"

typedef struct bb_change_kpi {
    char id[32];
    char name[64];
    bb_sales_unit unit;
    bool has_prev, has_cur;
    double prev, cur;            /* cents, counts or ratios */
} bb_change_kpi;

typedef struct bb_change_item {
    char id[128];
    char name[128];              /* "" when the item is no longer in the catalogue */
} bb_change_item;

typedef struct bb_changes {
    bool has_previous;
    char prev_run_id[16];
    char prev_as_of[11];
    char prev_period[48], cur_period[48];
    bool same_period;            /* both runs report on the same KPI period */
    bb_change_kpi kpi[BB_KPI__COUNT];
    size_t n_kpi;
    bool by_revenue;             /* top lists ranked by revenue (else by units) */
    bb_change_item *entered, *left;   /* items new to / gone from the top list */
    size_t n_entered, n_left;
} bb_changes;

/* prev_run_dir NULL or without a usable manifest: has_previous = false. */
bb_err bb_changes_compute(const char *prev_run_dir, const bb_dataset *ds, const bb_sales *sales,
                          bb_log *log, bb_changes **out);
void bb_changes_free(bb_changes *c);

/* What the next run compares with: adds "sales": {"period", "ranked_by",
 * "kpis": [{"id", "name", "unit", "value"}], "top_items": [ItemID...]}. */
bb_err bb_changes_manifest(const bb_sales *sales, const bb_dataset *ds, cJSON *manifest);
/* A stable id of a KPI ("revenue", "visits", ...). */
const char *bb_changes_kpi_id(bb_sales_kpi_id k);

#endif
