/*
 * bench_reader.c - the trace reader alone: records/s with the table-driven
 * decoder next to the libcbor reference (DMT_READ_REFERENCE) and to read()
 * of the same bytes, measured in the same run.
 *
 *   bench_reader [TRACE.dmat|- [DIR]]      (temporary traces in DIR, $TMPDIR or /tmp)
 *
 * Two traces: a stream of register writes (the replay's hot case, 4 M
 * records) and a gen_trace session (every kind, SG lists up to 64
 * elements; 2 M records) or the trace given.  Each figure is
 * the best of 5 runs from the page cache (the machine is shared: the
 * fastest run is the least disturbed).  Prints RESULT lines: figure,
 * measured, target, same-run baseline, ratio.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_read.h"
#include "dmt/writer.h"
#include "gen_trace.h"

#define RUNS 5

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* read() of the whole file in the reader's window size: the floor. */
static double read_floor(const char *path)
{
    static char buf[4u * DMT_MAX_RECORD];
    double t0 = now();
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    while (read(fd, buf, sizeof buf) > 0)
        ;
    close(fd);
    return now() - t0;
}

static double best(double (*f)(const char *, unsigned, uint64_t *), const char *path,
                   unsigned flags, uint64_t *n)
{
    double b = -1;
    for (int k = 0; k < RUNS; k++) {
        double t = f(path, flags, n);
        if (t < 0)
            return -1;
        if (b < 0 || t < b)
            b = t;
    }
    return b;
}

static double floor_best(const char *path)
{
    double b = -1;
    for (int k = 0; k < RUNS; k++) {
        double t = read_floor(path);
        if (b < 0 || t < b)
            b = t;
    }
    return b;
}

static int write_regs(const char *path, uint64_t n)
{
    dmt_header h;
    memset(&h, 0, sizeof h);
    snprintf(h.producer, sizeof h.producer, "bench_reader");
    snprintf(h.clock, sizeof h.clock, "deterministic");
    dmt_writer *w;
    dmt_error err;
    if (dmt_writer_open(path, &h, 0, &w, &err) != 0) {
        fprintf(stderr, "bench_reader: %s: %s\n", path, err.msg);
        return -1;
    }
    dmt_record r;
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_REG_WRITE;
    r.width = 4;
    for (uint64_t i = 0; i < n; i++) {
        r.ts = (int64_t)i * 10;
        r.seq = i;
        r.off = 0x100 + (i % 8) * 4;
        r.value = (uint32_t)(i * 2654435761u);
        if (dmt_writer_append(w, &r, &err) != 0)
            break;
    }
    if (dmt_writer_close(w, &err) != 0) {
        fprintf(stderr, "bench_reader: %s: %s\n", path, err.msg);
        return -1;
    }
    return 0;
}

static void report(const char *what, const char *path)
{
    uint64_t n = 0, m = 0;
    double tf = best(bench_read_all, path, 0, &n);
    double tr = best(bench_read_all, path, DMT_READ_REFERENCE, &m);
    double tfloor = floor_best(path);
    if (tf <= 0 || tr <= 0 || tfloor <= 0 || n != m) {
        fprintf(stderr, "bench_reader: %s: runs failed or disagree\n", path);
        return;
    }
    printf("RESULT\treader, %s, table-driven\t%.1f M records/s\t>= 2x libcbor\t%.1f M records/s "
           "libcbor reference\t%.2f\n",
           what, (double)n / tf / 1e6, (double)n / tr / 1e6, tr / tf);
    printf("RESULT\treader, %s, floor\t%.1f M records/s\t-\t%.1f M records/s read() of the "
           "same bytes\t%.2f\n",
           what, (double)n / tf / 1e6, (double)n / tfloor / 1e6, tfloor / tf);
}

int main(int argc, char **argv)
{
    /* bench_reader [TRACE.dmat [DIR]] */
    const char *in = argc > 1 ? argv[1] : NULL;
    const char *dir = argc > 2 ? argv[2] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    uint64_t events = 2000000;
    if (in && !strcmp(in, "-"))
        in = NULL;
    char regs[512], sess[512];
    snprintf(regs, sizeof regs, "%s/bench_reader_regs.%d.dmat", dir, (int)getpid());
    snprintf(sess, sizeof sess, "%s/bench_reader_session.%d.dmat", dir, (int)getpid());
    if (write_regs(regs, 4u << 20) == 0)
        report("register writes", regs);
    unlink(regs);
    if (!in) {
        gen_opts o = {events, 1, 0};
        gen_result res;
        dmt_error err;
        if (gen_trace_write(sess, &o, &res, &err) != 0) {
            fprintf(stderr, "bench_reader: gen_trace: %s\n", err.msg);
            return 1;
        }
        in = sess;
    }
    report("gen_trace session", in);
    unlink(sess);
    return 0;
}
