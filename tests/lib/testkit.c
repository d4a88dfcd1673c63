/*
 * testkit.c - the test kit's failure counting and shared helpers
 * (dmt/testkit.h).
 */
#include "dmt/testkit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

_Atomic int tk_failures;
_Atomic int tk_checks;
int tk_max_reports;
int tk_max_failures;

static bool report_begin(const char *file, int line, const char *ctx, const char *what,
                         const char *expr)
{
    int n = ++tk_failures;
    if (tk_max_reports > 0 && n > tk_max_reports)
        return false;
    fprintf(stderr, "%s:%d: ", file, line);
    if (ctx && *ctx)
        fprintf(stderr, "[%s] ", ctx);
    fprintf(stderr, "%s failed: %s", what, expr);
    return true;
}

static void report_end(void)
{
    if (tk_max_failures > 0 && tk_failures > tk_max_failures) {
        fprintf(stderr, "more than %d failures; giving up\n", tk_max_failures);
        exit(1);
    }
}

void tk_fail(const char *file, int line, const char *ctx, const char *what, const char *expr)
{
    if (report_begin(file, line, ctx, what, expr))
        fputc('\n', stderr);
    report_end();
}

void tk_failf(const char *file, int line, const char *ctx, const char *what, const char *expr,
              const char *fmt, ...)
{
    if (report_begin(file, line, ctx, what, expr)) {
        va_list ap;
        va_start(ap, fmt);
        fputs(": ", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    report_end();
}

int tk_result(const char *name)
{
    if (tk_failures) {
        fprintf(stderr, "%s: %d of %d check(s) failed\n", name, tk_failures, tk_checks);
        return 1;
    }
    fprintf(stderr, "%s: all %d checks passed\n", name, tk_checks);
    return 0;
}

unsigned long long tk_rand(unsigned long long *s)
{
    unsigned long long x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

int tk_sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd)
        return -1;
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

uint8_t *tk_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *p = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0)
        p = malloc((size_t)n + 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        fclose(f);
        return NULL;
    }
    fclose(f);
    p[n] = 0;
    *len = (size_t)n;
    return p;
}

bool tk_mkdtemp(char *dir, size_t cap, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(dir, cap, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "tk_mkdtemp: %s: path too long\n", name);
        return false;
    }
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return false;
    }
    return true;
}

const char *tk_bin_dir(void)
{
    return TK_BIN_DIR;
}

bool tk_have_capture(const char *name)
{
    if (tk_sh("%s/dmatrace capture --help > /dev/null 2>&1", tk_bin_dir()) == 0)
        return true;
    fprintf(stderr, "%s: no capture command in this build: skipped\n", name);
    return false;
}

bool tk_capture(const char *args, const char *out)
{
    int rc = tk_sh("%s/dmatrace capture %s -o %s > %s.log 2>&1", tk_bin_dir(), args, out, out);
    CHECKF(rc == 0, "capture %s: exit %d", args, rc);
    return rc == 0;
}
