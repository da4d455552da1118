/*
 * chart.h - every chart of bbreport, drawn with PLplot in one house style.
 *
 * A chart is a plain struct that points at the caller's data (nothing is
 * copied or kept); bb_chart_render() draws a batch of them to PNG (pngcairo,
 * for the PDF and the workbook) and/or SVG (PLplot's native svg device, real
 * <text> elements, for the HTML report).
 *
 * Isolation. PLplot may prompt on stdin, print to stdout/stderr or exit() the
 * process. So the calling process never touches PLplot: bb_chart_render()
 * forks one child per batch, the child renders every file of the batch to a
 * temporary name next to its final path ("<path>.tmp<pid>.<index>p") and _exit()s;
 * the parent collects the child's stderr through a pipe, checks the exit
 * status and every file (exists, non-empty, right signature), and only then
 * renames the files into place. When drawing fails no final file of the
 * batch is created or replaced, and the temporary files are removed (only a
 * failing rename can leave the batch half moved). Because it forks,
 * call it from the main thread while no other thread holds locks (stdio,
 * malloc are fine with glibc; a logger mutex held by another thread is not).
 *
 * Geometry. Sizes are in pixels of the PNG; the SVG uses the same numbers as
 * its viewBox (width/height attributes are set too, so CSS width:100% and
 * height:auto scale it). The default 1600 x 1000 is full A4 text width at
 * 254 dpi, so 1 px prints as 0.1 mm and text sizes are fixed in px: a smaller
 * chart keeps readable text and gets a smaller plot area.
 *
 * Data rules.
 *  - Strings are UTF-8; invalid bytes show as '?', control characters as
 *    spaces. PLplot's escape character '#' is handled here: pass text as is.
 *    Long labels are shortened with an ellipsis to fit.
 *  - NaN or infinite values are "missing": no bar, a gap in a line, an empty
 *    heatmap cell, a skipped point.
 *  - A chart with nothing to show (no categories or points, or only zeros
 *    and missing values in bars/hbars/lines) still renders: axes, title and
 *    the words "No data".
 *  - BB_AXIS_PERCENT values are ratios (0.25 is drawn as "25 %"), like
 *    bb_fmt_pct(). BB_AXIS_MONEY values are in currency units (12.5, not
 *    cents); the currency belongs in the axis label ("Revenue (EUR)").
 *  - Output is deterministic: the same charts give byte-identical files.
 *
 * Example: this year against last year, per month.
 *
 *     static const char *const months[] = {"Jan", "Feb", "Mar"};
 *     double now[] = {1200.0, 1350.5, 990.0}, before[] = {1100.0, 1400.0, 1010.0};
 *     bb_chart_series s[] = {{.name = "2024", .values = now, .n = 3},
 *                            {.name = "2023", .values = before, .n = 3}};
 *     bb_chart c = {.kind = BB_CHART_BARS, .title = "Revenue per month",
 *                   .x_label = "Month", .y_label = "Revenue (EUR)",
 *                   .categories = months, .n_categories = 3,
 *                   .series = s, .n_series = 2, .value_format = BB_AXIS_MONEY,
 *                   .png_path = "out/revenue.png", .svg_path = "out/revenue.svg"};
 *     char err[512];
 *     if (bb_chart_render(&c, 1, err, sizeof err) != BB_OK)
 *         bb_error(log, "charts: %s", err);
 */
#ifndef BB_CHART_H
#define BB_CHART_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define BB_CHART_DEFAULT_WIDTH 1600
#define BB_CHART_DEFAULT_HEIGHT 1000
/* Accepted range for width_px and height_px. */
#define BB_CHART_MIN_SIZE 320
#define BB_CHART_MAX_SIZE 8000
/* Most charts in one call (the child's progress is tracked per chart). */
#define BB_CHART_MAX_BATCH 10000

typedef enum bb_chart_kind {
    BB_CHART_BARS,    /* vertical bars per category; several series side by side */
    BB_CHART_HBARS,   /* horizontal bars, first category on top, labels on the left */
    BB_CHART_LINES,   /* one line per series over the categories (time axis) */
    BB_CHART_HEATMAP, /* rows x cols matrix with labels and a colour bar */
    BB_CHART_SCATTER, /* points coloured by group, optional larger markers */
} bb_chart_kind;

typedef enum bb_axis_format {
    BB_AXIS_NUMBER,  /* 1,234.5 */
    BB_AXIS_MONEY,   /* 1,234 (2 decimals when the tick step is below 1) */
    BB_AXIS_PERCENT, /* ratio 0.125 shown as 12.5 % */
} bb_axis_format;

/* One series of bars or one line. values[i] belongs to categories[i]; n may be
 * smaller than the chart's n_categories (the rest is missing), never larger. */
typedef struct bb_chart_series {
    const char *name; /* legend text; the legend appears when two or more series are named */
    const double *values;
    size_t n;
    bool dashed; /* lines only: dashed stroke (a moving average, a baseline) */
} bb_chart_series;

typedef struct bb_chart {
    bb_chart_kind kind;
    const char *title;   /* drawn bold on top; NULL: none */
    const char *x_label; /* title of the horizontal axis, with its unit; NULL: none */
    const char *y_label; /* title of the vertical axis, with its unit; NULL: none */

    /* bars, hbars, lines. categories may be NULL: labels are then 1..n
     * (epochs). Each label is shortened to fit; with many categories labels
     * are rotated and/or thinned (every k-th shown). */
    const char *const *categories;
    size_t n_categories;
    const bb_chart_series *series;
    size_t n_series;
    /* Format of the values: the vertical axis of bars, lines and scatter, the
     * horizontal axis of hbars, the cells and colour bar of a heatmap. */
    bb_axis_format value_format;
    bool show_values; /* bars, hbars: print each value at the end of its bar (when it fits) */
    bool y_tight;     /* lines: fit the value axis to the data instead of including zero */

    /* heatmap: matrix[r * cols + c], row 0 on top; NaN = empty cell. Labels
     * may be NULL (no labels). The colour scale spans [z_min, z_max]; when
     * both are 0 it spans the data. Cells show their value when they are
     * large enough. */
    const double *matrix;
    size_t rows, cols;
    const char *const *row_labels;
    const char *const *col_labels;
    double z_min, z_max;

    /* scatter: n_points points (x[i], y[i]) of group group[i] in
     * [0, n_groups) (group NULL: all in group 0). group_names (n_groups
     * entries, may be NULL) make the legend. Markers (cluster centres) are
     * drawn larger with a dark outline; marker i takes the colour of group i.
     * marker_name, when set, adds the markers to the legend. */
    const double *x, *y;
    const int *group;
    size_t n_points;
    const char *const *group_names;
    size_t n_groups;
    const double *marker_x, *marker_y;
    size_t n_markers;
    const char *marker_name;
    bb_axis_format x_format; /* scatter: horizontal axis */

    int width_px, height_px; /* 0: BB_CHART_DEFAULT_WIDTH x BB_CHART_DEFAULT_HEIGHT */
    const char *png_path;    /* either may be NULL, not both */
    const char *svg_path;
} bb_chart;

/*
 * Renders charts[0..n) in one isolated child process and moves the files into
 * place. Returns BB_OK, or:
 *   BB_ERR_INTERNAL  a chart is malformed (NULL data with a non-zero count, a
 *                    group out of range, ...) or the renderer failed or crashed;
 *   BB_ERR_CANTCREAT an output file cannot be created (missing directory,
 *                    no permission); checked before anything is drawn;
 *   BB_ERR_IO        the files were drawn but could not be renamed into place;
 *   BB_ERR_NOMEM     out of memory.
 * err (errsize bytes, may be NULL/0) receives a one-line message naming the
 * chart (index and title) and the cause, with what PLplot printed. On success
 * it holds any warnings PLplot printed, or "" when there were none.
 * n == 0 is BB_OK and does nothing. With two or more cores a batch of four
 * or more is drawn as two halves at once (the first half by a forked helper
 * process); when one half fails, the other half's files may be in place.
 */
bb_err bb_chart_render(const bb_chart *charts, size_t n, char *err, size_t errsize);

/* "PLplot 5.15.0", for the manifest. */
const char *bb_chart_library_version(void);

#endif
