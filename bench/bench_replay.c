/*
 * bench_replay.c - replay rates of the dmm-mode replay engine (dmt_replay):
 *
 *  1. register writes/s: a stream of ring-register and scratch writes, fed
 *     to the engine from memory (engine rate) and read from a .dmat file
 *     (reader + engine, what `dmatrace replay` does);
 *  2. SG elements/s: whole transfers (lock, pattern, StartDma, a 64-element
 *     SG list, descriptors, ring registers, doorbell, ISR, digest,
 *     CompleteDma) at element sizes 64 B, 512 B and 4 KiB - the engine maps
 *     every element, the model moves its data and the digest is checked
 *     (each transfer is one pattern: the model carries it without writing
 *     it and only the digested bytes are generated, device-model README
 *     section 10; uploads alternate with read-backs of the same device
 *     memory, each transfer a new seed);
 *  3. capture vs replay: `dmatrace capture` of each scenario (wall time of
 *     the process) against replaying the trace it wrote.
 *
 * Output: one line per case, the best of 7 runs (the machine is shared: the
 * fastest run is the one least disturbed; rates are per best run), and
 * RESULT lines (figure, measured, target, same-run baseline, ratio): file ->
 * verdict next to the reader alone and the engine alone; 4 KiB SG elements
 * next to floors of the same bytes with no replay at all: a memcpy, and the
 * model's copy plus one digest pass of the trace's algorithm (the model
 * digests DMT64 only when asked: a DMT64 "full" digest is checked against
 * it, an XXH64 or bounded one against the replayed buffer; bounded, the
 * capture default, is measured too).  The floors store and copy bytes the
 * replay now never writes, so the replay can beat them; for full digests a
 * second floor is the digest work alone: each distinct pattern generated
 * and digested once in one pass, next to generating alone and digesting
 * stored bytes alone.  Build Release (the release preset) for figures;
 * BENCHMARKS.md keeps the latest.
 *
 *   bench_replay [--quick | --writes | --sg4k [dmt64 | xxh64 | bounded]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "bench_read.h"
#include "dmt/digest.h"
#include "dmt/pattern.h"
#include "rpl/replay.h"
#include "session.h"

#define RUNS 7

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double best(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return v[0];
}

/* Feed rs to a fresh engine; returns seconds; *divs = divergences. */
static double feed_mem(const recs *rs, uint64_t *divs)
{
    rpl_opts o;
    rpl_opts_default(&o);
    o.all = true;
    dmt_error err;
    rpl_replay *r = rpl_new(&o, &err);
    rpl_set_header(r, &rs->hdr);
    double t0 = now_s();
    for (size_t i = 0; i < rs->n; i++)
        if (rpl_feed(r, &rs->r[i], &err) < 0)
            break;
    rpl_finish(r);
    double t = now_s() - t0;
    *divs = rpl_get_summary(r)->divergences;
    rpl_free(r);
    return t;
}

static double feed_file(const char *path, uint64_t *divs)
{
    rpl_opts o;
    rpl_opts_default(&o);
    o.all = true;
    dmt_error err;
    rpl_replay *r = NULL;
    double t0 = now_s();
    int rc = rpl_replay_file(path, &o, &r, &err);
    double t = now_s() - t0;
    if (rc != 0)
        fprintf(stderr, "bench_replay: %s: %s\n", path, err.msg);
    *divs = r ? rpl_get_summary(r)->divergences : 1;
    rpl_free(r);
    return t;
}

/* ---- 1. register writes ------------------------------------------------------ */

static void bench_writes(void)
{
    const size_t n = 4u << 20;
    static const uint32_t offs[] = {
        DMM_CH_BASE(0) + DMM_CH_DESC_LO,    DMM_CH_BASE(0) + DMM_CH_DESC_HI,
        DMM_CH_BASE(0) + DMM_CH_DESC_COUNT, DMM_REG_SCRATCH,
        DMM_CH_BASE(1) + DMM_CH_DESC_LO,    DMM_CH_BASE(1) + DMM_CH_DESC_HI,
        DMM_CH_BASE(1) + DMM_CH_DESC_COUNT, DMM_REG_SCRATCH};
    recs rs;
    memset(&rs, 0, sizeof rs);
    snprintf(rs.hdr.producer, sizeof rs.hdr.producer, "bench_replay");
    snprintf(rs.hdr.clock, sizeof rs.hdr.clock, "deterministic");
    rs.r = calloc(n, sizeof *rs.r);
    rs.n = rs.cap = n;
    for (size_t i = 0; i < n; i++) {
        dmt_record *r = &rs.r[i];
        r->kind = DMT_K_REG_WRITE;
        r->ts = (int64_t)i * 10;
        r->seq = i;
        r->width = 4;
        r->off = offs[i % 8];
        r->value = (uint32_t)(i * 2654435761u);
    }
    double v[RUNS];
    uint64_t d = 0;
    for (int k = 0; k < RUNS; k++)
        v[k] = feed_mem(&rs, &d);
    double t = best(v, RUNS), t_engine = t;
    printf("register writes, engine (from memory): %8.1f M writes/s  (%zu writes, %.1f ns each)\n",
           (double)n / t / 1e6, n, t * 1e9 / (double)n);
    char path[512];
    test_path(path, sizeof path, "bench_writes.dmat");
    if (recs_write(path, &rs) == 0) {
        for (int k = 0; k < RUNS; k++)
            v[k] = feed_file(path, &d);
        double t_file = best(v, RUNS);
        printf("register writes, reader + engine:      %8.1f M writes/s\n",
               (double)n / t_file / 1e6);
        /* the reader alone, both decoders, for reference */
        double t_reader[2];
        for (int ref = 0; ref < 2; ref++) {
            for (int k = 0; k < RUNS; k++)
                v[k] = bench_read_all(path, ref ? DMT_READ_REFERENCE : 0, NULL);
            t_reader[ref] = best(v, RUNS);
        }
        printf("  (the reader alone:                   %8.1f M records/s; %.1f with libcbor)\n",
               (double)n / t_reader[0] / 1e6, (double)n / t_reader[1] / 1e6);
        printf("RESULT\treplay, register writes, file -> verdict\t%.1f M/s\t>= 20 M/s\t%.1f M "
               "records/s reader alone\t%.2f\n",
               (double)n / t_file / 1e6, (double)n / t_reader[0] / 1e6, t_reader[0] / t_file);
        printf("RESULT\treplay, register writes, engine from memory\t%.1f M/s\t-\t%.1f M/s "
               "file -> verdict\t%.2f\n",
               (double)n / t_engine / 1e6, (double)n / t_file / 1e6, t_file / t_engine);
        printf("RESULT\treplay, register writes, reader alone\t%.1f M records/s\t-\t%.1f M "
               "records/s libcbor reference\t%.2f\n",
               (double)n / t_reader[0] / 1e6, (double)n / t_reader[1] / 1e6,
               t_reader[1] / t_reader[0]);
    }
    free(rs.r);
}

/* ---- 2. SG elements --------------------------------------------------------------- */

/* The work nx transfers of ne elements of elem bytes need with no replay
 * around it: the model's copy between host buffer and device memory and
 * one digest pass (algo, 0: none - the copy alone) over the bytes moved
 * (the pattern fill of to-device buffers comes on top).  Seconds. */
static double sg_floor(unsigned nx, uint32_t ne, uint32_t elem, uint32_t algo)
{
    size_t len = (size_t)ne * elem;
    uint8_t *a = malloc(len), *b = malloc(len);
    uint64_t sink = 0;
    if (a)
        dmt_pattern_fill(a, 1, 0, len);
    double t0 = now_s();
    for (unsigned t = 0; a && b && t < nx; t++) {
        memcpy(b, a, len);
        sink ^= algo ? dmt_digest(algo, b, len) : b[t % len];
    }
    double t = now_s() - t0;
    if (sink == 42)
        printf("(sink)\n");
    free(a);
    free(b);
    return t;
}

/* What a full digest of the nx transfers costs at least with no replay: the
 * bytes of each distinct pattern (the nx / 2 uploads; a read-back's digest
 * is the upload's, kept) generated and digested once.  how: 0 both in one
 * pass (dmt_digest_update_pattern, what the replay does), 1 generating
 * alone (into a 4 KiB block, as the fused pass does), 2 digesting alone
 * (a stored transfer, from cache).  Seconds. */
static double sg_digest_floor(unsigned nx, uint32_t ne, uint32_t elem, uint32_t algo, int how)
{
    size_t len = (size_t)ne * elem;
    uint8_t *a = malloc(len), blk[4096];
    uint64_t sink = 0;
    if (a)
        dmt_pattern_fill(a, 1, 0, len);
    double t0 = now_s();
    for (unsigned t = 0; a && t < nx; t += 2) {
        dmt_digest_state s;
        dmt_digest_init(&s, algo);
        if (how == 0)
            dmt_digest_update_pattern(&s, t + 1, 0, len);
        for (size_t o = 0; how == 1 && o < len; o += sizeof blk) {
            dmt_pattern_fill_fast(blk, t + 1, o, sizeof blk);
            sink += blk[t % sizeof blk];
        }
        if (how == 2)
            dmt_digest_update(&s, a, len);
        sink ^= how == 1 ? 0 : dmt_digest_final(&s);
    }
    double t = now_s() - t0;
    if (sink == 42)
        printf("(sink)\n");
    free(a);
    return t;
}

/* policy: DMT_DIGEST_FULL, or DMT_DIGEST_BOUNDED (a host capture's default,
 * with DMT64: the first and last 4 KiB and 16 samples of each transfer). */
static void bench_sg(uint32_t elem, uint32_t algo, uint32_t policy)
{
    sess_digest_algo = algo;
    sess_digest_policy = policy;
    const unsigned nx = elem >= 4096 ? 400 : 2000;
    const uint32_t ne = 64;
    char path[512];
    char name[64];
    snprintf(name, sizeof name, "bench_sg_%u_%u_%u.dmat", elem, algo, policy);
    test_path(path, sizeof path, name);
    sess *s = sess_open(path, NULL);
    dmt_sg_elem sg[64];
    for (unsigned t = 0; t < nx; t++) {
        for (uint32_t i = 0; i < ne; i++) {
            /* scattered pages, the element at a varying offset inside its page */
            sg[i].addr = ((uint64_t)(0x10000 + ((t * 131 + i * 7919) % 0x20000)) << 12) +
                         (elem < 4096 ? (i * 64) % (4096 - elem + 1) : 0);
            sg[i].len = elem;
            for (uint32_t j = 0; j < i; j++)
                if (sg[j].addr >> 12 == sg[i].addr >> 12)
                    sg[i].addr = ((uint64_t)(0x40000 + t % 64 * 64 + i) << 12);
        }
        sess_xfer(s, t & 1, sg, ne, (uint64_t)(t / 2 % 16) * 0x40000, t + 1, 0);
    }
    if (sess_close(s) != 0)
        return;
    recs rs;
    if (recs_load(path, &rs) != 0)
        return;
    double v[RUNS];
    uint64_t d = 0;
    for (int k = 0; k < RUNS; k++)
        v[k] = feed_mem(&rs, &d);
    double t = best(v, RUNS);
    uint64_t elems = (uint64_t)nx * ne;
    printf("SG elements of %4u B, engine:           %8.2f M elements/s  %7.0f MB/s  "
           "(%zu records, %.2f M records/s, %llu divergences)\n",
           elem, (double)elems / t / 1e6, (double)elems * elem / t / 1e6, rs.n,
           (double)rs.n / t / 1e6, (unsigned long long)d);
    for (int k = 0; k < RUNS; k++)
        v[k] = feed_file(path, &d);
    double t_file = best(v, RUNS);
    const char *an = algo == DMT_DIGEST_XXH64 ? "XXH64" : "DMT64";
    const char *pn = policy == DMT_DIGEST_BOUNDED ? " bounded" : "";
    printf("SG elements of %4u B, reader + engine:  %8.2f M elements/s (%s%s digests)\n", elem,
           (double)elems / t_file / 1e6, an, pn);
    if (elem == 4096) {
        double w[RUNS];
        for (int k = 0; k < RUNS; k++) {
            v[k] = sg_floor(nx, ne, elem, policy == DMT_DIGEST_BOUNDED ? 0 : algo);
            w[k] = sg_floor(nx, ne, elem, 0);
        }
        double t_floor = best(v, RUNS), t_copy = best(w, RUNS);
        printf(
            "RESULT\treplay, SG elements of 4 KiB (%s%s digests), file -> verdict\t%.2f M/s\t>= 2 "
            "M/s\t%.2f M/s floor: the model's copy + %s of the same bytes (memcpy alone %.2f "
            "M/s)\t%.2f\n",
            an, pn, (double)elems / t_file / 1e6, (double)elems / t_floor / 1e6,
            policy == DMT_DIGEST_BOUNDED ? "no digest" : an, (double)elems / t_copy / 1e6,
            t_floor / t_file);
    }
    if (elem == 4096 && policy == DMT_DIGEST_FULL) {
        double f[3];
        for (int how = 0; how < 3; how++) {
            for (int k = 0; k < RUNS; k++)
                v[k] = sg_digest_floor(nx, ne, elem, algo, how);
            f[how] = best(v, RUNS);
        }
        printf("RESULT\treplay, SG elements of 4 KiB (%s digests), the digest floor: each distinct "
               "pattern generated and digested once, one pass, no replay\t%.2f M/s\t-\t"
               "generating alone %.2f M/s, %s of stored bytes alone %.2f M/s; replay %.2f "
               "M/s\t%.2f\n",
               an, (double)elems / f[0] / 1e6, (double)elems / f[1] / 1e6, an,
               (double)elems / f[2] / 1e6, (double)elems / t_file / 1e6, f[0] / t_file);
    }
    recs_free(&rs);
}

/* ---- 3. capture vs replay ------------------------------------------------------------- */

static void bench_capture(const char *scenario, bool threads)
{
    char path[512], cmd[1024];
    snprintf(cmd, sizeof cmd, "cap_%s%s.dmat", scenario, threads ? "" : "_det");
    test_path(path, sizeof path, cmd);
    snprintf(cmd, sizeof cmd, "%s/dmatrace capture --scenario %s %s -o %s > /dev/null 2>&1",
             DMT_BIN_DIR, scenario, threads ? "" : "--deterministic-clock", path);
    double v[RUNS], w[RUNS];
    uint64_t d = 0;
    const int runs = 3; /* captures are slow */
    for (int k = 0; k < runs; k++) {
        double t0 = now_s();
        int st = system(cmd);
        v[k] = now_s() - t0;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            printf("capture %-14s: dmatrace capture failed (%s)\n", scenario, cmd);
            return;
        }
        w[k] = feed_file(path, &d);
    }
    double c = best(v, runs), r = best(w, runs);
    printf("capture %-14s %-13s: capture %8.2f ms, replay %7.2f ms: %6.1fx  (%llu divergences)\n",
           scenario, threads ? "(threads)" : "(determin.)", c * 1e3, r * 1e3, c / r,
           (unsigned long long)d);
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && !strcmp(argv[1], "--quick");
    if (argc > 1 && !strcmp(argv[1], "--sg4k")) {
        /* optional second word: one case only (dmt64, xxh64, bounded) */
        const char *only = argc > 2 ? argv[2] : "";
        if (!*only || !strcmp(only, "dmt64"))
            bench_sg(4096, DMT_DIGEST_DMT64, DMT_DIGEST_FULL);
        if (!*only || !strcmp(only, "xxh64"))
            bench_sg(4096, DMT_DIGEST_XXH64, DMT_DIGEST_FULL);
        if (!*only || !strcmp(only, "bounded"))
            bench_sg(4096, DMT_DIGEST_DMT64, DMT_DIGEST_BOUNDED);
        return 0;
    }
    bench_writes();
    if (argc > 1 && !strcmp(argv[1], "--writes"))
        return 0;
    bench_sg(64, DMT_DIGEST_DMT64, DMT_DIGEST_FULL);
    bench_sg(512, DMT_DIGEST_DMT64, DMT_DIGEST_FULL);
    bench_sg(4096, DMT_DIGEST_DMT64, DMT_DIGEST_FULL);
    bench_sg(4096, DMT_DIGEST_XXH64, DMT_DIGEST_FULL);
    bench_sg(4096, DMT_DIGEST_DMT64, DMT_DIGEST_BOUNDED);
    if (!quick) {
        static const char *const sc[] = {"mixed", "dma32-highmem", "no-sg", "burst"};
        for (int i = 0; i < 4; i++) {
            bench_capture(sc[i], false);
            bench_capture(sc[i], true);
        }
    }
    return 0;
}
