/*
 * cli.c - shared helpers of the dmatrace subcommands (see cli.h).
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmt/digest.h"
#include "dmt/platform.h"

int cli_report(const char *cmd, const char *file, const dmt_error *err)
{
    fprintf(stderr, "dmatrace %s: %s", cmd, file ? file : "(input)");
    if (err->offset != DMT_NO_INDEX)
        fprintf(stderr, ": byte %llu", (unsigned long long)err->offset);
    if (err->index != DMT_NO_INDEX)
        fprintf(stderr, "%s record %llu", err->offset != DMT_NO_INDEX ? "," : ":",
                (unsigned long long)err->index);
    fprintf(stderr, ": %s\n", err->msg);
    return dmt_error_exit_status(err->code);
}

int cli_fail(const char *cmd, int status, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dmatrace %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return status;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dmatrace %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try 'dmatrace %s --help')\n", cmd);
    return CLI_BAD;
}

const char *cli_ns(char *buf, size_t cap, int64_t ns)
{
    double v = (double)ns;
    double a = v < 0 ? -v : v;
    if (a < 1e3)
        snprintf(buf, cap, "%lld ns", (long long)ns);
    else if (a < 1e6)
        snprintf(buf, cap, "%.3f us", v / 1e3);
    else if (a < 1e9)
        snprintf(buf, cap, "%.3f ms", v / 1e6);
    else
        snprintf(buf, cap, "%.3f s", v / 1e9);
    return buf;
}

bool cli_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

bool cli_progress_enabled(void)
{
    return isatty(STDERR_FILENO);
}

bool cli_has_suffix(const char *path, const char *suffix)
{
    size_t n = strlen(path), m = strlen(suffix);
    return n >= m && strcmp(path + n - m, suffix) == 0;
}

bool cli_header_regmap(dmt_header *h, const char *file)
{
    FILE *f = fopen(file, "rb");
    if (!f)
        return false;
    dmt_xxh64_state s;
    dmt_xxh64_init(&s);
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        dmt_xxh64_update(&s, buf, n);
    int bad = ferror(f) ? EIO : 0;
    fclose(f);
    if (bad) {
        errno = bad;
        return false;
    }
    h->regmap_hash = dmt_xxh64_final(&s);
    const char *slash = strrchr(file, '/');
    snprintf(h->regmap_name, sizeof h->regmap_name, "%s", slash ? slash + 1 : file);
    return true;
}

void cli_header_machine(dmt_header *h)
{
    dmt_machine_info mi;
    dmt_machine_get(&mi);
    snprintf(h->host, sizeof h->host, "%s", mi.host);
    snprintf(h->os, sizeof h->os, "%s", mi.os);
    snprintf(h->boot_options, sizeof h->boot_options, "%s", mi.boot_options);
    h->os_build = mi.os_build;
    h->cpus = mi.cpus;
    h->page_size = mi.page_size;
    h->clock_hz = mi.clock_hz;
    h->phys_mem = mi.phys_mem;
}
