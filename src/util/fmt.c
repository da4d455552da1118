#include "util/fmt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Writes the digits of u with a comma every three, into tmp from the end. */
static size_t group_digits(char *tmp, size_t tmpsize, uint64_t u)
{
    size_t pos = tmpsize;
    int count = 0;
    do {
        if (count && count % 3 == 0)
            tmp[--pos] = ',';
        tmp[--pos] = (char)('0' + u % 10);
        u /= 10;
        count++;
    } while (u);
    return pos;
}

static char *put(char *buf, size_t size, const char *s)
{
    if (size == 0)
        return buf;
    size_t n = strlen(s);
    if (n >= size)
        n = size - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

char *bb_fmt_int(char *buf, size_t size, int64_t v)
{
    char tmp[40];
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t pos = group_digits(tmp, sizeof tmp - 1, u);
    tmp[sizeof tmp - 1] = '\0';
    if (v < 0)
        tmp[--pos] = '-';
    return put(buf, size, tmp + pos);
}

char *bb_fmt_money(char *buf, size_t size, int64_t cents)
{
    char tmp[48];
    uint64_t u = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
    tmp[sizeof tmp - 1] = '\0';
    tmp[sizeof tmp - 2] = (char)('0' + u % 10);
    tmp[sizeof tmp - 3] = (char)('0' + (u / 10) % 10);
    tmp[sizeof tmp - 4] = '.';
    size_t pos = group_digits(tmp, sizeof tmp - 4, u / 100);
    if (cents < 0)
        tmp[--pos] = '-';
    return put(buf, size, tmp + pos);
}

char *bb_fmt_fixed(char *buf, size_t size, double v, int decimals)
{
    if (!isfinite(v))
        return put(buf, size, isnan(v) ? "n/a" : v > 0 ? "inf" : "-inf");
    if (decimals < 0)
        decimals = 0;
    if (decimals > 9)
        decimals = 9;
    double scale = pow(10.0, decimals);
    double r = round(fabs(v) * scale);
    if (r > 9e18)
        return put(buf, size, "overflow");
    uint64_t scaled = (uint64_t)r;
    uint64_t p10 = (uint64_t)scale;
    char tmp[48];
    size_t end = sizeof tmp - 1;
    tmp[end] = '\0';
    size_t pos = end;
    if (decimals > 0) {
        uint64_t frac = scaled % p10;
        for (int i = 0; i < decimals; i++) {
            tmp[--pos] = (char)('0' + frac % 10);
            frac /= 10;
        }
        tmp[--pos] = '.';
    }
    char head[40];
    size_t hp = group_digits(head, sizeof head, scaled / p10);
    size_t hn = sizeof head - hp;
    pos -= hn;
    memcpy(tmp + pos, head + hp, hn);
    if (v < 0 && scaled != 0)
        tmp[--pos] = '-';
    return put(buf, size, tmp + pos);
}

char *bb_fmt_pct(char *buf, size_t size, double ratio, int decimals)
{
    char num[48];
    bb_fmt_fixed(num, sizeof num, ratio * 100.0, decimals);
    if (!isfinite(ratio))
        return put(buf, size, num);
    snprintf(buf, size, "%s %%", num);
    return buf;
}

char *bb_fmt_cents_plain(char *buf, size_t size, int64_t cents)
{
    uint64_t u = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
    snprintf(buf, size, "%s%llu.%02llu", cents < 0 ? "-" : "", (unsigned long long)(u / 100),
             (unsigned long long)(u % 100));
    return buf;
}

char *bb_fmt_bytes(char *buf, size_t size, uint64_t bytes)
{
    static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%llu B", (unsigned long long)bytes);
    else {
        char num[32];
        snprintf(buf, size, "%s %s", bb_fmt_fixed(num, sizeof num, v, 1), unit[u]);
    }
    return buf;
}
