/*
 * dmtv-units.c - formatting and parsing of times, sizes and addresses for
 * the viewer (see dmtv-units.h).
 */
#include "dmtv-units.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int64_t ns;
} units[] = {{"s", 1000000000}, {"ms", 1000000}, {"µs", 1000}, {"ns", 1}};

void dmtv_format_duration(char *buf, size_t cap, int64_t ns, int digits)
{
    int64_t a = ns < 0 ? -ns : ns;
    size_t u = 3;
    for (size_t i = 0; i < 4; i++)
        if (a >= units[i].ns) {
            u = i;
            break;
        }
    double v = (double)ns / (double)units[u].ns;
    if (u == 3) {
        snprintf(buf, cap, "%" PRId64 " ns", ns);
        return;
    }
    /* significant digits: integer part counts */
    int ip = fabs(v) >= 100 ? 3 : fabs(v) >= 10 ? 2 : 1;
    int dec = digits - ip;
    if (dec < 0)
        dec = 0;
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*f", dec, v);
    /* drop trailing zeros after a decimal point */
    if (strchr(tmp, '.')) {
        size_t n = strlen(tmp);
        while (n > 0 && tmp[n - 1] == '0')
            tmp[--n] = 0;
        if (n > 0 && tmp[n - 1] == '.')
            tmp[--n] = 0;
    }
    snprintf(buf, cap, "%s %s", tmp, units[u].name);
}

void dmtv_format_tick(char *buf, size_t cap, int64_t rel_ns, int64_t step, int64_t max_abs)
{
    if (step < 1)
        step = 1;
    if (max_abs < step)
        max_abs = step;
    /* the unit of the largest label in view, so every tick reads alike */
    size_t u = 3;
    for (size_t i = 0; i < 4; i++)
        if (max_abs >= units[i].ns) {
            u = i;
            break;
        }
    int64_t un = units[u].ns;
    /* just enough decimals to tell ticks apart */
    int dec = 0;
    int64_t s = step;
    while (dec < 9 && (s % un) != 0) {
        s *= 10;
        dec++;
    }
    if (rel_ns % un == 0 && step % un == 0)
        snprintf(buf, cap, "%" PRId64 " %s", rel_ns / un, units[u].name);
    else
        snprintf(buf, cap, "%.*f %s", dec, (double)rel_ns / (double)un, units[u].name);
}

void dmtv_format_cursor(char *buf, size_t cap, int64_t rel_ns)
{
    const char *sign = "";
    uint64_t a = (uint64_t)rel_ns;
    if (rel_ns < 0) {
        sign = "-";
        a = (uint64_t)0 - (uint64_t)rel_ns;
    }
    uint64_t s = a / 1000000000u, f = a % 1000000000u;
    snprintf(buf, cap, "%s%" PRIu64 ".%03" PRIu64 " %03" PRIu64 " %03" PRIu64 " s", sign, s,
             f / 1000000u, f / 1000u % 1000u, f % 1000u);
}

int64_t dmtv_tick_step(double min_ns)
{
    if (!(min_ns > 1))
        return 1;
    int64_t p = 1;
    for (;;) {
        if ((double)p >= min_ns)
            return p;
        if ((double)(2 * p) >= min_ns)
            return 2 * p;
        if ((double)(5 * p) >= min_ns)
            return 5 * p;
        if (p > INT64_MAX / 100)
            return p * 10;
        p *= 10;
    }
}

void dmtv_format_bytes(char *buf, size_t cap, uint64_t b)
{
    static const char *suf[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    size_t i = 0;
    while (v >= 1024.0 && i < 4) {
        v /= 1024.0;
        i++;
    }
    if (i == 0)
        snprintf(buf, cap, "%" PRIu64 " B", b);
    else if (v == floor(v))
        snprintf(buf, cap, "%.0f %s", v, suf[i]);
    else
        snprintf(buf, cap, "%.*f %s", v < 10 ? 2 : 1, v, suf[i]);
}

void dmtv_format_addr(char *buf, size_t cap, uint64_t addr)
{
    char hex[17];
    snprintf(hex, sizeof hex, "%" PRIx64, addr);
    size_t n = strlen(hex);
    if (n <= 8 || cap < 32) {
        snprintf(buf, cap, "0x%s", hex);
        return;
    }
    size_t o = 0;
    buf[o++] = '0';
    buf[o++] = 'x';
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 8 == 0)
            buf[o++] = '_';
        buf[o++] = hex[i];
    }
    buf[o] = 0;
}

static const char *skip_ws(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    return s;
}

int dmtv_parse_time(const char *s, int64_t *ns)
{
    if (!s)
        return -1;
    char *end;
    s = skip_ws(s);
    double v = strtod(s, &end);
    if (end == s || !isfinite(v))
        return -1;
    const char *u = skip_ws(end);
    double mul;
    if (!*u || !strcmp(u, "ns"))
        mul = 1;
    else if (!strcmp(u, "us") || !strcmp(u, "µs"))
        mul = 1e3;
    else if (!strcmp(u, "ms"))
        mul = 1e6;
    else if (!strcmp(u, "s"))
        mul = 1e9;
    else
        return -1;
    double r = v * mul;
    if (r > 9.2e18 || r < -9.2e18)
        return -1;
    *ns = (int64_t)llround(r);
    return 0;
}

int dmtv_parse_size(const char *s, uint64_t *v)
{
    if (!s)
        return -1;
    s = skip_ws(s);
    if (*s == '-' || !*s)
        return -1;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (end == s || errno == ERANGE)
        return -1;
    const char *u = skip_ws(end);
    uint64_t mul = 1;
    if (!*u || !strcasecmp(u, "b"))
        mul = 1;
    else if (!strcasecmp(u, "k") || !strcasecmp(u, "kib") || !strcasecmp(u, "kb"))
        mul = 1024;
    else if (!strcasecmp(u, "m") || !strcasecmp(u, "mib") || !strcasecmp(u, "mb"))
        mul = 1024 * 1024;
    else if (!strcasecmp(u, "g") || !strcasecmp(u, "gib") || !strcasecmp(u, "gb"))
        mul = 1024ull * 1024 * 1024;
    else
        return -1;
    if (x > UINT64_MAX / mul)
        return -1;
    *v = (uint64_t)x * mul;
    return 0;
}
