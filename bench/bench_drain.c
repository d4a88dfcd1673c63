/*
 * bench_drain.c - the recorder's drain: ring -> validated file records.
 *
 * 1. Throughput (per CPU-second of the draining thread, as the machine is
 *    shared): a ring pre-filled with a realistic record mix (register
 *    writes and reads, 16-element SG lists, descriptor writes, lifecycle
 *    records) is drained into a trace file; MB/s of file bytes written is
 *    reported next to writing the same number of bytes with plain write()
 *    in 64 KiB chunks to the same directory, measured in the same run.
 *    A second floor, also same-run: memcpy of the ring's used bytes (what
 *    moving the data costs with no validation and no file).  The same
 *    records split over a 2-ring per-CPU region measure the merge.  The
 *    same two drains item by item (dmt_drain_set_runs off: every item
 *    through dmt_ring_next) give the per-item path's figures, same run, and
 *    with runs but every record through the full check
 *    (dmt_drain_set_shape_cache off) the check's share.
 * 2. Loss: a producer thread paced at 20 million records/s (or as fast as
 *    it can, which is reported) for 2 s into a ring of the default size
 *    (64 MiB) while the drain writes the file; the producer copies records
 *    of the mix encoded once up front, so the ring write is its per-record
 *    cost; records lost are reported (target: none).  The drain flushes the
 *    current chunk every 100 ms as `dmatrace record --flush-ms` does (so a
 *    follower sees records within 100 ms); the cost of those flushes (mean
 *    and worst time per flush, share of the run) is reported.
 *
 * `bench_drain N DIR --floors` splits the one-ring drain, same run: the
 * run pass alone (dmt_ring_take_run), with the shape-cached check, the
 * whole drain into /dev/null (no file system), and into a file.
 *
 * `bench_drain N DIR --drain RINGS` runs one drain of a pre-filled region
 * of RINGS rings (with runs and the shape cache) and prints its rate, for
 * profiling the drain alone: with BENCH_DRAIN_PERF_CTL naming a perf
 * control FIFO (`perf record -D -1 --control=fifo:CTL,ACK`), the drain
 * writes "enable" to it before the drain and "disable" after, so the
 * profile leaves out filling the region.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "dmt/drain.h"
#include "dmt/enc.h"
#include "dmt/ring.h"
#include "dmt/ringcheck.h"
#include "dmt/writer.h"

static char dir[256] = "/tmp";

/* The mix: 20 records per transfer, roughly what the probe logs. */
static size_t make_record(uint8_t *buf, size_t cap, uint64_t i, int64_t t)
{
    static dmt_sg_elem sg[16];
    static uint8_t desc[64];
    dmt_record r;
    memset(&r, 0, sizeof r);
    r.width = 4;
    switch (i % 20) {
    case 0:
        r.kind = DMT_K_START_DMA;
        r.xfer = (uint32_t)i;
        r.adapter = 1;
        r.length = 65536;
        r.write_to_device = true;
        break;
    case 1:
        for (int k = 0; k < 16; k++) {
            sg[k].addr = 0x1F0000000ull + (i * 16 + (uint64_t)k) * 0x3000;
            sg[k].len = 4096;
        }
        r.kind = DMT_K_EXECUTE_DMA;
        r.xfer = (uint32_t)i;
        r.adapter = 1;
        r.length = 65536;
        r.n_sg = 16;
        r.sg_list = sg;
        break;
    case 2:
        r.kind = DMT_K_DESC_WRITE;
        r.cb = 1;
        r.n_bytes = sizeof desc;
        r.bytes = desc;
        break;
    case 3:
    case 4:
    case 5:
    case 6:
    case 7:
    case 8:
    case 9:
    case 10:
    case 11:
    case 12:
        r.kind = DMT_K_REG_WRITE;
        r.off = 0x100 + (i % 8) * 4;
        r.value = i * 2654435761u;
        break;
    case 13:
    case 14:
    case 15:
        r.kind = DMT_K_REG_READ;
        r.off = 0x104;
        r.value = 2;
        break;
    case 16:
        r.kind = DMT_K_INTERRUPT;
        r.dev = 1;
        r.claimed = true;
        r.value = 1;
        break;
    case 17:
        r.kind = DMT_K_DPC;
        r.dev = 1;
        break;
    case 18:
        r.kind = DMT_K_DIGEST;
        r.xfer = (uint32_t)i;
        r.algo = 1;
        r.length = 65536;
        r.value = i * 0x9E3779B97F4A7C15ull;
        break;
    default:
        r.kind = DMT_K_COMPLETE_DMA;
        r.xfer = (uint32_t)i;
        r.adapter = 1;
        break;
    }
    return dmt_enc_record(buf, cap, &r, t);
}

/* This thread's CPU time: on a machine shared with other jobs, wall time
 * measures the scheduler; the throughput figures are per CPU-second. */
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double secs(uint64_t a, uint64_t b)
{
    return (double)(b - a) / 1e9;
}

/* Tell perf (BENCH_DRAIN_PERF_CTL, a control FIFO) to enable or disable. */
static void perf_ctl(const char *cmd)
{
    const char *path = getenv("BENCH_DRAIN_PERF_CTL");
    FILE *f = path && *path ? fopen(path, "w") : NULL;
    if (f) {
        fprintf(f, "%s\n", cmd);
        fclose(f);
    }
}

/* A region of `rings` rings holding the n records of the mix (munmap
 * *rlen bytes when done).  With two rings, records go in runs of 64 to
 * each (CPUs taking turns). */
static void *fill_region(uint64_t n, uint32_t rings, dmt_ringset *set, size_t *rlen)
{
    /* Data sized to the records (64 bytes a slot is more than the mix
     * averages), so formatting does not dominate the run. */
    size_t data = DMT_RING_MIN_SIZE;
    while (data < (size_t)(1u << 30) / rings && data < n * 64 / rings)
        data *= 2;
    *rlen = (size_t)dmt_ringset_region_len(rings, data);
    void *region = mmap(NULL, *rlen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    dmt_ringset_init(region, *rlen, DMT_RING_DROP_NEWEST, rings, 1);
    dmt_ringset_attach(set, region, *rlen);
    uint8_t buf[1024];
    int64_t t = 1000000000;
    for (uint64_t i = 0; i < n; i++) {
        size_t k = make_record(buf, sizeof buf, i, t += 37);
        /* runs of 64 records per ring, as CPUs take turns in bursts */
        dmt_ring_write(&set->rings[(i / 64) % rings], buf, (uint32_t)k);
    }
    return region;
}

/* Where drain_region writes (NULL: a file in dir). */
static const char *drain_to;

/* Drain a region of `rings` rings holding the n records of the mix (fill_region)
 * into a file.  Returns seconds; *bytes the file size (0 when drain_to),
 * *used the ring bytes the records took, *memcpy_s the time to memcpy them. */

static double drain_region(uint64_t n, uint32_t rings, bool runs, bool shapes, long *bytes,
                           uint64_t *used, double *memcpy_s)
{
    size_t rlen;
    dmt_ringset set;
    void *region = fill_region(n, rings, &set, &rlen);
    *used = 0;
    for (uint32_t i = 0; i < rings; i++)
        *used += (uint32_t)__atomic_load_n(&set.rings[i].hdr->head, __ATOMIC_RELAXED);
    /* Floor: the same ring bytes memcpy'd (no check, no file); the second
     * of two copies, so neither side takes a page fault. */
    uint8_t *copy = malloc(*used);
    for (int pass = 0; pass < 2; pass++) {
        uint64_t m0 = cpu_ns();
        size_t at = 0;
        for (uint32_t i = 0; i < rings; i++) {
            uint32_t u = (uint32_t)__atomic_load_n(&set.rings[i].hdr->head, __ATOMIC_RELAXED);
            memcpy(copy + at, set.rings[i].data, u);
            at += u;
        }
        *memcpy_s = secs(m0, cpu_ns());
    }
    __asm__ __volatile__("" : : "r"(copy) : "memory");
    free(copy);
    dmt_ringset_close(&set);
    char path[300];
    if (drain_to)
        snprintf(path, sizeof path, "%s", drain_to);
    else
        snprintf(path, sizeof path, "%s/bench_drain.dmat", dir);
    dmt_header h;
    memset(&h, 0, sizeof h);
    snprintf(h.producer, sizeof h.producer, "bench_drain");
    dmt_writer *w;
    dmt_error err;
    dmt_writer_open(path, &h, DMT_WRITE_HEADER_NOW, &w, &err);
    dmt_drain *d = dmt_drain_new_set(&set, w, 1000000000ull);
    dmt_drain_set_runs(d, runs);
    dmt_drain_set_shape_cache(d, shapes);
    perf_ctl("enable");
    uint64_t t0 = cpu_ns();
    while (dmt_drain_poll(d, dmt_now_ns(), 0, &err) != DMT_DRAIN_DONE)
        ;
    dmt_writer_close(w, &err);
    uint64_t t1 = cpu_ns();
    perf_ctl("disable");
    *bytes = 0;
    if (!drain_to) {
        FILE *f = fopen(path, "rb");
        fseek(f, 0, SEEK_END);
        *bytes = ftell(f);
        fclose(f);
        unlink(path);
    }
    dmt_drain_free(d);
    munmap(region, rlen);
    return secs(t0, t1);
}

/* One ring's run pass alone (dmt_ring_take_run into 16 KiB, as the drain
 * takes them), and with the shape-cached check of every record: M records
 * per CPU-second. */
static double run_pass(uint64_t n, bool check)
{
    size_t rlen;
    dmt_ringset set;
    void *region = fill_region(n, 1, &set, &rlen);
    dmt_ring_consumer c;
    dmt_ring_consumer_init(&c, &set.rings[0], 1000000000ull);
    static uint8_t run[16u << 10];
    static dmt_ring_rec recs[4096];
    static dmt_ring_check_cache cc;
    dmt_ring_check_cache_init(&cc);
    uint64_t taken = 0, bad = 0;
    uint64_t t0 = cpu_ns();
    for (;;) {
        uint32_t k = dmt_ring_take_run(&c, run, sizeof run, recs, 4096);
        if (!k)
            break;
        taken += k;
        for (uint32_t i = 0; check && i < k; i++) {
            dmt_ring_record_info ri;
            bad += dmt_ring_record_check_cached(&cc, run + recs[i].off, recs[i].len, &ri) != 0;
        }
    }
    uint64_t t1 = cpu_ns();
    munmap(region, rlen);
    if (taken != n || bad)
        fprintf(stderr, "bench_drain: run pass took %llu of %llu, %llu bad\n",
                (unsigned long long)taken, (unsigned long long)n, (unsigned long long)bad);
    return (double)n / 1e6 / secs(t0, t1);
}

/* `--floors`: what the one-ring drain's parts cost, same run. */
static void floors(uint64_t n)
{
    long bytes;
    uint64_t used;
    double mc;
    const double pass = run_pass(n, false);
    const double checked = run_pass(n, true);
    drain_to = "/dev/null";
    const double devnull = (double)n / 1e6 / drain_region(n, 1, true, true, &bytes, &used, &mc);
    drain_to = NULL;
    const double file = (double)n / 1e6 / drain_region(n, 1, true, true, &bytes, &used, &mc);
    printf("RESULT\tdrain records/s, one ring, into a file\t%.2f M/s\t>= 40 M/s\t%.2f M/s the "
           "same into /dev/null; %.2f M/s the run pass and check; %.2f M/s the run pass alone\t"
           "%.2f\n",
           file, devnull, checked, pass, file / devnull);
    printf("# ns per record: run pass %.1f, check %.1f, drain loop and writer (chunks, CRC) %.1f, "
           "the file's write() %.1f\n",
           1e3 / pass, 1e3 / checked - 1e3 / pass, 1e3 / devnull - 1e3 / checked,
           1e3 / file - 1e3 / devnull);
}

static void throughput(uint64_t n)
{
    long bytes, bytes2;
    uint64_t used, used2;
    double mc, mc2;
    double dt = drain_region(n, 1, true, true, &bytes, &used, &mc);
    double dt2 = drain_region(n, 2, true, true, &bytes2, &used2, &mc2);
    /* The same, every item through dmt_ring_next (the path before runs). */
    long ob;
    uint64_t ou;
    double omc;
    double odt = drain_region(n, 1, false, true, &ob, &ou, &omc);
    double odt2 = drain_region(n, 2, false, true, &ob, &ou, &omc);
    /* The same with runs, every record through the full check (no shape
     * cache: the path before it). */
    double fdt = drain_region(n, 1, true, false, &ob, &ou, &omc);
    double fdt2 = drain_region(n, 2, true, false, &ob, &ou, &omc);

    /* Baseline: the same bytes with plain write(). */
    static uint8_t chunk[65536];
    memset(chunk, 0xA5, sizeof chunk);
    char path[300];
    snprintf(path, sizeof path, "%s/bench_drain.raw", dir);
    uint64_t t2 = cpu_ns();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (long left = bytes; left > 0; left -= (long)sizeof chunk)
        if (write(fd, chunk, left < (long)sizeof chunk ? (size_t)left : sizeof chunk) < 0)
            break;
    close(fd);
    uint64_t t3 = cpu_ns();
    unlink(path);
    double mb = (double)bytes / 1e6, ring_mb = (double)used / 1e6;
    printf("drain     %9.1f MB/s file, %9.1f MB/s ring bytes  %10.2f M records/s  "
           "(%.1f bytes/record in the file)\n",
           mb / dt, ring_mb / dt, (double)n / 1e6 / dt, (double)bytes / (double)n);
    printf("2 rings   %9.1f MB/s file, %9.1f MB/s ring bytes  %10.2f M records/s  (merged, "
           "%.1f bytes/record)\n",
           (double)bytes2 / 1e6 / dt2, (double)used2 / 1e6 / dt2, (double)n / 1e6 / dt2,
           (double)bytes2 / (double)n);
    printf("old path  %9.1f MB/s ring bytes  %10.2f M records/s one ring, %.2f M records/s "
           "2 rings (per item, no runs)\n",
           ring_mb / odt, (double)n / 1e6 / odt, (double)n / 1e6 / odt2);
    printf("full chk  %9.1f MB/s ring bytes  %10.2f M records/s one ring, %.2f M records/s "
           "2 rings (runs, no shape cache)\n",
           ring_mb / fdt, (double)n / 1e6 / fdt, (double)n / 1e6 / fdt2);
    printf("memcpy    %9.1f MB/s  floor, the same ring bytes\n", ring_mb / mc);
    printf("write()   %9.1f MB/s  baseline, same file bytes\n", mb / secs(t2, t3));
    printf("RESULT\tdrain, validated ring bytes -> file\t%.0f MB/s\t>= 1000 MB/s\t%.0f MB/s "
           "memcpy of the ring bytes\t%.3f\n",
           ring_mb / dt, ring_mb / mc, mc / dt);
    printf("RESULT\tdrain records/s\t%.2f M/s\t>= 40 M/s\t%.0f MB/s write() of the file "
           "bytes\t%.2f\n",
           (double)n / 1e6 / dt, mb / secs(t2, t3), secs(t2, t3) / dt);
    printf("RESULT\tdrain records/s, 2-ring region merged\t%.2f M/s\t>= 40 M/s\t%.2f M/s one "
           "ring\t%.2f\n",
           (double)n / 1e6 / dt2, (double)n / 1e6 / dt, dt / dt2);
    printf("RESULT\tdrain records/s, runs vs per item\t%.2f M/s\t>= 40 M/s\t%.2f M/s per item "
           "(dmt_ring_next)\t%.2f\n",
           (double)n / 1e6 / dt, (double)n / 1e6 / odt, odt / dt);
    const double cached[2] = {dt, dt2}, full[2] = {fdt, fdt2};
    for (int k = 0; k < 2; k++)
        printf("RESULT\tdrain records/s, %s, shape cache vs full check\t%.2f M/s\t>= 40 M/s\t"
               "%.2f M/s full check\t%.2f\n",
               k ? "2 rings" : "one ring", (double)n / 1e6 / cached[k], (double)n / 1e6 / full[k],
               full[k] / cached[k]);
}

typedef struct paced {
    dmt_ring *ring;
    double rate;
    double seconds;
    uint64_t produced;
    uint64_t done_ns; /* when the producer finished */
    atomic_bool finished;
} paced;

static void *producer(void *arg)
{
    paced *p = arg;
    /* One burst of the mix encoded up front (records 37 ns apart), copied
     * into the ring burst after burst: encoding each record (and reading
     * the clock for it) kept one thread near 5 M records/s here, so the
     * ring write is all the producer does per record.  Times repeat per
     * burst, which the drain does not mind. */
    enum { BURST = 1000 };
    static uint8_t pool[BURST][512];
    static uint32_t plen[BURST];
    for (int k = 0; k < BURST; k++)
        plen[k] = (uint32_t)make_record(pool[k], sizeof pool[k], (uint64_t)k,
                                        (int64_t)dmt_now_ns() + 37 * k);
    uint64_t t0 = dmt_now_ns(), i = 0;
    uint64_t total = (uint64_t)(p->rate * p->seconds);
    while (i < total) {
        /* Produce in bursts, then wait for the schedule. */
        for (int k = 0; k < BURST && i < total; k++, i++)
            dmt_ring_write(p->ring, pool[k], plen[k]);
        uint64_t due = t0 + (uint64_t)((double)i / p->rate * 1e9);
        while (dmt_now_ns() < due)
            ;
    }
    p->produced = i;
    p->done_ns = dmt_now_ns();
    atomic_store(&p->finished, true);
    return NULL;
}

static void paced_loss(void)
{
    size_t rlen = DMT_RING_HDR_SIZE + (64u << 20);
    void *region = mmap(NULL, rlen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    dmt_ring ring;
    dmt_ring_init(region, rlen, DMT_RING_DROP_NEWEST);
    dmt_ring_attach(&ring, region, rlen);
    char path[300];
    snprintf(path, sizeof path, "%s/bench_drain_paced.dmat", dir);
    dmt_header h;
    memset(&h, 0, sizeof h);
    dmt_writer *w;
    dmt_error err;
    dmt_writer_open(path, &h, DMT_WRITE_HEADER_NOW, &w, &err);
    dmt_drain *d = dmt_drain_new(&ring, w, 1000000000ull);
    paced p = {&ring, 20e6, 2.0, 0, 0, false};
    pthread_t th;
    uint64_t t0 = dmt_now_ns();
    pthread_create(&th, NULL, producer, &p);
    int done = 0;
    uint64_t last_flush = t0, flushes = 0, flush_ns = 0, flush_max = 0;
    while (!done) {
        uint64_t now = dmt_now_ns();
        if (now - last_flush >= 100000000ull) {
            dmt_writer_flush(w, &err);
            uint64_t took = dmt_now_ns() - now;
            flushes++;
            flush_ns += took;
            flush_max = took > flush_max ? took : flush_max;
            last_flush = now;
        }
        int rc = dmt_drain_poll(d, now, 8192, &err);
        if (rc == DMT_DRAIN_IDLE && atomic_load(&p.finished))
            dmt_ring_close(&ring);
        done = rc == DMT_DRAIN_DONE;
    }
    pthread_join(th, NULL);
    uint64_t t1 = dmt_now_ns();
    const dmt_drain_stats *s = dmt_drain_get_stats(d);
    double offered = (double)p.produced / secs(t0, p.done_ns);
    printf("paced     %9.2f M records/s asked, %.2f M/s offered (the producer's pace) for "
           "%.1f s into a 64 MiB ring: %llu drained, %llu lost (%.2f s)\n",
           p.rate / 1e6, offered / 1e6, p.seconds, (unsigned long long)s->records,
           (unsigned long long)s->lost, secs(t0, t1));
    printf("RESULT\tlost at 20 M records/s asked (%.1f M/s offered), 64 MiB ring\t%llu\t0\t%llu "
           "records offered\t%.4f\n",
           offered / 1e6, (unsigned long long)s->lost, (unsigned long long)p.produced,
           p.produced ? (double)s->lost / (double)p.produced : 0.0);
    double mean_us = flushes ? (double)flush_ns / (double)flushes / 1e3 : 0.0;
    printf("flush     every 100 ms: %llu flushes, %.1f us mean, %.1f us worst, %.3f%% of the run\n",
           (unsigned long long)flushes, mean_us, (double)flush_max / 1e3,
           100.0 * (double)flush_ns / (double)(t1 - t0));
    printf("RESULT\t100 ms flush cost at 20 M records/s asked\t%.1f us/flush\t< 1%% of the "
           "drain\t%.1f us "
           "worst\t%.3f%%\n",
           mean_us, (double)flush_max / 1e3, 100.0 * (double)flush_ns / (double)(t1 - t0));
    dmt_writer_close(w, &err);
    dmt_drain_free(d);
    unlink(path);
    munmap(region, rlen);
}

int main(int argc, char **argv)
{
    uint64_t n = 5000000;
    if (argc > 1)
        n = strtoull(argv[1], NULL, 0);
    if (argc > 2)
        snprintf(dir, sizeof dir, "%s", argv[2]);
    printf("# bench_drain: %llu records, files in %s\n", (unsigned long long)n, dir);
    if (argc > 4 && strcmp(argv[3], "--drain") == 0) {
        long bytes;
        uint64_t used;
        double mc;
        const uint32_t rings = (uint32_t)strtoul(argv[4], NULL, 0);
        if (rings < 1 || rings > DMT_RING_MAX_RINGS) {
            fprintf(stderr, "bench_drain: --drain takes 1 to %u rings\n", DMT_RING_MAX_RINGS);
            return 2;
        }
        double dt = drain_region(n, rings, true, true, &bytes, &used, &mc);
        printf("drain alone, %u rings: %.2f M records/s\n", rings, (double)n / 1e6 / dt);
        return 0;
    }
    if (argc > 3 && strcmp(argv[3], "--floors") == 0) {
        floors(n);
        return 0;
    }
    throughput(n);
    if (!getenv("BENCH_DRAIN_NO_PACED"))
        paced_loss();
    return 0;
}
