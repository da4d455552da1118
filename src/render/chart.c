/*
 * chart.c - charts drawn by PLplot in a child process.
 *
 * Two halves:
 *
 *  - The parent side (bb_chart_render and below) validates the charts,
 *    creates one temporary file per output next to its final path, forks,
 *    reads the child's stderr and progress pipes until both close (with a
 *    deadline), reaps the child, checks the files and renames them into
 *    place. It never calls PLplot.
 *
 *  - The child side (child_main and above) sets up PLplot and draws. It
 *    runs with stdin and stdout on /dev/null and stderr on a pipe, announces
 *    each chart on the progress pipe as "B <index>\n", and leaves with
 *    _exit(): no atexit handlers, no stdio flush of the parent's buffers, no
 *    LeakSanitizer report of PLplot's font caches. PLplot's exit and abort
 *    handlers also _exit(), so an error inside PLplot ends the child only.
 *
 * Drawing model. Every file is one PLplot page of w x h device units (one
 * unit is one PNG pixel and one SVG viewBox unit; PLplot maps 72 units to
 * the inch on both devices, hence PX_TO_MM). Layout is computed in those
 * pixels with y pointing up, and all marks are drawn in "page mode": the
 * viewport is the whole page and the window is 0..w x 0..h, so world
 * coordinates are pixels and a 45 degree direction is (1, 1). Only the
 * numeric tick labels go through plbox() (with plslabelfunc and our
 * locale-free formatting) in "plot mode", where the viewport is the plot area
 * and the window is the data range.
 *
 * Text width is estimated from DejaVu Sans advance widths (below), the font
 * pngcairo uses and the SVG asks for first, so labels are shortened and
 * spaced the same way for both devices without asking a device to measure.
 */
#include "render/chart.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <plplot.h>

#include "util/buf.h"
#include "util/fmt.h"
#include "util/fs.h"
#include "util/utf8.h"

/* ---------------------------------------------------------------------------
 * Style: sizes in pixels at 0.1 mm per pixel on paper.
 * ------------------------------------------------------------------------- */

#define PX_TO_MM (25.4 / 72.0)
/* PLplot sizes text by "character height"; the font's em is this much larger
 * (measured on pngcairo and svg: an em of 98-100 px for a height of 75 px). */
#define EM_PER_CHR 1.33
#define PI 3.14159265358979323846
#define SIN45 0.70710678118654752

#define PAD 28.0       /* blank border around everything */
#define EM_TITLE 42.0  /* 12 pt on paper */
#define EM_AXIS 32.0   /* axis titles, 9 pt */
#define EM_TICK 28.0   /* tick and category labels, legend, 8 pt */
#define EM_CELL 24.0   /* heatmap cell values at most */
#define EM_NODATA 40.0
#define GAP 14.0       /* between an axis and its labels */
#define LINE_W 4.0     /* data lines */
#define GRID_W 1.5
#define AXIS_W 2.0
#define ROT_LABEL_MAX 260.0 /* rotated category labels are cut at this width */
#define VALUE_ABS_MAX 1e15  /* larger magnitudes count as missing */

#define CHART_MAX_CATEGORIES 100000
#define CHART_MAX_SERIES 64
#define CHART_MAX_CELLS 1000000
#define CHART_MAX_POINTS 1000000

/* Colour map 0 layout. The palette is Okabe-Ito (colour-blind safe),
 * reordered so that the first colours are the most distinct on white. */
enum {
    COL_BG = 0,
    COL_TEXT,
    COL_MUTED,
    COL_GRID,
    COL_AXIS,
    COL_WHITE,
    COL_SCRATCH, /* heatmap cells and colour bar: set per rectangle */
    COL_PAL = 8,
    N_PAL = 8,
    COL_PAL_ALPHA = COL_PAL + N_PAL,
    COL_COUNT = COL_PAL_ALPHA + N_PAL,
};

static const unsigned char palette[N_PAL][3] = {
    {0x00, 0x72, 0xB2}, /* blue */
    {0xE6, 0x9F, 0x00}, /* orange */
    {0x00, 0x9E, 0x73}, /* bluish green */
    {0xD5, 0x5E, 0x00}, /* vermillion */
    {0xCC, 0x79, 0xA7}, /* reddish purple */
    {0x56, 0xB4, 0xE9}, /* sky blue */
    {0x99, 0x99, 0x99}, /* grey */
    {0xF0, 0xE4, 0x42}, /* yellow: last, weak on white */
};

/* Heatmap ramp: a single-hue blue scale (ColorBrewer "Blues" stops), readable
 * in grey print and by colour-blind readers. The lowest stop is not white so
 * that a 0 cell differs from an empty one. */
static const double ramp_stop[5] = {0.0, 0.25, 0.5, 0.75, 1.0};
static const unsigned char ramp_rgb[5][3] = {
    {0xEF, 0xF5, 0xFB}, {0xC6, 0xDB, 0xEF}, {0x6B, 0xAE, 0xD6}, {0x21, 0x71, 0xB5}, {0x08, 0x30, 0x6B},
};

/* ---------------------------------------------------------------------------
 * Text: cleaning, measuring, shortening, escaping.
 * ------------------------------------------------------------------------- */

/* Advance widths of DejaVu Sans and DejaVu Sans Bold for U+0020..U+007E, in
 * 1/2048 em (the fonts' hmtx tables). */
static const unsigned short adv_regular[95] = {
    651,  821,  942,  1716, 1303, 1946, 1597, 563,  799,  799,  1024, 1716, 651,  739,  651,  690,
    1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 690,  690,  1716, 1716, 1716, 1087,
    2048, 1401, 1405, 1430, 1577, 1294, 1178, 1587, 1540, 604,  604,  1343, 1141, 1767, 1532, 1612,
    1235, 1612, 1423, 1300, 1251, 1499, 1401, 2025, 1403, 1251, 1403, 799,  690,  799,  1716, 1024,
    1024, 1255, 1300, 1126, 1300, 1260, 721,  1300, 1298, 569,  569,  1186, 569,  1995, 1298, 1253,
    1300, 1300, 842,  1067, 803,  1298, 1212, 1675, 1212, 1212, 1075, 1303, 690,  1303, 1716,
};
static const unsigned short adv_bold[95] = {
    713,  934,  1067, 1716, 1425, 2052, 1786, 627,  936,  936,  1071, 1716, 778,  850,  778,  748,
    1425, 1425, 1425, 1425, 1425, 1425, 1425, 1425, 1425, 1425, 819,  819,  1716, 1716, 1716, 1188,
    2048, 1585, 1561, 1503, 1700, 1399, 1399, 1681, 1714, 762,  762,  1587, 1305, 2038, 1714, 1741,
    1501, 1741, 1577, 1475, 1397, 1663, 1585, 2259, 1579, 1483, 1485, 936,  748,  936,  1716, 1024,
    1024, 1382, 1466, 1214, 1466, 1389, 891,  1466, 1458, 702,  702,  1362, 702,  2134, 1458, 1407,
    1466, 1466, 1010, 1219, 979,  1458, 1335, 1892, 1321, 1335, 1192, 1458, 748,  1458, 1716,
};

#define ELLIPSIS "\xE2\x80\xA6"
#define ELLIPSIS_ADV 2048
#define TEXT_MAX 512 /* bytes of one cleaned label; longer text is cut */

static size_t utf8_seq_len(unsigned char lead)
{
    if (lead < 0x80)
        return 1;
    if (lead >= 0xC2 && lead < 0xE0)
        return 2;
    if (lead >= 0xE0 && lead < 0xF0)
        return 3;
    if (lead >= 0xF0 && lead < 0xF5)
        return 4;
    return 0;
}

/* Copies in (NULL is "") to out as valid UTF-8 without control characters:
 * invalid bytes become '?', controls a space. Cuts at a code point boundary
 * when out is full. outsize >= 1. */
static void clean_text(const char *in, char *out, size_t outsize)
{
    size_t o = 0;
    if (!in)
        in = "";
    size_t n = strlen(in);
    for (size_t i = 0; i < n;) {
        unsigned char lead = (unsigned char)in[i];
        size_t len = utf8_seq_len(lead);
        const char *piece = in + i;
        size_t plen = len;
        if (len == 0 || i + len > n || !bb_utf8_valid(in + i, len, NULL)) {
            piece = "?";
            plen = len = 1;
        } else if (len == 1 && (lead < 0x20 || lead == 0x7F)) {
            piece = " ";
        }
        if (o + plen >= outsize)
            break;
        memcpy(out + o, piece, plen);
        o += plen;
        i += len;
    }
    out[o] = '\0';
}

/* Decodes one code point of valid UTF-8 and advances *p. */
static uint32_t next_cp(const char **p)
{
    const unsigned char *s = (const unsigned char *)*p;
    size_t len = utf8_seq_len(s[0]);
    uint32_t c = s[0];
    if (len == 2)
        c &= 0x1F;
    else if (len == 3)
        c &= 0x0F;
    else if (len == 4)
        c &= 0x07;
    for (size_t i = 1; i < len; i++)
        c = (c << 6) | (s[i] & 0x3F);
    *p += len ? len : 1;
    return c;
}

static bool is_wide(uint32_t c)
{
    return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF) ||
           (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
           (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
           (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1FAFF) || c >= 0x20000;
}

/* Advance of one code point in 1/2048 em. Outside ASCII: combining marks
 * take no room, CJK and emoji a full em, the rest a typical Latin width. */
static unsigned cp_advance(uint32_t c, bool bold)
{
    if (c >= 0x20 && c < 0x7F)
        return (bold ? adv_bold : adv_regular)[c - 0x20];
    if ((c >= 0x300 && c < 0x370) || c == 0x200B)
        return 0;
    if (is_wide(c))
        return 2048;
    return bold ? 1450 : 1300;
}

/* Width in px of cleaned text at the given em. */
static double text_width(const char *s, double em, bool bold)
{
    unsigned long units = 0;
    while (*s)
        units += cp_advance(next_cp(&s), bold);
    return (double)units * em / 2048.0;
}

/* Copies cleaned text to out, shortened with an ellipsis so that it is at
 * most max_px wide. */
static void fit_text(const char *s, double max_px, double em, bool bold, char *out, size_t outsize)
{
    if (text_width(s, em, bold) <= max_px) {
        clean_text(s, out, outsize);
        return;
    }
    double limit = max_px * 2048.0 / em - ELLIPSIS_ADV;
    double units = 0.0;
    const char *p = s, *cut = s;
    while (*p) {
        const char *q = p;
        units += cp_advance(next_cp(&q), bold);
        if (units > limit)
            break;
        p = q;
        cut = p;
    }
    while (cut > s && cut[-1] == ' ')
        cut--;
    size_t keep = (size_t)(cut - s);
    if (keep + sizeof ELLIPSIS > outsize)
        keep = outsize > sizeof ELLIPSIS ? outsize - sizeof ELLIPSIS : 0;
    while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80)
        keep--; /* stay on a code point boundary */
    memcpy(out, s, keep);
    memcpy(out + keep, ELLIPSIS, sizeof ELLIPSIS);
}

/* PLplot reads '#' as the start of an escape sequence (#u superscript, #fi
 * italic, ...), so user text has every '#' doubled. */
static void escape_hash(const char *s, char *out, size_t outsize)
{
    size_t o = 0;
    for (; *s; s++) {
        size_t need = *s == '#' ? 2 : 1;
        if (o + need >= outsize)
            break;
        out[o++] = *s;
        if (*s == '#')
            out[o++] = '#';
    }
    out[o] = '\0';
}

/* ---------------------------------------------------------------------------
 * Numbers: nice scales and tick formatting.
 * ------------------------------------------------------------------------- */

typedef struct axis_style {
    bb_axis_format format;
    int decimals;
} axis_style;

typedef struct scale {
    double lo, hi, step;
} scale;

static void format_value(const axis_style *a, double v, char *buf, size_t size)
{
    if (a->format == BB_AXIS_PERCENT)
        bb_fmt_pct(buf, size, v, a->decimals);
    else
        bb_fmt_fixed(buf, size, v, a->decimals);
}

/* Decimals that tell ticks step apart: the fewest that show step exactly
 * (steps are 1, 2, 2.5 or 5 x 10^k). */
static int step_decimals(bb_axis_format f, double step)
{
    if (f == BB_AXIS_MONEY)
        return step >= 1.0 - 1e-9 ? 0 : 2;
    if (f == BB_AXIS_PERCENT)
        step *= 100.0;
    int d = 0;
    while (d < 6 && fabs(step * pow(10.0, d) - round(step * pow(10.0, d))) > 1e-6 * step * pow(10.0, d))
        d++;
    return d;
}

/* Decimals for the data labels of one chart, whose largest magnitude is
 * max_abs: the same for every label, so that they line up and compare. */
static int label_decimals(bb_axis_format f, double max_abs, bool integral)
{
    if (f == BB_AXIS_PERCENT)
        return max_abs >= 1.0 ? 0 : 1;
    if (f == BB_AXIS_MONEY)
        return max_abs >= 100.0 ? 0 : 2;
    if (integral || max_abs >= 1000.0)
        return 0;
    return max_abs >= 10.0 ? 1 : 2;
}

/* Range [lo, hi] widened to multiples of a "nice" step (1, 2, 2.5 or 5 x
 * 10^k, after Heckbert, "Nice numbers for graph labels", Graphics Gems 1990)
 * giving about target intervals; of the candidates, the one wasting the least
 * room wins, the larger step on a tie. */
static scale nice_scale(double lo, double hi, int target)
{
    static const double mantissa[4] = {1.0, 2.0, 2.5, 5.0};
    /* A range too narrow for its magnitude has no printable ticks. */
    if (!(hi - lo > 1e-9 * fmax(fabs(lo), fabs(hi)))) {
        double pad = lo == 0.0 ? 1.0 : fabs(lo) * 0.1;
        lo -= pad;
        hi += pad;
        if (hi - pad == 0.0)
            lo = 0.0; /* a lone 0 gives 0..1, not -1..1 */
    }
    if (target < 2)
        target = 2;
    double raw = (hi - lo) / target;
    double exp10 = floor(log10(raw));
    scale best = {0.0, 0.0, 0.0};
    double best_cover = -1e300;
    for (int e = -1; e <= 1; e++) {
        for (int m = 0; m < 4; m++) {
            double step = mantissa[m] * pow(10.0, exp10 + e);
            scale s = {floor(lo / step + 1e-9) * step, ceil(hi / step - 1e-9) * step, step};
            if (s.hi <= s.lo)
                s.hi = s.lo + step;
            double intervals = (s.hi - s.lo) / step;
            if (intervals < (target > 3 ? target - 2 : 2) - 1e-9 || intervals > target + 2 + 1e-9)
                continue;
            /* Prefer covering the data snugly, then rounder steps and
             * about the requested number of intervals. */
            double cover = (hi - lo) / (s.hi - s.lo) - (m == 2 ? 0.2 : 0.0) - 0.025 * fabs(intervals - target);
            if (cover > best_cover + 1e-9 || (fabs(cover - best_cover) <= 1e-9 && step > best.step)) {
                best = s;
                best_cover = cover;
            }
        }
    }
    if (best.step == 0.0) /* unreachable for finite input; keep a sane axis anyway */
        best = (scale){lo, hi, (hi - lo) / target};
    return best;
}

static int clamp_int(double v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : (int)v;
}

/* Usable data value: finite and not absurdly large. */
static bool usable(double v)
{
    return isfinite(v) && fabs(v) <= VALUE_ABS_MAX;
}

static double map_lin(double v, double lo, double hi, double p0, double p1)
{
    return p0 + (v - lo) / (hi - lo) * (p1 - p0);
}

/* Tick k of a scale, k in 0..tick_intervals(s); computed, not accumulated,
 * so that 0 comes out as 0 and no loop can stall on rounding. */
static size_t tick_intervals(const scale *s)
{
    double n = round((s->hi - s->lo) / s->step);
    return n < 1.0 ? 1 : n > 100.0 ? 100 : (size_t)n;
}

static double tick_at(const scale *s, size_t k)
{
    double t = s->lo + (double)k * s->step;
    return fabs(t) < s->step * 1e-9 ? 0.0 : t;
}

/* Widest formatted tick inside [s.lo, s.hi] (and within [from, to]). */
static double ticks_width(const scale *s, const axis_style *a, double from, double to)
{
    double w = 0.0;
    char buf[64];
    for (size_t k = 0; k <= tick_intervals(s); k++) {
        double t = tick_at(s, k);
        if (t < from - s->step * 1e-6 || t > to + s->step * 1e-6)
            continue;
        format_value(a, t, buf, sizeof buf);
        double tw = text_width(buf, EM_TICK, false);
        if (tw > w)
            w = tw;
    }
    return w;
}

/* ---------------------------------------------------------------------------
 * Child side: PLplot drawing primitives (page mode, px, y up).
 * ------------------------------------------------------------------------- */

/* Exit codes of the child; anything else is unexpected. */
enum { CHILD_OK = 0, CHILD_FAILED = 3, CHILD_PLPLOT_EXIT = 4, CHILD_PLPLOT_ABORT = 5 };

static void write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, s, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return;
        s += k;
        n -= (size_t)k;
    }
}

static _Noreturn void child_die(const char *what, int code)
{
    write_all(STDERR_FILENO, "chart renderer: ", 16);
    write_all(STDERR_FILENO, what, strlen(what));
    write_all(STDERR_FILENO, "\n", 1);
    _exit(code);
}

static int plplot_exit_handler(PLCHAR_VECTOR msg)
{
    child_die(msg && *msg ? msg : "PLplot exited", CHILD_PLPLOT_EXIT);
}

static void plplot_abort_handler(PLCHAR_VECTOR msg)
{
    child_die(msg && *msg ? msg : "PLplot aborted an operation", CHILD_PLPLOT_ABORT);
}

static void *child_alloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size);
    if (!p)
        child_die("out of memory", CHILD_FAILED);
    return p;
}

typedef struct page {
    double w, h;
    double x0, x1, y0, y1; /* plot area */
    axis_style xaxis, yaxis; /* for tick_label() */
} page;

static void page_mode(const page *pg)
{
    plsvpa(0.0, pg->w * PX_TO_MM, 0.0, pg->h * PX_TO_MM);
    plwind(0.0, pg->w, 0.0, pg->h);
}

static void plot_mode(const page *pg, double wx0, double wx1, double wy0, double wy1)
{
    plsvpa(pg->x0 * PX_TO_MM, pg->x1 * PX_TO_MM, pg->y0 * PX_TO_MM, pg->y1 * PX_TO_MM);
    plwind(wx0, wx1, wy0, wy1);
}

static void set_font(double em, bool bold)
{
    plschr(em / EM_PER_CHR * PX_TO_MM, 1.0);
    plsfont(PL_FCI_SANS, PL_FCI_UPRIGHT, bold ? PL_FCI_BOLD : PL_FCI_MEDIUM);
}

/* Cleaned text at (x, y): y is the middle of the capitals, just is 0 (start),
 * 0.5 (centre) or 1 (end) along the text direction. */
static void draw_text(double x, double y, double angle_deg, double just, const char *clean)
{
    char esc[2 * TEXT_MAX];
    escape_hash(clean, esc, sizeof esc);
    double a = angle_deg * PI / 180.0;
    plptex(x, y, cos(a), sin(a), just, esc);
}

static void fill_rect(double x0, double y0, double x1, double y1)
{
    PLFLT xs[4] = {x0, x1, x1, x0}, ys[4] = {y0, y0, y1, y1};
    plfill(4, xs, ys);
}

static void draw_segment(double x0, double y0, double x1, double y1)
{
    PLFLT xs[2] = {x0, x1}, ys[2] = {y0, y1};
    plline(2, xs, ys);
}

/* Circles are polygons; small ones need fewer corners (a 12-gon of radius
 * 7 px is 0.24 px off a circle), which keeps scatter SVGs small. */
#define CIRCLE_MAX 32

static int circle_points(double cx, double cy, double r, PLFLT *xs, PLFLT *ys)
{
    int n = r < 10.0 ? 12 : r < 20.0 ? 24 : CIRCLE_MAX;
    for (int i = 0; i < n; i++) {
        double a = 2.0 * PI * i / n;
        xs[i] = cx + r * cos(a);
        ys[i] = cy + r * sin(a);
    }
    return n;
}

static void fill_circle(double cx, double cy, double r)
{
    PLFLT xs[CIRCLE_MAX], ys[CIRCLE_MAX];
    int n = circle_points(cx, cy, r, xs, ys);
    plfill(n, xs, ys);
}

static void outline_circle(double cx, double cy, double r)
{
    PLFLT xs[CIRCLE_MAX + 1], ys[CIRCLE_MAX + 1];
    int n = circle_points(cx, cy, r, xs, ys);
    xs[n] = xs[0];
    ys[n] = ys[0];
    plline(n + 1, xs, ys);
}

static void set_dashed(bool dashed)
{
    if (dashed) {
        PLINT mark = (PLINT)(16.0 * PX_TO_MM * 1000.0), space = (PLINT)(10.0 * PX_TO_MM * 1000.0);
        plstyl(1, &mark, &space);
    } else {
        plstyl(0, NULL, NULL);
    }
}

static void ramp_colour(double t, unsigned char rgb[3])
{
    if (!(t > 0.0))
        t = 0.0;
    if (t > 1.0)
        t = 1.0;
    int k = 0;
    while (k < 3 && t > ramp_stop[k + 1])
        k++;
    double f = (t - ramp_stop[k]) / (ramp_stop[k + 1] - ramp_stop[k]);
    for (int i = 0; i < 3; i++)
        rgb[i] = (unsigned char)lround(ramp_rgb[k][i] + f * (ramp_rgb[k + 1][i] - ramp_rgb[k][i]));
}

static void setup_colours(void)
{
    plscmap0n(COL_COUNT);
    plscol0(COL_BG, 255, 255, 255);
    plscol0(COL_TEXT, 0x22, 0x22, 0x22);
    plscol0(COL_MUTED, 0x55, 0x55, 0x55);
    plscol0(COL_GRID, 0xE3, 0xE3, 0xE3);
    plscol0(COL_AXIS, 0x6E, 0x6E, 0x6E);
    plscol0(COL_WHITE, 255, 255, 255);
    plscol0(COL_SCRATCH, 0, 0, 0);
    for (int i = 0; i < N_PAL; i++) {
        plscol0(COL_PAL + i, palette[i][0], palette[i][1], palette[i][2]);
        plscol0a(COL_PAL_ALPHA + i, palette[i][0], palette[i][1], palette[i][2], 0.6);
    }
}

static int pal(size_t i)
{
    return COL_PAL + (int)(i % N_PAL);
}

/* plslabelfunc callback: numeric tick labels in our locale-free format. */
static void tick_label(PLINT axis, PLFLT value, PLCHAR_NC_VECTOR label, PLINT length, PLPointer data)
{
    const page *pg = data;
    const axis_style *a = axis == PL_X_AXIS ? &pg->xaxis : &pg->yaxis;
    if (length <= 0)
        return;
    /* plbox steps by repeated addition: 0 may arrive as 1e-17. */
    if (fabs(value) < 1e-9 * (a->format == BB_AXIS_PERCENT ? 0.01 : 1.0))
        value = 0.0;
    format_value(a, value, label, (size_t)length);
}

/* Numeric tick labels for the plot area through plbox. xopt/yopt as in plbox
 * ("" for none). */
static void numeric_labels(page *pg, const scale *xs, const scale *ys, const char *xopt, const char *yopt)
{
    plot_mode(pg, xs ? xs->lo : 0.0, xs ? xs->hi : 1.0, ys ? ys->lo : 0.0, ys ? ys->hi : 1.0);
    plslabelfunc(tick_label, pg);
    set_font(EM_TICK, false);
    plcol0(COL_MUTED);
    plbox(xopt, xs ? xs->step : 0.0, 0, yopt, ys ? ys->step : 0.0, 0);
    plslabelfunc(NULL, NULL);
    page_mode(pg);
}

/* ---------------------------------------------------------------------------
 * Child side: labels of categories, title, legend, axis titles.
 * ------------------------------------------------------------------------- */

/* Label i of a category axis: the caller's text, or i + 1 when there is none. */
static void category_text(const char *const *labels, size_t i, char *out, size_t outsize)
{
    if (labels) {
        clean_text(labels[i], out, outsize);
    } else {
        char num[32];
        clean_text(bb_fmt_int(num, sizeof num, (int64_t)i + 1), out, outsize);
    }
}

typedef struct cat_layout {
    bool rotated;   /* 45 degrees, reading upwards, ending at the tick */
    size_t stride;  /* every stride-th label is drawn, from the first */
    double cap;     /* labels are shortened to this width */
    double extent;  /* room the labels take below the axis */
    double first_w; /* drawn width of the first label */
    double last_w;  /* drawn width of the last drawn label */
} cat_layout;

/* Chooses how n labels at slot px spacing avoid overlapping: horizontal if
 * they fit, else rotated by 45 degrees and/or thinned to every k-th. */
static cat_layout layout_categories(const char *const *labels, size_t n, double slot, double hcap)
{
    cat_layout L = {.stride = 1, .cap = hcap};
    if (n == 0)
        return L;
    char buf[TEXT_MAX];
    double maxw = 0.0;
    for (size_t i = 0; i < n; i++) {
        category_text(labels, i, buf, sizeof buf);
        double w = text_width(buf, EM_TICK, false);
        if (w > maxw)
            maxw = w;
    }
    double wh = maxw < hcap ? maxw : hcap;
    double wr = maxw < ROT_LABEL_MAX ? maxw : ROT_LABEL_MAX;
    double kh = ceil((wh + 0.8 * EM_TICK) / slot);
    double kr = ceil(1.5 * EM_TICK / (slot * SIN45));
    /* Rotated labels read worse: use them when they show every label, or
     * when horizontal ones would have to be thinned far more. */
    if (kh <= 1.0 || (kr > 1.0 && kh <= 4.0 * kr) || wr < 1.5 * EM_TICK) {
        L.stride = (size_t)(kh < 1.0 ? 1.0 : kh);
        L.extent = GAP + 1.05 * EM_TICK;
    } else {
        L.rotated = true;
        L.cap = ROT_LABEL_MAX;
        L.stride = (size_t)(kr < 1.0 ? 1.0 : kr);
        L.extent = GAP + wr * SIN45 + 0.6 * EM_TICK;
    }
    if (L.stride > 7) { /* every 50th reads better than every 47th */
        static const double round_to[9] = {1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0};
        double mag = pow(10.0, floor(log10((double)L.stride)));
        double r = (double)L.stride / mag;
        int k = 0;
        while (k < 8 && r > round_to[k] + 1e-9 && r != 1.0)
            k++;
        L.stride = (size_t)lround((r == 1.0 ? 1.0 : round_to[k]) * mag);
    }
    if (L.stride > n)
        L.stride = n;
    char fitted[TEXT_MAX];
    category_text(labels, 0, buf, sizeof buf);
    fit_text(buf, L.cap, EM_TICK, false, fitted, sizeof fitted);
    L.first_w = text_width(fitted, EM_TICK, false);
    size_t last = (n - 1) / L.stride * L.stride;
    category_text(labels, last, buf, sizeof buf);
    fit_text(buf, L.cap, EM_TICK, false, fitted, sizeof fitted);
    L.last_w = text_width(fitted, EM_TICK, false);
    return L;
}

/* Room to keep left and right of the plot area so the first and last
 * category labels are not cut at the page edge. */
static void category_overhang(const cat_layout *L, double slot, double *left, double *right)
{
    if (L->rotated) {
        double need = PAD + L->first_w * SIN45 - slot / 2.0;
        if (need > *left)
            *left = need;
    } else {
        double need_l = PAD + L->first_w / 2.0 - slot / 2.0;
        double need_r = PAD + L->last_w / 2.0 - slot / 2.0;
        if (need_l > *left)
            *left = need_l;
        if (need_r > *right)
            *right = need_r;
    }
}

static void draw_categories(const char *const *labels, size_t n, const cat_layout *L, double x0, double slot,
                            double axis_y)
{
    char buf[TEXT_MAX], fitted[TEXT_MAX];
    set_font(EM_TICK, false);
    plcol0(COL_TEXT);
    for (size_t i = 0; i < n; i += L->stride) {
        category_text(labels, i, buf, sizeof buf);
        fit_text(buf, L->cap, EM_TICK, false, fitted, sizeof fitted);
        double x = x0 + ((double)i + 0.5) * slot;
        if (L->rotated)
            draw_text(x + 0.25 * EM_TICK, axis_y - GAP, 45.0, 1.0, fitted);
        else
            draw_text(x, axis_y - GAP - 0.37 * EM_TICK, 0.0, 0.5, fitted);
    }
}

typedef enum swatch { SWATCH_BOX, SWATCH_LINE, SWATCH_DOT, SWATCH_MARKER } swatch;

typedef struct legend_item {
    char text[TEXT_MAX];
    int colour;
    swatch kind;
    bool dashed;
} legend_item;

typedef struct legend {
    legend_item *items;
    size_t n;
} legend;

#define LEGEND_SWATCH(kind) ((kind) == SWATCH_LINE ? 1.6 * EM_TICK : 0.8 * EM_TICK)
#define LEGEND_ROW (1.5 * EM_TICK)
#define LEGEND_SPACING (1.4 * EM_TICK)

static void legend_add(legend *lg, const char *name, int colour, swatch kind, bool dashed, double max_w)
{
    legend_item *it = &lg->items[lg->n++];
    char clean[TEXT_MAX];
    clean_text(name, clean, sizeof clean);
    fit_text(clean, max_w, EM_TICK, false, it->text, sizeof it->text);
    it->colour = colour;
    it->kind = kind;
    it->dashed = dashed;
}

static double legend_item_width(const legend_item *it)
{
    return LEGEND_SWATCH(it->kind) + 0.4 * EM_TICK + text_width(it->text, EM_TICK, false);
}

/* Lays the legend out in rows that fit avail px; draws it when draw is set,
 * with the top of the first row at top. Returns its height. */
static double legend_place(const legend *lg, double x0, double top, double avail, bool draw)
{
    if (lg->n == 0)
        return 0.0;
    size_t rows = 0;
    size_t i = 0;
    while (i < lg->n) {
        double w = legend_item_width(&lg->items[i]);
        size_t j = i + 1;
        while (j < lg->n && w + LEGEND_SPACING + legend_item_width(&lg->items[j]) <= avail) {
            w += LEGEND_SPACING + legend_item_width(&lg->items[j]);
            j++;
        }
        if (draw) {
            double x = x0;
            double cy = top - (double)rows * LEGEND_ROW - LEGEND_ROW / 2.0;
            set_font(EM_TICK, false);
            for (size_t k = i; k < j; k++) {
                const legend_item *it = &lg->items[k];
                double sw = LEGEND_SWATCH(it->kind);
                plcol0(it->colour);
                if (it->kind == SWATCH_BOX) {
                    fill_rect(x, cy - sw / 2.0, x + sw, cy + sw / 2.0);
                } else if (it->kind == SWATCH_LINE) {
                    plwidth(LINE_W);
                    set_dashed(it->dashed);
                    draw_segment(x, cy, x + sw, cy);
                    set_dashed(false);
                } else {
                    double r = it->kind == SWATCH_MARKER ? sw * 0.55 : sw * 0.35;
                    fill_circle(x + sw / 2.0, cy, r);
                    if (it->kind == SWATCH_MARKER) {
                        plcol0(COL_TEXT);
                        plwidth(AXIS_W);
                        outline_circle(x + sw / 2.0, cy, r);
                    }
                }
                plcol0(COL_TEXT);
                draw_text(x + sw + 0.4 * EM_TICK, cy, 0.0, 0.0, it->text);
                x += legend_item_width(it) + LEGEND_SPACING;
            }
        }
        rows++;
        i = j;
    }
    return (double)rows * LEGEND_ROW;
}

/* Title and legend on top; returns the y where the plot area may start. */
static double header(const bb_chart *c, const page *pg, const legend *lg, bool draw)
{
    double y = pg->h - PAD;
    if (c->title && c->title[0]) {
        char clean[TEXT_MAX], fitted[TEXT_MAX];
        clean_text(c->title, clean, sizeof clean);
        /* A long title first gets smaller (down to 3/4), then shortened. */
        double avail = pg->w - 2.0 * PAD, per_em = text_width(clean, 1.0, true);
        double em = per_em * EM_TITLE <= avail ? EM_TITLE : fmax(0.75 * EM_TITLE, avail / per_em);
        fit_text(clean, avail, em, true, fitted, sizeof fitted);
        if (draw) {
            set_font(em, true);
            plcol0(COL_TEXT);
            draw_text(PAD, y - 0.45 * EM_TITLE, 0.0, 0.0, fitted);
            set_font(EM_TICK, false);
        }
        y -= 1.25 * EM_TITLE;
    }
    if (lg->n > 0) {
        y -= 0.2 * EM_TICK;
        y -= legend_place(lg, PAD, y, pg->w - 2.0 * PAD, draw);
    }
    return y - 0.9 * EM_TICK;
}

/* Axis titles: x centred under the plot area, y rotated left of it. */
static void axis_titles(const bb_chart *c, const page *pg)
{
    char clean[TEXT_MAX], fitted[TEXT_MAX];
    set_font(EM_AXIS, false);
    plcol0(COL_TEXT);
    if (c->x_label && c->x_label[0]) {
        clean_text(c->x_label, clean, sizeof clean);
        fit_text(clean, pg->w - 2.0 * PAD, EM_AXIS, false, fitted, sizeof fitted);
        double cx = (pg->x0 + pg->x1) / 2.0;
        double half = text_width(fitted, EM_AXIS, false) / 2.0;
        if (cx - half < PAD)
            cx = PAD + half;
        if (cx + half > pg->w - PAD)
            cx = pg->w - PAD - half;
        draw_text(cx, PAD + 0.62 * EM_AXIS, 0.0, 0.5, fitted);
    }
    if (c->y_label && c->y_label[0]) {
        clean_text(c->y_label, clean, sizeof clean);
        fit_text(clean, pg->h - 2.0 * PAD, EM_AXIS, false, fitted, sizeof fitted);
        double cy = (pg->y0 + pg->y1) / 2.0;
        double half = text_width(fitted, EM_AXIS, false) / 2.0;
        if (cy - half < PAD)
            cy = PAD + half;
        if (cy + half > pg->h - PAD)
            cy = pg->h - PAD - half;
        draw_text(PAD + 0.62 * EM_AXIS, cy, 90.0, 0.5, fitted);
    }
}

static double x_title_room(const bb_chart *c)
{
    return c->x_label && c->x_label[0] ? 1.55 * EM_AXIS : 0.0;
}

static double y_title_room(const bb_chart *c)
{
    return c->y_label && c->y_label[0] ? 1.5 * EM_AXIS : 0.0;
}

/* The plot area of a chart without data: a light frame and "No data". */
static void draw_no_data(const page *pg)
{
    plcol0(COL_GRID);
    plwidth(AXIS_W);
    PLFLT xs[5] = {pg->x0, pg->x1, pg->x1, pg->x0, pg->x0}, ys[5] = {pg->y0, pg->y0, pg->y1, pg->y1, pg->y0};
    plline(5, xs, ys);
    set_font(EM_NODATA, false);
    plcol0(COL_MUTED);
    draw_text((pg->x0 + pg->x1) / 2.0, (pg->y0 + pg->y1) / 2.0, 0.0, 0.5, "No data");
}

/* Keeps a plot area usable when labels are huge for the page. */
static void clamp_plot_area(page *pg)
{
    if (pg->x0 > pg->w * 0.5)
        pg->x0 = pg->w * 0.5;
    if (pg->x1 < pg->x0 + pg->w * 0.25)
        pg->x1 = pg->x0 + pg->w * 0.25;
    if (pg->x1 > pg->w - PAD)
        pg->x1 = pg->w - PAD;
    if (pg->y0 > pg->h * 0.5)
        pg->y0 = pg->h * 0.5;
    if (pg->y1 < pg->y0 + pg->h * 0.2)
        pg->y1 = pg->y0 + pg->h * 0.2;
}

/* ---------------------------------------------------------------------------
 * Child side: the chart kinds.
 * ------------------------------------------------------------------------- */

typedef struct data_range {
    double min, max;
    bool any;     /* at least one usable value */
    bool nonzero; /* at least one usable value that is not 0 */
} data_range;

static void range_add(data_range *r, double v)
{
    if (!usable(v))
        return;
    if (!r->any || v < r->min)
        r->min = v;
    if (!r->any || v > r->max)
        r->max = v;
    r->any = true;
    if (v != 0.0)
        r->nonzero = true;
}

static double series_value(const bb_chart_series *s, size_t i)
{
    return i < s->n && s->values ? s->values[i] : NAN;
}

static data_range series_range(const bb_chart *c)
{
    data_range r = {0};
    for (size_t s = 0; s < c->n_series; s++)
        for (size_t i = 0; i < c->series[s].n && i < c->n_categories; i++)
            range_add(&r, c->series[s].values[i]);
    return r;
}

static legend series_legend(const bb_chart *c, swatch kind, double max_w)
{
    legend lg = {child_alloc(c->n_series, sizeof(legend_item)), 0};
    size_t named = 0;
    for (size_t s = 0; s < c->n_series; s++)
        if (c->series[s].name && c->series[s].name[0])
            named++;
    if (named < 2)
        return lg;
    for (size_t s = 0; s < c->n_series; s++)
        if (c->series[s].name && c->series[s].name[0])
            legend_add(&lg, c->series[s].name, pal(s), kind, c->series[s].dashed, max_w);
    return lg;
}

/* Format of the value labels at the bar ends. */
static axis_style series_label_style(const bb_chart *c)
{
    double max_abs = 0.0;
    bool integral = true;
    for (size_t s = 0; s < c->n_series; s++)
        for (size_t i = 0; i < c->series[s].n && i < c->n_categories; i++) {
            double v = c->series[s].values[i];
            if (usable(v)) {
                max_abs = fmax(max_abs, fabs(v));
                integral = integral && v == floor(v);
            }
        }
    return (axis_style){c->value_format, label_decimals(c->value_format, max_abs, integral)};
}

/* Widens [*lo, *hi] so that the value label beyond the end of each bar fits
 * inside a value axis of length len_px: the label's width along a horizontal
 * axis, its height along a vertical one. */
static void make_room_for_labels(const bb_chart *c, double len_px, bool vertical, double *lo, double *hi)
{
    double new_lo = *lo, new_hi = *hi;
    char buf[64];
    axis_style a = series_label_style(c);
    for (size_t s = 0; s < c->n_series; s++) {
        for (size_t i = 0; i < c->series[s].n && i < c->n_categories; i++) {
            double v = c->series[s].values[i];
            if (!usable(v) || v == 0.0)
                continue;
            format_value(&a, v, buf, sizeof buf);
            double t = vertical ? 1.4 * EM_TICK : text_width(buf, EM_TICK, false) + 0.5 * EM_TICK;
            if (t > len_px * 0.6)
                continue;
            if (v > 0.0) {
                double need = *lo + (v - *lo) * len_px / (len_px - t);
                if (need > new_hi)
                    new_hi = need;
            } else {
                double need = *hi - (*hi - v) * len_px / (len_px - t);
                if (need < new_lo)
                    new_lo = need;
            }
        }
    }
    *lo = new_lo;
    *hi = new_hi;
}

/* Whether value labels of vertical bars fit their width at all (judged on an
 * estimate of the plot width); if not, no room is made for them. */
static bool labels_fit_columns(const bb_chart *c, const page *pg)
{
    size_t ns = c->n_series ? c->n_series : 1;
    double slot = (pg->w - 2.0 * PAD - y_title_room(c) - 4.0 * EM_TICK) / (double)(c->n_categories * ns);
    axis_style la = series_label_style(c);
    char buf[64];
    for (size_t s = 0; s < c->n_series; s++)
        for (size_t i = 0; i < c->series[s].n && i < c->n_categories; i++)
            if (usable(c->series[s].values[i])) {
                format_value(&la, c->series[s].values[i], buf, sizeof buf);
                if (text_width(buf, EM_TICK, false) <= slot)
                    return true;
            }
    return false;
}

/* Vertical bars (grouped when several series) or lines over categories. */
static void render_columns(const bb_chart *c, page *pg, bool lines)
{
    size_t n = c->n_categories;
    data_range r = series_range(c);
    bool empty = n == 0 || !r.nonzero;
    legend lg = series_legend(c, lines ? SWATCH_LINE : SWATCH_BOX, pg->w * 0.4);
    double top = header(c, pg, &lg, false);

    double lo = 0.0, hi = 1.0;
    if (!empty) {
        bool tight = lines && c->y_tight;
        lo = tight || r.min < 0.0 ? r.min : 0.0;
        hi = tight || r.max > 0.0 ? r.max : 0.0;
    }
    double est_h = top - PAD - x_title_room(c) - 2.0 * EM_TICK;
    if (!lines && c->show_values && !empty && labels_fit_columns(c, pg))
        make_room_for_labels(c, est_h, true, &lo, &hi);
    scale ys = nice_scale(lo, hi, clamp_int(est_h / 140.0, 3, 8));
    pg->yaxis = (axis_style){c->value_format, step_decimals(c->value_format, ys.step)};

    double left = PAD + y_title_room(c) + (empty ? 0.0 : ticks_width(&ys, &pg->yaxis, ys.lo, ys.hi) + GAP);
    double right = PAD;
    cat_layout L = {.stride = 1};
    double slot = 1.0;
    for (int pass = 0; pass < 2; pass++) {
        slot = (pg->w - left - right) / (double)(n ? n : 1);
        L = layout_categories(c->categories, n, slot, pg->w * 0.3);
        category_overhang(&L, slot, &left, &right);
    }
    pg->x0 = left;
    pg->x1 = pg->w - right;
    pg->y0 = PAD + x_title_room(c) + (n ? L.extent : 0.0);
    pg->y1 = top;
    clamp_plot_area(pg);
    slot = (pg->x1 - pg->x0) / (double)(n ? n : 1);

    header(c, pg, &lg, true);
    axis_titles(c, pg);
    if (n > 0)
        draw_categories(c->categories, n, &L, pg->x0, slot, pg->y0);
    free(lg.items);
    if (empty) {
        draw_no_data(pg);
        return;
    }

#define VY(v) map_lin((v), ys.lo, ys.hi, pg->y0, pg->y1)
    plcol0(COL_GRID);
    plwidth(GRID_W);
    for (size_t k = 0; k <= tick_intervals(&ys); k++)
        draw_segment(pg->x0, VY(tick_at(&ys, k)), pg->x1, VY(tick_at(&ys, k)));

    double base = ys.lo > 0.0 ? ys.lo : ys.hi < 0.0 ? ys.hi : 0.0;
    if (!lines) {
        size_t ns = c->n_series ? c->n_series : 1;
        /* Hundreds of bars: no gaps, or the gaps alias into stripes. */
        double group = slot < 4.0 ? slot : slot * (ns > 1 ? 0.82 : 0.7);
        double bw = group / (double)ns;
        double inset = bw > 8.0 ? 1.5 : 0.0;
        for (size_t s = 0; s < c->n_series; s++) {
            plcol0(pal(s));
            for (size_t i = 0; i < n; i++) {
                double v = series_value(&c->series[s], i);
                if (!usable(v))
                    continue;
                double x = pg->x0 + ((double)i + 0.5) * slot - group / 2.0 + (double)s * bw;
                fill_rect(x + inset, VY(base), x + bw - inset, VY(v));
            }
        }
        if (c->show_values) {
            char buf[64];
            axis_style la = series_label_style(c);
            set_font(EM_TICK, false);
            plcol0(COL_TEXT);
            for (size_t s = 0; s < c->n_series; s++) {
                for (size_t i = 0; i < n; i++) {
                    double v = series_value(&c->series[s], i);
                    if (!usable(v))
                        continue;
                    format_value(&la, v, buf, sizeof buf);
                    if (text_width(buf, EM_TICK, false) > slot / (double)ns)
                        continue; /* would run into the neighbour's label */
                    double x = pg->x0 + ((double)i + 0.5) * slot - group / 2.0 + ((double)s + 0.5) * bw;
                    double y = v >= 0.0 ? VY(v) + 0.67 * EM_TICK : VY(v) - 0.67 * EM_TICK;
                    draw_text(x, y, 0.0, 0.5, buf);
                }
            }
        }
    } else {
        PLFLT *xs = child_alloc(n, sizeof *xs), *yv = child_alloc(n, sizeof *yv);
        double marker_r = n <= 24 ? 7.0 : 0.0;
        /* Dense series get a thinner pen so that their shape stays visible. */
        double width = n > 120 ? LINE_W * 0.6 : LINE_W;
        for (size_t s = 0; s < c->n_series; s++) {
            const bb_chart_series *se = &c->series[s];
            plcol0(pal(s));
            plwidth(se->dashed ? width * 0.8 : width);
            set_dashed(se->dashed);
            size_t run = 0;
            for (size_t i = 0; i <= n; i++) {
                double v = i < n ? series_value(se, i) : NAN;
                if (i < n && usable(v)) {
                    xs[run] = pg->x0 + ((double)i + 0.5) * slot;
                    yv[run] = VY(v);
                    run++;
                    continue;
                }
                if (run >= 2)
                    plline((PLINT)run, xs, yv);
                else if (run == 1 && marker_r == 0.0)
                    fill_circle(xs[0], yv[0], width * 1.2); /* a lone point would vanish */
                run = 0;
            }
            set_dashed(false);
            if (marker_r > 0.0)
                for (size_t i = 0; i < n; i++) {
                    double v = series_value(se, i);
                    if (usable(v))
                        fill_circle(pg->x0 + ((double)i + 0.5) * slot, VY(v), se->dashed ? marker_r * 0.7 : marker_r);
                }
        }
        free(xs);
        free(yv);
    }
    plcol0(COL_AXIS);
    plwidth(AXIS_W);
    draw_segment(pg->x0, VY(base), pg->x1, VY(base));
#undef VY
    numeric_labels(pg, NULL, &ys, "", "nvxo");
}

/* Horizontal bars: categories top to bottom, labels on the left. */
static void render_hbars(const bb_chart *c, page *pg)
{
    size_t n = c->n_categories;
    data_range r = series_range(c);
    bool empty = n == 0 || !r.nonzero;
    legend lg = series_legend(c, SWATCH_BOX, pg->w * 0.4);
    double top = header(c, pg, &lg, false);

    char buf[TEXT_MAX], fitted[TEXT_MAX];
    double label_cap = pg->w * 0.32, label_w = 0.0;
    for (size_t i = 0; i < n; i++) {
        category_text(c->categories, i, buf, sizeof buf);
        fit_text(buf, label_cap, EM_TICK, false, fitted, sizeof fitted);
        double w = text_width(fitted, EM_TICK, false);
        if (w > label_w)
            label_w = w;
    }
    pg->x0 = PAD + y_title_room(c) + label_w + GAP;
    pg->y0 = PAD + x_title_room(c) + (empty ? 0.0 : GAP + 1.05 * EM_TICK);
    pg->y1 = top;
    double right = PAD;
    double lo = empty ? 0.0 : fmin(0.0, r.min), hi = empty ? 1.0 : fmax(0.0, r.max);
    size_t ns = c->n_series ? c->n_series : 1;
    double slot = (pg->y1 - pg->y0) / (double)(n ? n : 1);
    double group = slot * (ns > 1 ? 0.8 : 0.68);
    double bh = group / (double)ns;
    bool labels = c->show_values && !empty && bh >= 1.05 * EM_TICK; /* else they would touch */
    scale xs = {0.0, 1.0, 1.0};
    for (int pass = 0; pass < 2; pass++) {
        double len = pg->w - right - pg->x0;
        double l = lo, h = hi;
        if (labels)
            make_room_for_labels(c, len, false, &l, &h);
        xs = nice_scale(l, h, clamp_int(len / 220.0, 3, 8));
        pg->xaxis = (axis_style){c->value_format, step_decimals(c->value_format, xs.step)};
        if (!empty) {
            double half = ticks_width(&xs, &pg->xaxis, xs.hi, xs.hi) / 2.0;
            right = PAD + half;
        }
    }
    pg->x1 = pg->w - right;
    clamp_plot_area(pg);

    header(c, pg, &lg, true);
    axis_titles(c, pg);
    free(lg.items);
    slot = (pg->y1 - pg->y0) / (double)(n ? n : 1);
    group = slot * (ns > 1 ? 0.8 : 0.68);
    bh = group / (double)ns;
    if (n > 0) {
        size_t stride = (size_t)ceil(1.1 * EM_TICK / slot);
        set_font(EM_TICK, false);
        plcol0(COL_TEXT);
        for (size_t i = 0; i < n; i += stride ? stride : 1) {
            category_text(c->categories, i, buf, sizeof buf);
            fit_text(buf, label_cap, EM_TICK, false, fitted, sizeof fitted);
            draw_text(pg->x0 - GAP, pg->y1 - ((double)i + 0.5) * slot, 0.0, 1.0, fitted);
        }
    }
    if (empty) {
        draw_no_data(pg);
        return;
    }

#define VX(v) map_lin((v), xs.lo, xs.hi, pg->x0, pg->x1)
    plcol0(COL_GRID);
    plwidth(GRID_W);
    for (size_t k = 0; k <= tick_intervals(&xs); k++)
        draw_segment(VX(tick_at(&xs, k)), pg->y0, VX(tick_at(&xs, k)), pg->y1);
    double inset = bh > 8.0 ? 1.0 : 0.0;
    axis_style la = series_label_style(c);
    for (size_t s = 0; s < c->n_series; s++) {
        for (size_t i = 0; i < n; i++) {
            double v = series_value(&c->series[s], i);
            if (!usable(v))
                continue;
            double yt = pg->y1 - ((double)i + 0.5) * slot + group / 2.0 - (double)s * bh;
            plcol0(pal(s));
            fill_rect(VX(0.0), yt - bh + inset, VX(v), yt - inset);
            if (labels) {
                format_value(&la, v, buf, sizeof buf);
                set_font(EM_TICK, false);
                plcol0(COL_TEXT);
                if (v >= 0.0)
                    draw_text(VX(v) + 0.35 * EM_TICK, yt - bh / 2.0, 0.0, 0.0, buf);
                else
                    draw_text(VX(v) - 0.35 * EM_TICK, yt - bh / 2.0, 0.0, 1.0, buf);
            }
        }
    }
    plcol0(COL_AXIS);
    plwidth(AXIS_W);
    draw_segment(VX(0.0), pg->y0, VX(0.0), pg->y1);
#undef VX
    numeric_labels(pg, &xs, NULL, "nxo", "");
}

/* Matrix of coloured cells with labels and a colour bar on the right. */
static void render_heatmap(const bb_chart *c, page *pg)
{
    size_t rows = c->rows, cols = c->cols;
    data_range r = {0};
    for (size_t i = 0; i < rows * cols; i++)
        range_add(&r, c->matrix[i]);
    bool empty = !r.any;
    legend lg = {NULL, 0};
    double top = header(c, pg, &lg, false);

    double zlo = r.min, zhi = r.max;
    if (c->z_min != 0.0 || c->z_max != 0.0) {
        zlo = c->z_min;
        zhi = c->z_max;
    }
    if (empty) {
        zlo = 0.0;
        zhi = 1.0;
    }
    if (!(zhi > zlo)) {
        double pad = zlo == 0.0 ? 1.0 : fabs(zlo) * 0.1;
        zhi = zlo + pad;
    }
    scale zs = nice_scale(zlo, zhi, 5);
    axis_style za = {c->value_format, step_decimals(c->value_format, zs.step)};
    double bar_w = 0.9 * EM_TICK;
    double right = PAD + (empty ? 0.0 : 1.2 * EM_TICK + bar_w + 0.4 * EM_TICK + ticks_width(&zs, &za, zlo, zhi));

    char buf[TEXT_MAX], fitted[TEXT_MAX];
    double row_cap = pg->w * 0.25, row_w = 0.0;
    if (c->row_labels)
        for (size_t i = 0; i < rows; i++) {
            clean_text(c->row_labels[i], buf, sizeof buf);
            fit_text(buf, row_cap, EM_TICK, false, fitted, sizeof fitted);
            double w = text_width(fitted, EM_TICK, false);
            if (w > row_w)
                row_w = w;
        }
    double left = PAD + y_title_room(c) + (row_w > 0.0 ? row_w + GAP : 0.0);
    cat_layout L = {.stride = 1};
    double slot = 1.0;
    for (int pass = 0; pass < 2 && c->col_labels; pass++) {
        slot = (pg->w - left - right) / (double)(cols ? cols : 1);
        L = layout_categories(c->col_labels, cols, slot, pg->w * 0.3);
        category_overhang(&L, slot, &left, &right);
    }
    pg->x0 = left;
    pg->x1 = pg->w - right;
    pg->y0 = PAD + x_title_room(c) + (c->col_labels && cols ? L.extent : 0.0);
    pg->y1 = top;
    clamp_plot_area(pg);
    double cw = (pg->x1 - pg->x0) / (double)(cols ? cols : 1);
    double ch = (pg->y1 - pg->y0) / (double)(rows ? rows : 1);

    header(c, pg, &lg, true);
    axis_titles(c, pg);
    if (c->col_labels && cols)
        draw_categories(c->col_labels, cols, &L, pg->x0, cw, pg->y0 + GAP * 0.4);
    if (c->row_labels && rows) {
        size_t stride = (size_t)ceil(1.1 * EM_TICK / ch);
        set_font(EM_TICK, false);
        plcol0(COL_TEXT);
        for (size_t i = 0; i < rows; i += stride ? stride : 1) {
            clean_text(c->row_labels[i], buf, sizeof buf);
            fit_text(buf, row_cap, EM_TICK, false, fitted, sizeof fitted);
            draw_text(pg->x0 - GAP, pg->y1 - ((double)i + 0.5) * ch, 0.0, 1.0, fitted);
        }
    }
    if (empty) {
        draw_no_data(pg);
        return;
    }

    /* Cell values, all with the same decimals, are shown when every one of
     * them fits its cell at a readable size. */
    double max_abs = 0.0;
    bool integral = true;
    for (size_t i = 0; i < rows * cols; i++)
        if (usable(c->matrix[i])) {
            max_abs = fmax(max_abs, fabs(c->matrix[i]));
            integral = integral && c->matrix[i] == floor(c->matrix[i]);
        }
    /* Cells are small: whole percents. */
    int cell_dec = c->value_format == BB_AXIS_PERCENT ? 0 : label_decimals(c->value_format, max_abs, integral);
    axis_style ca = {c->value_format, cell_dec};
    double widest = 0.0; /* at 1 px per em */
    for (size_t i = 0; i < rows * cols; i++)
        if (usable(c->matrix[i])) {
            format_value(&ca, c->matrix[i], buf, sizeof buf);
            widest = fmax(widest, text_width(buf, 1.0, false));
        }
    double em_cell = fmin(EM_CELL, ch * 0.45);
    if (widest > 0.0)
        em_cell = fmin(em_cell, (cw - 10.0) / widest);
    bool cell_text = em_cell >= 15.0;
    double gap = fmin(cw, ch) > 12.0 ? 1.5 : 0.0; /* white seams between cells */
    for (size_t ri = 0; ri < rows; ri++) {
        for (size_t ci = 0; ci < cols; ci++) {
            double v = c->matrix[ri * cols + ci];
            if (!usable(v))
                continue;
            unsigned char rgb[3];
            ramp_colour((v - zlo) / (zhi - zlo), rgb);
            plscol0(COL_SCRATCH, rgb[0], rgb[1], rgb[2]);
            plcol0(COL_SCRATCH);
            double x = pg->x0 + (double)ci * cw, y = pg->y1 - (double)(ri + 1) * ch;
            fill_rect(x + gap, y + gap, x + cw - gap, y + ch - gap);
            if (cell_text) {
                double lum = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
                plcol0(lum < 140.0 ? COL_WHITE : COL_TEXT);
                set_font(em_cell, false);
                format_value(&ca, v, buf, sizeof buf);
                draw_text(x + cw / 2.0, y + ch / 2.0, 0.0, 0.5, buf);
            }
        }
    }

    /* Colour bar: 64 bands from zlo (bottom) to zhi (top). */
    double bx = pg->x1 + 1.2 * EM_TICK;
    double bh = (pg->y1 - pg->y0) / 64.0;
    for (int k = 0; k < 64; k++) {
        unsigned char rgb[3];
        ramp_colour((k + 0.5) / 64.0, rgb);
        plscol0(COL_SCRATCH, rgb[0], rgb[1], rgb[2]);
        plcol0(COL_SCRATCH);
        fill_rect(bx, pg->y0 + k * bh, bx + bar_w, pg->y0 + (k + 1) * bh + (k < 63 ? 0.5 : 0.0));
    }
    set_font(EM_TICK, false);
    for (size_t k = 0; k <= tick_intervals(&zs); k++) {
        double t = tick_at(&zs, k);
        if (t < zlo - zs.step * 1e-6 || t > zhi + zs.step * 1e-6)
            continue;
        double y = map_lin(t, zlo, zhi, pg->y0, pg->y1);
        plcol0(COL_AXIS);
        plwidth(AXIS_W);
        draw_segment(bx + bar_w, y, bx + bar_w + 0.25 * EM_TICK, y);
        plcol0(COL_MUTED);
        format_value(&za, t, buf, sizeof buf);
        draw_text(bx + bar_w + 0.4 * EM_TICK, y, 0.0, 0.0, buf);
    }
}

/* Points coloured by group, larger outlined markers on top. */
static void render_scatter(const bb_chart *c, page *pg)
{
    data_range rx = {0}, ry = {0};
    for (size_t i = 0; i < c->n_points; i++)
        if (usable(c->x[i]) && usable(c->y[i])) {
            range_add(&rx, c->x[i]);
            range_add(&ry, c->y[i]);
        }
    for (size_t i = 0; i < c->n_markers; i++)
        if (usable(c->marker_x[i]) && usable(c->marker_y[i])) {
            range_add(&rx, c->marker_x[i]);
            range_add(&ry, c->marker_y[i]);
        }
    bool empty = !rx.any;
    legend lg = {child_alloc(c->n_groups + 1, sizeof(legend_item)), 0};
    if (c->group_names && (c->n_groups >= 2 || (c->n_groups == 1 && c->marker_name)))
        for (size_t g = 0; g < c->n_groups; g++)
            legend_add(&lg, c->group_names[g] ? c->group_names[g] : "", pal(g), SWATCH_DOT, false, pg->w * 0.3);
    if (c->marker_name && c->marker_name[0] && c->n_markers > 0)
        legend_add(&lg, c->marker_name, COL_MUTED, SWATCH_MARKER, false, pg->w * 0.3);
    double top = header(c, pg, &lg, false);

    /* 4 % air so no point sits on the frame. */
    double xl = empty ? 0.0 : rx.min, xh = empty ? 1.0 : rx.max;
    double yl = empty ? 0.0 : ry.min, yh = empty ? 1.0 : ry.max;
    double px = (xh - xl) * 0.04, py = (yh - yl) * 0.04;
    scale ys = nice_scale(yl - py, yh + py, clamp_int((top - PAD) / 150.0, 3, 8));
    pg->yaxis = (axis_style){c->value_format, step_decimals(c->value_format, ys.step)};
    pg->x0 = PAD + y_title_room(c) + (empty ? 0.0 : ticks_width(&ys, &pg->yaxis, ys.lo, ys.hi) + GAP);
    scale xs = nice_scale(xl - px, xh + px, clamp_int((pg->w - pg->x0) / 220.0, 3, 8));
    pg->xaxis = (axis_style){c->x_format, step_decimals(c->x_format, xs.step)};
    pg->x1 = pg->w - PAD - (empty ? 0.0 : ticks_width(&xs, &pg->xaxis, xs.hi, xs.hi) / 2.0);
    pg->y0 = PAD + x_title_room(c) + (empty ? 0.0 : GAP + 1.05 * EM_TICK);
    pg->y1 = top;
    clamp_plot_area(pg);

    header(c, pg, &lg, true);
    axis_titles(c, pg);
    free(lg.items);
    if (empty) {
        draw_no_data(pg);
        return;
    }
#define VX(v) map_lin((v), xs.lo, xs.hi, pg->x0, pg->x1)
#define VY(v) map_lin((v), ys.lo, ys.hi, pg->y0, pg->y1)
    plcol0(COL_GRID);
    plwidth(GRID_W);
    for (size_t k = 0; k <= tick_intervals(&xs); k++)
        draw_segment(VX(tick_at(&xs, k)), pg->y0, VX(tick_at(&xs, k)), pg->y1);
    for (size_t k = 0; k <= tick_intervals(&ys); k++)
        draw_segment(pg->x0, VY(tick_at(&ys, k)), pg->x1, VY(tick_at(&ys, k)));

    double r = c->n_points > 2000 ? 5.0 : 7.0;
    for (size_t i = 0; i < c->n_points; i++) {
        if (!usable(c->x[i]) || !usable(c->y[i]))
            continue;
        size_t g = c->group ? (size_t)c->group[i] : 0;
        plcol0(COL_PAL_ALPHA + (int)(g % N_PAL));
        fill_circle(VX(c->x[i]), VY(c->y[i]), r);
    }
    for (size_t i = 0; i < c->n_markers; i++) {
        if (!usable(c->marker_x[i]) || !usable(c->marker_y[i]))
            continue;
        double mx = VX(c->marker_x[i]), my = VY(c->marker_y[i]);
        plcol0(pal(i));
        fill_circle(mx, my, 3.0 * r);
        plcol0(COL_TEXT);
        plwidth(AXIS_W * 1.5);
        outline_circle(mx, my, 3.0 * r);
    }
    plcol0(COL_AXIS);
    plwidth(AXIS_W);
    draw_segment(pg->x0, pg->y0, pg->x1, pg->y0);
    draw_segment(pg->x0, pg->y0, pg->x0, pg->y1);
#undef VX
#undef VY
    numeric_labels(pg, &xs, &ys, "nxo", "nvxo");
}

/* ---------------------------------------------------------------------------
 * Child side: files and the batch.
 * ------------------------------------------------------------------------- */

static void chart_size(const bb_chart *c, int *w, int *h)
{
    *w = c->width_px ? c->width_px : BB_CHART_DEFAULT_WIDTH;
    *h = c->height_px ? c->height_px : BB_CHART_DEFAULT_HEIGHT;
}

static void render_file(const bb_chart *c, const char *device, const char *path)
{
    int w, h;
    chart_size(c, &w, &h);
    plsdev(device);
    plsfnam(path);
    plscolbg(255, 255, 255);
    plspage(0.0, 0.0, w, h, 0, 0);
    plinit();
    setup_colours();
    pladv(0);
    page pg = {.w = w, .h = h};
    page_mode(&pg);
    plcol0(COL_TEXT);
    set_font(EM_TICK, false);
    switch (c->kind) {
    case BB_CHART_BARS:
        render_columns(c, &pg, false);
        break;
    case BB_CHART_LINES:
        render_columns(c, &pg, true);
        break;
    case BB_CHART_HBARS:
        render_hbars(c, &pg);
        break;
    case BB_CHART_HEATMAP:
        render_heatmap(c, &pg);
        break;
    case BB_CHART_SCATTER:
        render_scatter(c, &pg);
        break;
    }
    plend();
}

/* The svg device names only the generic family; ask for the font the layout
 * was measured with, then metrically close ones. */
static void svg_set_fonts(const char *path)
{
    static const char from[] = "font-family=\"sans-serif\"";
    static const char to[] = "font-family=\"DejaVu Sans, Verdana, sans-serif\"";
    char *text = NULL;
    size_t len = 0;
    if (bb_fs_read_file(path, (size_t)1 << 30, &text, &len) != BB_OK)
        child_die("cannot read back the SVG file", CHILD_FAILED);
    bb_buf out;
    bb_buf_init(&out, 0);
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *hit = strstr(p, from);
        size_t upto = hit ? (size_t)(hit - p) : (size_t)(end - p);
        if (bb_buf_append(&out, p, upto) != BB_OK || (hit && bb_buf_append(&out, to, sizeof to - 1) != BB_OK))
            child_die("out of memory", CHILD_FAILED);
        p += upto + (hit ? sizeof from - 1 : 0);
    }
    if (bb_fs_write_file(path, out.data ? out.data : "", out.len) != BB_OK)
        child_die("cannot write the SVG file", CHILD_FAILED);
    bb_buf_free(&out);
    free(text);
}

static bool device_available(const char *name)
{
    enum { MAX_DEVICES = 128 };
    const char **menu = child_alloc(MAX_DEVICES, sizeof *menu);
    const char **names = child_alloc(MAX_DEVICES, sizeof *names);
    int count = MAX_DEVICES;
    plgDevs(&menu, &names, &count);
    bool found = false;
    for (int i = 0; i < count && !found; i++)
        found = names[i] && strcmp(names[i], name) == 0;
    free(menu);
    free(names);
    return found;
}

static _Noreturn void child_main(const bb_chart *charts, size_t n, char *const *tmp, int progress_fd)
{
    /* The svg device prints coordinates with %f. */
    setlocale(LC_NUMERIC, "C");
    setenv("PLPLOT_FREETYPE_SANS_FAMILY", "DejaVu Sans", 1);
    plsexit(plplot_exit_handler);
    plsabort(plplot_abort_handler);
    bool need_png = false, need_svg = false;
    for (size_t i = 0; i < n; i++) {
        need_png |= tmp[2 * i] != NULL;
        need_svg |= tmp[2 * i + 1] != NULL;
    }
    if (need_png && !device_available("pngcairo"))
        child_die("PLplot device \"pngcairo\" is not available (package plplot-driver-cairo)", CHILD_FAILED);
    if (need_svg && !device_available("svg"))
        child_die("PLplot device \"svg\" is not available", CHILD_FAILED);
    for (size_t i = 0; i < n; i++) {
        char line[40];
        int len = snprintf(line, sizeof line, "B %zu\n", i);
        write_all(progress_fd, line, (size_t)len);
        if (tmp[2 * i])
            render_file(&charts[i], "pngcairo", tmp[2 * i]);
        if (tmp[2 * i + 1]) {
            render_file(&charts[i], "svg", tmp[2 * i + 1]);
            svg_set_fonts(tmp[2 * i + 1]);
        }
    }
    _exit(CHILD_OK);
}

/* ---------------------------------------------------------------------------
 * Parent side.
 * ------------------------------------------------------------------------- */

static void set_msg(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_msg(char *err, size_t size, const char *fmt, ...)
{
    if (!err || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
}

/* "chart 3/20 "Revenue per month"" for messages. */
/* Where a sub-batch starts in the caller's batch, for messages. */
typedef struct batch_pos {
    size_t base, total;
} batch_pos;

static void describe_at(const bb_chart *charts, size_t i, batch_pos pos, char *out, size_t size)
{
    char title[64];
    clean_text(charts[i].title ? charts[i].title : "", title, sizeof title);
    snprintf(out, size, "chart %zu/%zu \"%s\"", pos.base + i + 1, pos.total, title);
}

static const char *validate(const bb_chart *c)
{
    if ((unsigned)c->kind > (unsigned)BB_CHART_SCATTER)
        return "unknown chart kind";
    if ((!c->png_path || !c->png_path[0]) && (!c->svg_path || !c->svg_path[0]))
        return "no output path";
    if ((c->width_px && (c->width_px < BB_CHART_MIN_SIZE || c->width_px > BB_CHART_MAX_SIZE)) ||
        (c->height_px && (c->height_px < BB_CHART_MIN_SIZE || c->height_px > BB_CHART_MAX_SIZE)))
        return "size out of range";
    switch (c->kind) {
    case BB_CHART_BARS:
    case BB_CHART_HBARS:
    case BB_CHART_LINES:
        if (c->n_categories > CHART_MAX_CATEGORIES)
            return "too many categories";
        if (c->n_series > CHART_MAX_SERIES)
            return "too many series";
        if (c->n_series && !c->series)
            return "series is NULL";
        for (size_t s = 0; s < c->n_series; s++) {
            if (c->series[s].n > c->n_categories)
                return "a series has more values than there are categories";
            if (c->series[s].n && !c->series[s].values)
                return "a series has NULL values";
        }
        break;
    case BB_CHART_HEATMAP:
        if (c->rows && c->cols > CHART_MAX_CELLS / c->rows)
            return "too many cells";
        if (c->rows > 0 && c->cols > 0 && !c->matrix)
            return "matrix is NULL";
        if (!usable(c->z_min) || !usable(c->z_max) || c->z_min > c->z_max)
            return "bad colour scale range";
        break;
    case BB_CHART_SCATTER:
        if (c->n_points > CHART_MAX_POINTS || c->n_markers > CHART_MAX_POINTS)
            return "too many points";
        if (c->n_points && (!c->x || !c->y))
            return "points are NULL";
        if (c->n_markers && (!c->marker_x || !c->marker_y))
            return "markers are NULL";
        if (c->group)
            for (size_t i = 0; i < c->n_points; i++)
                if (c->group[i] < 0 || (size_t)c->group[i] >= (c->n_groups ? c->n_groups : 1))
                    return "a point's group is out of range";
        break;
    }
    return NULL;
}

/* Temporary names: "<path>.tmp<pid>.<index><p|s>", in the destination
 * directory so that the final rename is atomic. */
static char *temp_name(const char *path, long pid, size_t i, char tag)
{
    size_t size = strlen(path) + 64;
    char *s = malloc(size);
    if (s)
        snprintf(s, size, "%s.tmp%ld.%zu%c", path, pid, i, tag);
    return s;
}

static void set_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0)
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Reads the child's stderr and progress pipes until both close or the
 * deadline passes (then the child is killed), and reaps it. */
static bool collect_child(pid_t pid, int *err_fd, int *prog_fd, double timeout_s, bb_buf *errtext,
                          bb_buf *progress, int *wstatus)
{
    bool timed_out = false;
    double deadline = now_s() + timeout_s;
    while (*err_fd >= 0 || *prog_fd >= 0) {
        struct pollfd fds[2];
        int *owner[2];
        bb_buf *sink[2];
        nfds_t nfds = 0;
        if (*err_fd >= 0) {
            fds[nfds] = (struct pollfd){.fd = *err_fd, .events = POLLIN};
            owner[nfds] = err_fd;
            sink[nfds++] = errtext;
        }
        if (*prog_fd >= 0) {
            fds[nfds] = (struct pollfd){.fd = *prog_fd, .events = POLLIN};
            owner[nfds] = prog_fd;
            sink[nfds++] = progress;
        }
        double left = deadline - now_s();
        if (left <= 0.0) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        int rc = poll(fds, nfds, (int)(left * 1000.0) + 1);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0) {
            kill(pid, SIGKILL); /* cannot watch it any more: do not wait forever */
            break;
        }
        for (nfds_t k = 0; k < nfds; k++) {
            if (!fds[k].revents)
                continue;
            char chunk[4096];
            ssize_t got = read(fds[k].fd, chunk, sizeof chunk);
            if (got > 0)
                (void)bb_buf_append(sink[k], chunk, (size_t)got); /* past the cap: dropped */
            else if (got == 0 || (errno != EINTR && errno != EAGAIN))
                close_fd(owner[k]);
        }
    }
    close_fd(err_fd);
    close_fd(prog_fd);
    while (waitpid(pid, wstatus, 0) < 0) {
        if (errno != EINTR) {
            *wstatus = -1;
            break;
        }
    }
    return !timed_out;
}

/* Index of the last chart the child announced, or n when none. */
static size_t last_started(const bb_buf *progress, size_t n)
{
    size_t last = n;
    const char *p = progress->data ? progress->data : "";
    while ((p = strstr(p, "B ")) != NULL) {
        char *end;
        unsigned long long v = strtoull(p + 2, &end, 10);
        if (end != p + 2 && v < n)
            last = (size_t)v;
        p = end != p + 2 ? end : p + 2;
    }
    return last;
}

/* The tail of what PLplot printed, on one line. */
static void stderr_tail(const bb_buf *errtext, char *out, size_t size)
{
    const char *s = errtext->data ? errtext->data : "";
    size_t len = errtext->len, keep = 600;
    if (len > keep)
        s += len - keep;
    char clean[700];
    clean_text(s, clean, sizeof clean);
    size_t o = 0;
    bool space = true;
    for (const char *p = clean; *p && o + 1 < size; p++) {
        bool ws = *p == ' ' || *p == '*';
        if (ws && space)
            continue;
        out[o++] = ws ? ' ' : *p;
        space = ws;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
}

static bool file_looks_right(const char *path, bool png)
{
    long long size = bb_fs_size(path);
    if (size <= 0)
        return false;
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    unsigned char head[8] = {0};
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    if (png)
        return got == 8 && memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0;
    return got >= 5 && memcmp(head, "<?xml", 5) == 0;
}

static bb_err render_batch(const bb_chart *charts, size_t n, batch_pos pos, char *err, size_t errsize)
{
    set_msg(err, errsize, "%s", "");
    if (n == 0)
        return BB_OK;
    if (!charts || n > BB_CHART_MAX_BATCH) {
        set_msg(err, errsize, "charts: %s", charts ? "batch too large" : "charts is NULL");
        return BB_ERR_INTERNAL;
    }
    char who[128];
    for (size_t i = 0; i < n; i++) {
        const char *why = validate(&charts[i]);
        if (why) {
            describe_at(charts, i, pos, who, sizeof who);
            set_msg(err, errsize, "%s: %s", who, why);
            return BB_ERR_INTERNAL;
        }
    }

    bb_err rc = BB_OK;
    char **tmp = calloc(2 * n, sizeof *tmp);
    bool *made = calloc(2 * n, sizeof *made);
    int err_pipe[2] = {-1, -1}, prog_pipe[2] = {-1, -1}, devnull = -1;
    bb_buf errtext, progress;
    bb_buf_init(&errtext, 64 * 1024);
    bb_buf_init(&progress, 1024 * 1024);
    if (!tmp || !made) {
        set_msg(err, errsize, "charts: out of memory");
        rc = BB_ERR_NOMEM;
        goto fail;
    }

    long pid_self = (long)getpid();
    for (size_t k = 0; k < 2 * n; k++) {
        const bb_chart *c = &charts[k / 2];
        const char *path = k % 2 ? c->svg_path : c->png_path;
        if (!path || !path[0])
            continue;
        tmp[k] = temp_name(path, pid_self, k / 2, k % 2 ? 's' : 'p');
        if (!tmp[k]) {
            set_msg(err, errsize, "charts: out of memory");
            rc = BB_ERR_NOMEM;
            goto fail;
        }
        int fd = open(tmp[k], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            describe_at(charts, k / 2, pos, who, sizeof who);
            set_msg(err, errsize, "%s: cannot create %s: %s", who, path, strerror(errno));
            rc = BB_ERR_CANTCREAT;
            goto fail;
        }
        made[k] = true;
        close(fd);
    }

    if (pipe(err_pipe) != 0 || pipe(prog_pipe) != 0 || (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
        set_msg(err, errsize, "charts: cannot set up the renderer: %s", strerror(errno));
        rc = BB_ERR_INTERNAL;
        goto fail;
    }
    for (int k = 0; k < 2; k++) {
        set_cloexec(err_pipe[k]);
        set_cloexec(prog_pipe[k]);
    }
    pid_t pid = fork();
    if (pid < 0) {
        set_msg(err, errsize, "charts: cannot start the renderer: %s", strerror(errno));
        rc = BB_ERR_INTERNAL;
        goto fail;
    }
    if (pid == 0) {
        if (dup2(devnull, STDIN_FILENO) < 0 || dup2(devnull, STDOUT_FILENO) < 0 ||
            dup2(err_pipe[1], STDERR_FILENO) < 0)
            _exit(CHILD_FAILED);
        close(err_pipe[0]);
        close(prog_pipe[0]);
        child_main(charts, n, tmp, prog_pipe[1]);
    }
    close_fd(&err_pipe[1]);
    close_fd(&prog_pipe[1]);
    close_fd(&devnull);

    int wstatus = 0;
    double timeout_s = 60.0 + 5.0 * (double)n;
    bool in_time = collect_child(pid, &err_pipe[0], &prog_pipe[0], timeout_s, &errtext, &progress, &wstatus);
    char said[640];
    stderr_tail(&errtext, said, sizeof said);
    if (!in_time || wstatus == -1 || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != CHILD_OK) {
        size_t at = last_started(&progress, n);
        if (at < n)
            describe_at(charts, at, pos, who, sizeof who);
        else
            snprintf(who, sizeof who, "charts (before the first of %zu)", pos.total);
        char how[96];
        if (!in_time)
            snprintf(how, sizeof how, "renderer timed out after %.0f s", timeout_s);
        else if (wstatus == -1)
            snprintf(how, sizeof how, "renderer could not be waited for");
        else if (WIFSIGNALED(wstatus))
            snprintf(how, sizeof how, "renderer killed by signal %d (%s)", WTERMSIG(wstatus),
                     strsignal(WTERMSIG(wstatus)));
        else
            snprintf(how, sizeof how, "renderer failed with exit status %d", WEXITSTATUS(wstatus));
        set_msg(err, errsize, "%s: %s%s%s", who, how, said[0] ? ": " : "", said);
        rc = BB_ERR_INTERNAL;
        goto fail;
    }

    for (size_t k = 0; k < 2 * n; k++) {
        if (tmp[k] && !file_looks_right(tmp[k], k % 2 == 0)) {
            describe_at(charts, k / 2, pos, who, sizeof who);
            set_msg(err, errsize, "%s: the renderer left an empty or invalid %s file%s%s", who,
                    k % 2 ? "SVG" : "PNG", said[0] ? "; it said: " : "", said);
            rc = BB_ERR_INTERNAL;
            goto fail;
        }
    }
    for (size_t k = 0; k < 2 * n; k++) {
        if (!tmp[k])
            continue;
        const char *path = k % 2 ? charts[k / 2].svg_path : charts[k / 2].png_path;
        if (rename(tmp[k], path) != 0) {
            describe_at(charts, k / 2, pos, who, sizeof who);
            set_msg(err, errsize, "%s: cannot rename %s to %s: %s", who, tmp[k], path, strerror(errno));
            rc = BB_ERR_IO;
            goto fail;
        }
        made[k] = false;
    }
    if (said[0])
        set_msg(err, errsize, "PLplot warnings: %s", said);

fail:
    for (size_t k = 0; tmp && k < 2 * n; k++) {
        if (made && made[k])
            unlink(tmp[k]);
        free(tmp[k]);
    }
    free(tmp);
    free(made);
    close_fd(&err_pipe[0]);
    close_fd(&err_pipe[1]);
    close_fd(&prog_pipe[0]);
    close_fd(&prog_pipe[1]);
    close_fd(&devnull);
    bb_buf_free(&errtext);
    bb_buf_free(&progress);
    return rc;
}

const char *bb_chart_library_version(void)
{
    return "PLplot " PLPLOT_VERSION;
}

/*
 * Charts are CPU-bound in cairo: with two or more cores, a batch of four or
 * more is split in two halves drawn at the same time, the first half by a
 * forked helper process (which itself forks its renderer as render_batch()
 * does) that reports its result and message back through a pipe.
 */
bb_err bb_chart_render(const bb_chart *charts, size_t n, char *err, size_t errsize)
{
    batch_pos all = {0, n};
    set_msg(err, errsize, "%s", "");
    if (n == 0)
        return BB_OK;
    if (!charts || n > BB_CHART_MAX_BATCH)
        return render_batch(charts, n, all, err, errsize);
    /* Every chart is checked before any is drawn, whatever the split. */
    for (size_t i = 0; i < n; i++) {
        const char *why = validate(&charts[i]);
        if (why) {
            char who[128];
            describe_at(charts, i, all, who, sizeof who);
            set_msg(err, errsize, "%s: %s", who, why);
            return BB_ERR_INTERNAL;
        }
    }
    if (n < 4 || sysconf(_SC_NPROCESSORS_ONLN) < 2)
        return render_batch(charts, n, all, err, errsize);
    /* Split: also check now that every file can be created, so that a bad
     * path stops the batch before either half draws anything. */
    for (size_t k = 0; k < 2 * n; k++) {
        const char *path = k % 2 ? charts[k / 2].svg_path : charts[k / 2].png_path;
        if (!path || !path[0])
            continue;
        char dir[4096];
        const char *slash = strrchr(path, '/');
        if (!slash)
            snprintf(dir, sizeof dir, ".");
        else
            snprintf(dir, sizeof dir, "%.*s", (int)(slash == path ? 1 : slash - path), path);
        if (access(dir, W_OK | X_OK) != 0) {
            char who[128];
            describe_at(charts, k / 2, all, who, sizeof who);
            set_msg(err, errsize, "%s: cannot create %s: %s", who, path, strerror(errno));
            return BB_ERR_CANTCREAT;
        }
    }
    size_t half = n / 2;
    int fds[2];
    if (pipe(fds) != 0)
        return render_batch(charts, n, all, err, errsize);
    set_cloexec(fds[0]);
    set_cloexec(fds[1]);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return render_batch(charts, n, all, err, errsize);
    }
    if (pid == 0) {
        close(fds[0]);
        char msg[1024];
        bb_err rc = render_batch(charts, half, (batch_pos){0, n}, msg, sizeof msg);
        int code = (int)rc;
        size_t len = strlen(msg);
        if (write(fds[1], &code, sizeof code) != (ssize_t)sizeof code ||
            write(fds[1], msg, len) != (ssize_t)len)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    bb_err rc2 = render_batch(charts + half, n - half, (batch_pos){half, n}, err, errsize);
    /* The helper's answer: its code, then its message. */
    int code = (int)BB_ERR_INTERNAL;
    char msg[1024];
    size_t len = 0;
    ssize_t got = read(fds[0], &code, sizeof code);
    if (got == (ssize_t)sizeof code) {
        ssize_t r;
        while (len < sizeof msg - 1 && (r = read(fds[0], msg + len, sizeof msg - 1 - len)) > 0)
            len += (size_t)r;
    } else {
        code = (int)BB_ERR_INTERNAL;
        len = (size_t)snprintf(msg, sizeof msg, "charts: the helper process gave no answer");
    }
    msg[len] = '\0';
    close(fds[0]);
    int wstatus;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
        ;
    bb_err rc1 = (bb_err)code;
    if (rc1 != BB_OK) {
        set_msg(err, errsize, "%s", msg);
        return rc1;
    }
    if (rc2 == BB_OK && msg[0]) {
        /* Warnings of the first half, ahead of the second's. */
        char both[2048];
        snprintf(both, sizeof both, "%s%s%s", msg, err && err[0] ? "; " : "", err ? err : "");
        set_msg(err, errsize, "%s", both);
    }
    return rc2;
}
