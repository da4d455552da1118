#include "util/date.h"

#include <stdio.h>
#include <string.h>

/* Howard Hinnant's days_from_civil / civil_from_days algorithms. */
int32_t bb_date_from_ymd(int y, int m, int d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + (int)doe - 719468);
}

void bb_date_to_ymd(int32_t day, int *y, int *m, int *d)
{
    int z = day + 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int yy = (int)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned dd = doy - (153 * mp + 2) / 5 + 1;
    const unsigned mm = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (mm <= 2);
    *m = (int)mm;
    *d = (int)dd;
}

bool bb_date_valid_ymd(int y, int m, int d)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
        return false;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int max = mdays[m - 1] + (m == 2 && leap);
    return d <= max;
}

bool bb_date_fmt_compile(bb_date_fmt *f, const char *pattern)
{
    memset(f, 0, sizeof *f);
    if (strlen(pattern) >= sizeof f->text)
        return false;
    memcpy(f->text, pattern, strlen(pattern) + 1);
    int have_y = 0, have_m = 0, have_d = 0;
    const char *p = pattern;
    while (*p) {
        if (f->ntok == (int)(sizeof f->tok / sizeof f->tok[0]))
            return false;
        bb_date_tok *t = &f->tok[f->ntok++];
        if (strncmp(p, "YYYY", 4) == 0) {
            t->kind = 'Y', t->min_digits = t->max_digits = 4, p += 4, have_y++;
        } else if (*p == 'M' || *p == 'D') {
            char c = *p;
            int two = p[1] == c;
            t->kind = c;
            t->min_digits = two ? 2 : 1;
            t->max_digits = 2;
            p += two ? 2 : 1;
            if (c == 'M')
                have_m++;
            else
                have_d++;
        } else if (*p == 'Y' || (*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z')) {
            return false;
        } else {
            t->kind = 'L', t->lit = *p++;
        }
    }
    return have_y == 1 && have_m == 1 && have_d == 1;
}

bool bb_date_parse(const bb_date_fmt *f, const char *s, size_t len, int32_t *day)
{
    int v[3] = {0, 0, 0}; /* y, m, d */
    size_t i = 0;
    for (int k = 0; k < f->ntok; k++) {
        const bb_date_tok *t = &f->tok[k];
        if (t->kind == 'L') {
            if (i >= len || s[i] != t->lit)
                return false;
            i++;
            continue;
        }
        int n = 0, val = 0;
        while (i < len && n < t->max_digits && s[i] >= '0' && s[i] <= '9') {
            val = val * 10 + (s[i] - '0');
            i++, n++;
        }
        if (n < t->min_digits)
            return false;
        v[t->kind == 'Y' ? 0 : t->kind == 'M' ? 1 : 2] = val;
    }
    if (i != len || !bb_date_valid_ymd(v[0], v[1], v[2]))
        return false;
    *day = bb_date_from_ymd(v[0], v[1], v[2]);
    return true;
}

bool bb_date_parse_iso(const char *s, int32_t *day)
{
    bb_date_fmt f;
    bb_date_fmt_compile(&f, "YYYY-MM-DD");
    return bb_date_parse(&f, s, strlen(s), day);
}

void bb_date_format(int32_t day, char out[static 11])
{
    int y, m, d;
    bb_date_to_ymd(day, &y, &m, &d);
    unsigned yy = (unsigned)(y < 0 ? 0 : y % 10000);
    out[0] = (char)('0' + yy / 1000);
    out[1] = (char)('0' + yy / 100 % 10);
    out[2] = (char)('0' + yy / 10 % 10);
    out[3] = (char)('0' + yy % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}

int bb_date_weekday(int32_t day)
{
    /* 1970-01-01 was a Thursday (3 with Monday = 0). */
    int w = (day + 3) % 7;
    return w < 0 ? w + 7 : w;
}

int32_t bb_date_month_index(int32_t day)
{
    int y, m, d;
    bb_date_to_ymd(day, &y, &m, &d);
    return y * 12 + (m - 1);
}

int32_t bb_date_month_start(int32_t month_index)
{
    return bb_date_from_ymd(month_index / 12, month_index % 12 + 1, 1);
}
