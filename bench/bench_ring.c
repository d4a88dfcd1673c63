/*
 * bench_ring.c - probe-side cost of one trace record: encode + reserve +
 * commit into the ring, for a register-write record and a 16-element
 * scatter/gather record, with 1 and 2 producer threads: both in one ring
 * (the shared-ring case) and, "per-CPU", each thread pinned to its own CPU
 * and choosing its ring of a per-CPU region with sched_getcpu() for every
 * record, as the probe does.  Two floors, measured in the same run:
 *
 *   ring floor  the same pre-encoded bytes written into the ring with the
 *               same protocol (dmt_ring_write: reserve + copy + commit), no
 *               encoding - the floor for the encoder;
 *   raw floor   the same bytes memcpy'd into the same data area one slot
 *               after another, no ring protocol (no atomics, no slot
 *               header) - the floor for the whole path.
 *
 * Output: one line per case with the median over 5 runs of ns per record,
 * both floors, the encoding alone (into a stack buffer, no ring), the
 * ratio to the ring floor, and the encoded bytes per record.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "dmt/enc.h"
#include "dmt/ring.h"

#define RUNS 5

/* This thread's CPU time: the machine is shared, and wall time would
 * measure the scheduler (timestamps in records use it too: any clock). */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef struct shared {
    dmt_ringset set;
    atomic_bool stop;
    atomic_uint_fast64_t consumed, lost;
} shared;

typedef struct prod {
    shared *sh;
    int kind;  /* 0 reg write, 1 sg16 */
    int floor; /* 0 encode + ring, 1 ring floor, 2 raw floor, 3 encode alone */
    int cpu;   /* pin to this CPU and pick the ring per record; -1: ring 0 */
    int idx;   /* producer index (the raw floor's part of a shared ring) */
    uint64_t n;
    uint64_t ns;
    size_t bytes;
} prod;

static void *producer(void *arg)
{
    prod *p = arg;
    if (p->cpu >= 0) {
        cpu_set_t cs;
        CPU_ZERO(&cs);
        CPU_SET(p->cpu, &cs);
        pthread_setaffinity_np(pthread_self(), sizeof cs, &cs);
    }
    dmt_sg_elem sg[16];
    for (int i = 0; i < 16; i++) {
        sg[i].addr = 0x1F0000000ull + (uint64_t)i * 0x13000;
        sg[i].len = 4096;
    }
    dmt_record r;
    memset(&r, 0, sizeof r);
    if (p->kind == 0) {
        r.kind = DMT_K_REG_WRITE;
        r.off = 0x108;
        r.width = 4;
    } else {
        r.kind = DMT_K_EXECUTE_DMA;
        r.xfer = 1;
        r.adapter = 1;
        r.length = 16 * 4096;
        r.n_sg = 16;
        r.sg_list = sg;
    }
    uint8_t tmpl[512];
    size_t tmpl_n = dmt_enc_record(tmpl, sizeof tmpl, &r, (int64_t)now_ns());
    size_t bound = dmt_enc_record_bound(&r);
    (void)bound;
    if (p->floor == 2) { /* raw: the bytes slot by slot, as the ring lays them out */
        dmt_ring *ring =
            p->cpu >= 0 ? dmt_ringset_pick(&p->sh->set, (uint32_t)p->cpu) : &p->sh->set.rings[0];
        size_t span = p->cpu >= 0 ? (size_t)ring->size : (size_t)ring->size / 2;
        uint8_t *base = ring->data + (p->cpu >= 0 ? 0 : (size_t)p->idx * span);
        size_t slot = 8 + ((tmpl_n + 7) & ~(size_t)7), at = 0;
        uint64_t t0 = now_ns();
        for (uint64_t i = 0; i < p->n; i++, at += slot) {
            if (at + slot > span)
                at = 0;
            memcpy(base + at + 8, tmpl, tmpl_n);
            __asm__ volatile("" : : "r"(base) : "memory");
        }
        p->ns = now_ns() - t0;
        p->bytes = tmpl_n;
        return NULL;
    }
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < p->n; i++) {
        dmt_ring *ring = p->cpu >= 0 ? dmt_ringset_pick(&p->sh->set, (uint32_t)sched_getcpu())
                                     : &p->sh->set.rings[0];
        if (p->floor == 3) {
            uint8_t buf[512];
            r.value = i;
            r.xfer = (uint32_t)i;
            size_t n = dmt_enc_record(buf, sizeof buf, &r, (int64_t)(t0 + i * 37));
            __asm__ volatile("" : : "r"(buf), "r"(n), "r"(ring) : "memory");
        } else if (p->floor) {
            dmt_ring_write(ring, tmpl, (uint32_t)tmpl_n);
        } else {
            uint8_t buf[512];
            r.value = i; /* a changing register value */
            r.xfer = (uint32_t)i;
            size_t n = dmt_enc_record(buf, sizeof buf, &r, (int64_t)(t0 + i * 37));
            dmt_ring_write(ring, buf, (uint32_t)n);
        }
    }
    p->ns = now_ns() - t0;
    p->bytes = tmpl_n;
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double run(int kind, int floor, int nprod, int percpu, uint64_t n, size_t *bytes,
                  uint64_t *lost)
{
    const uint32_t rings = percpu ? (uint32_t)nprod : 1u;
    /* every record fits (a slot is at most 24 / 128 bytes): nothing is
     * lost, and no more memory is faulted in than the records need */
    const uint64_t need = n * (uint64_t)(nprod / rings) * (kind ? 128u : 24u) + (1u << 16);
    size_t data = DMT_RING_MIN_SIZE;
    while (data < need)
        data *= 2;
    size_t len = (size_t)dmt_ringset_region_len(rings, data);
    void *region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    shared sh;
    memset(&sh, 0, sizeof sh);
    dmt_ringset_init(region, len, DMT_RING_DROP_NEWEST, rings, 1);
    dmt_ringset_attach(&sh.set, region, len);
    for (uint32_t i = 0; i < rings; i++)
        memset(sh.set.rings[i].data, 0, data); /* fault the pages in */
    pthread_t pt[2];
    prod p[2];
    for (int i = 0; i < nprod; i++) {
        p[i] = (prod){&sh, kind, floor, percpu ? i : -1, i, n, 0, 0};
        pthread_create(&pt[i], NULL, producer, &p[i]);
    }
    double ns = 0;
    for (int i = 0; i < nprod; i++) {
        pthread_join(pt[i], NULL);
        ns += (double)p[i].ns / (double)n;
    }
    *bytes = p[0].bytes;
    *lost = 0;
    for (uint32_t i = 0; i < rings; i++)
        *lost += __atomic_load_n(&sh.set.rings[i].hdr->lost_full, __ATOMIC_RELAXED);
    munmap(region, len);
    return ns / nprod;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 1000000;
    printf("# bench_ring: ns per record (median of %d runs, %llu records per producer)\n", RUNS,
           (unsigned long long)n);
    printf("%-22s %9s %11s %10s %8s %7s %7s %8s\n", "case", "ns/rec", "ring floor", "raw floor",
           "encode", "ratio", "bytes", "lost");
    static const char *const names[] = {"reg-write", "sg16"};
    /* target ns per record: reg-write 1 producer, 2 producers, sg16 */
    static const char *const target[2][3] = {{"25", "30", "30"}, {"60", "60", "60"}};
    for (int kind = 0; kind < 2; kind++)
        for (int c = 0; c < 3; c++) {
            int nprod = c == 0 ? 1 : 2, percpu = c == 2;
            double a[RUNS], f[RUNS], m[RUNS], e[RUNS];
            size_t bytes = 0;
            uint64_t lost = 0, l2;
            for (int r = 0; r < RUNS; r++) {
                m[r] = run(kind, 2, nprod, percpu, n, &bytes, &l2);
                e[r] = run(kind, 3, nprod, percpu, n, &bytes, &l2);
                f[r] = run(kind, 1, nprod, percpu, n, &bytes, &l2);
                lost += l2;
                a[r] = run(kind, 0, nprod, percpu, n, &bytes, &l2);
                lost += l2;
            }
            qsort(a, RUNS, sizeof a[0], cmp);
            qsort(f, RUNS, sizeof f[0], cmp);
            qsort(m, RUNS, sizeof m[0], cmp);
            qsort(e, RUNS, sizeof e[0], cmp);
            double ma = a[RUNS / 2], mf = f[RUNS / 2], mm = m[RUNS / 2], me = e[RUNS / 2];
            char name[64];
            snprintf(name, sizeof name, "%s x%d%s", names[kind], nprod,
                     c == 0   ? ""
                     : percpu ? " per-CPU"
                              : " one ring");
            printf("%-22s %9.1f %11.1f %10.1f %8.1f %7.2f %7zu %8llu\n", name, ma, mf, mm, me,
                   ma / mf, bytes, (unsigned long long)lost);
            printf(
                "RESULT\tprobe %s, ns/record\t%.1f ns\t<= %s ns\t%.1f ns ring floor (same bytes, "
                "reserve + copy + commit); %.1f ns raw copy\t%.2f\n",
                name, ma, target[kind][c], mf, mm, ma / mf);
        }
    return 0;
}
