/*
 * cmd_capture.c - `dmatrace capture`: run the instrumented miniport on the
 * host VideoPort with the device model, drive a workload through its IOCTL
 * path, and record the session.
 *
 *   workload threads --IOCTL--> hvp (VideoPort) --> dmtmini miniport --> dmm engine
 *                                        | probe records
 *                                        v
 *                                      ring --drain thread--> FILE.dmat
 *
 * With --ring PATH the ring is a shared file mapping and no drain runs here:
 * `dmatrace record --ring PATH` (another process) drains it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_regmap.h"
#include "dmt/describe.h"
#include "dmt/digest.h"
#include "dmt/drain.h"
#include "dmt/ring.h"
#include "dmtc_session.h"
/* The probe's control API only: this file is not an instrumented driver. */
#undef DMT_PROBE
#include "dmt_probe.h"
#include "dmtmini_ioctl.h"
#include "hvp.h"

/* The miniport's entry point (driver/dmtmini.c, built with the probe). */
unsigned int DriverEntry(void *Argument1, void *Argument2);

/* ---- scenarios and faults ---------------------------------------------- */

typedef struct scenario {
    const char *name;
    const char *summary;
    uint32_t transfers; /* default count */
    uint32_t min_len, max_len;
    uint32_t threads; /* default workload threads */
    bool sg, dma32, dma64;
    uint32_t maximum_length; /* MaximumLength per adapter */
    uint32_t addr_bits;      /* device model address bits */
    enum hvp_placement placement;
    uint32_t contig_permille;
} scenario;

static const scenario scenarios[] = {
    {"mixed", "uploads and readbacks from 1 byte to 8 MiB, fragmented memory", 120, 1, 8u << 20, 1,
     true, false, true, 8u << 20, 64, HVP_PLACE_ANY, 300},
    {"dma32-highmem", "32-bit device, RAM above 4 GiB: every transfer is bounced", 60, 1, 1u << 20,
     1, true, true, false, 1u << 20, 32, HVP_PLACE_ABOVE_4G, 400},
    {"no-sg", "ScatterGather FALSE: one element per chunk, chunked by map registers", 60, 1,
     512u << 10, 1, false, true, false, 64u << 10, 32, HVP_PLACE_BELOW_4G, 200},
    {"burst", "many small transfers from 2 threads on both channels at once", 2000, 16, 16u << 10,
     2, true, false, true, 1u << 20, 64, HVP_PLACE_ANY, 500},
};

typedef struct fault {
    const char *name;
    uint32_t bit;
    const char *summary;
} fault;

static const fault faults[] = {
    {"sg-len-off-by-one", DMTMINI_FAULT_SG_LEN_OFF_BY_ONE, "one element's length programmed +1"},
    {"sg-skip", DMTMINI_FAULT_SG_SKIP, "one element not programmed"},
    {"sg-dup", DMTMINI_FAULT_SG_DUP, "one element programmed twice"},
    {"complete-missing", DMTMINI_FAULT_COMPLETE_MISSING, "VideoPortCompleteDma never called"},
    {"complete-early", DMTMINI_FAULT_COMPLETE_EARLY, "VideoPortCompleteDma before the interrupt"},
    {"overlong", DMTMINI_FAULT_OVERLONG, "a transfer longer than the granted *pLength"},
    {"addr64-to-dma32", DMTMINI_FAULT_ADDR64_TO_DMA32, "a 64-bit address given to a 32-bit device"},
};

#define NSCEN  (sizeof scenarios / sizeof scenarios[0])
#define NFAULT (sizeof faults / sizeof faults[0])

/* The entry named arg of tab (n entries of stride bytes, each starting with
 * its name), or NULL after the error line that lists the valid names. */
static const void *by_name(const char *what, const char *arg, const void *tab, size_t n,
                           size_t stride)
{
    const char *p = tab;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(arg, *(const char *const *)(const void *)(p + i * stride)))
            return p + i * stride;
    fprintf(stderr, "dmatrace capture: unknown %s '%s'; valid:", what, arg);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %s", *(const char *const *)(const void *)(p + i * stride));
    fputc('\n', stderr);
    return NULL;
}

/* ---- options ------------------------------------------------------------- */

typedef struct opts {
    const scenario *scen;
    uint32_t transfers;
    uint64_t seed;
    uint32_t threads;
    uint32_t fault_bits;
    const char *fault_name;
    const char *ring_path;
    uint64_t ring_mib;
    uint64_t rings; /* 0: one per online CPU (1 with one workload thread) */
    enum dmt_ring_policy policy;
    int digest; /* enum dmt_digest_policy */
    bool deterministic;
    bool reactos;
    bool no_probe_check;
    uint64_t pace_ms; /* sleep between transfers (a session that lasts) */
    const char *out;
    dmt_header regmap; /* --regmap: regmap_name and regmap_hash, else "" */
} opts;

/* ---- shared state ---------------------------------------------------------- */

typedef struct capture {
    opts o;
    dmtc_session *s; /* ring, trace, drain thread, machine */
    hvp_machine *m;  /* the session's */
    atomic_uint_fast64_t next_transfer;
    atomic_uint_fast64_t bytes_moved, uploads, readbacks, verify_failures, transfer_errors;
    atomic_uint_fast32_t faults_applied; /* DMTMINI_FAULT_* the driver says it planted */
    atomic_bool fault_armed;             /* --inject: no transfer carries the bug right now */
    pthread_mutex_t channel_lock[DMTMINI_NUM_CH]; /* burst_one: one transfer per channel */
    uint64_t devmem_size;
} capture;

static int32_t ioctl_or_fail(capture *c, uint32_t code, const void *in, uint32_t in_len, void *out,
                             uint32_t out_len)
{
    uint32_t ret = 0;
    return hvp_ioctl(c->m, code, in, in_len, out, out_len, &ret);
}

/* ---- the workload ------------------------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnd(rng *r)
{
    r->s += 0x9E3779B97F4A7C15ull;
    return dmt_splitmix64(r->s);
}

/* Log-uniform length in [lo, hi]: small and large transfers both common. */
static uint32_t rnd_len(rng *r, uint32_t lo, uint32_t hi)
{
    double a = (double)lo, b = (double)hi + 1;
    double u = (double)(rnd(r) >> 11) / (double)(1ull << 53);
    double v = a * pow(b / a, u);
    uint32_t n = (uint32_t)v;
    return n < lo ? lo : n > hi ? hi : n;
}

typedef struct xfer_plan {
    uint32_t len;
    uint32_t misalign; /* buffer start offset within its page */
    uint64_t dev_offset;
    uint64_t seed;
    bool may_fault; /* may carry the --inject bug (see FAULT_TRANSFER) */
    bool planted;   /* set by transfer(): this one asked for it (DMTMINI_XFER_FAULT) */
} xfer_plan;

/* The transfer (counted from 0 in the workload's order) a --inject fault
 * hits: the upload of the third pair.  That pair is always a large,
 * misaligned transfer (with or without a fault, so a clean and a faulty
 * capture of the same seed differ only by the fault): several SG elements,
 * and chunks shortened by the map registers, so every fault has something
 * to hit.  With several threads the TRANSFERs reach the driver in no fixed
 * order, so the bug goes to the first one from here on that reaches it (one
 * at a time, DMTMINI_XFER_FAULT); where it had nothing to hit (SG_SKIP on a
 * list that came out as one element: the memory layout follows the
 * threads' order) the next one takes it, until the driver reports it hit.
 * With one thread that is transfer 4. */
#define FAULT_TRANSFER 4u
#define FAULT_PAIR     (FAULT_TRANSFER / 2u)

static void plan(capture *c, rng *r, uint32_t worker, uint64_t n, xfer_plan *p)
{
    const scenario *s = c->o.scen;
    p->len = rnd_len(r, s->min_len, s->max_len);
    p->misalign = (rnd(r) & 1) ? (uint32_t)(rnd(r) % 4096) : 0;
    if (n / 2 == FAULT_PAIR) {
        uint32_t big = (1u << 20) + 4567;
        p->len = big < s->max_len ? big : s->max_len;
        p->misalign = 0x123;
    }
    p->may_fault = c->o.fault_bits && n >= FAULT_TRANSFER;
    p->planted = false;
    /* Each worker owns a slice of device memory. */
    uint64_t slice = c->devmem_size / (c->o.threads ? c->o.threads : 1);
    uint64_t room = slice > p->len ? slice - p->len : 1;
    p->dev_offset = (uint64_t)worker * slice + ((rnd(r) % room) & ~3ull);
    p->seed = rnd(r);
}

static int transfer(capture *c, uint32_t channel, uint8_t *buf, xfer_plan *p, bool pattern,
                    uint32_t flags, DMTMINI_TRANSFER_OUT *out)
{
    bool armed = true;
    p->planted = p->may_fault && atomic_compare_exchange_strong(&c->fault_armed, &armed, false);
    DMTMINI_TRANSFER_IN in;
    memset(&in, 0, sizeof in);
    in.channel = channel;
    in.flags = flags | (pattern ? DMTMINI_XFER_PATTERN : 0) | (p->planted ? DMTMINI_XFER_FAULT : 0);
    in.buffer = (uint64_t)(uintptr_t)buf;
    in.length = p->len;
    in.dev_offset = p->dev_offset;
    in.pattern_seed = p->seed;
    memset(out, 0, sizeof *out);
    return ioctl_or_fail(c, IOCTL_DMTMINI_TRANSFER, &in, sizeof in, out,
                         (flags & DMTMINI_XFER_ASYNC) ? 0 : sizeof *out);
}

static int wait_channel(capture *c, uint32_t channel, DMTMINI_TRANSFER_OUT *out)
{
    DMTMINI_WAIT_IN in = {channel, 0};
    return ioctl_or_fail(c, IOCTL_DMTMINI_WAIT, &in, sizeof in, out, sizeof *out);
}

/* Workload buffers come from a per-worker arena at a fixed address, two
 * slots of ARENA_SLOT bytes, so a session's buffer addresses (which the
 * trace records) are the same on every run with the same seed. */
#define ARENA_BASE 0x7d0000000000ull
#define ARENA_SLOT (16u << 20)

static uint8_t *arena_of(uint32_t worker)
{
    static _Thread_local uint8_t *arena;
    if (!arena) {
        void *want = (void *)(uintptr_t)(ARENA_BASE + (uint64_t)worker * 0x100000000ull);
        void *a = mmap(want, 2u * ARENA_SLOT, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
        if (a == MAP_FAILED)
            a = mmap(NULL, 2u * ARENA_SLOT, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (a == MAP_FAILED)
            return NULL;
        arena = a;
    }
    return arena;
}

static uint8_t *alloc_buf(const xfer_plan *p, uint32_t worker, unsigned slot)
{
    uint8_t *a = arena_of(worker);
    if (!a || (size_t)p->len + p->misalign > ARENA_SLOT)
        return NULL;
    return a + (size_t)slot * ARENA_SLOT + p->misalign;
}

/* Count a finished transfer; planted: it carried the --inject bug (if that
 * did not hit, the next transfer gets it). */
static void account(capture *c, int rc, const DMTMINI_TRANSFER_OUT *out, bool planted)
{
    if (rc == 0)
        atomic_fetch_or(&c->faults_applied, out->faults_applied);
    if (planted && (rc != 0 || !(out->faults_applied & c->o.fault_bits)))
        atomic_store(&c->fault_armed, true);
    if (rc != 0 || out->status != 0) {
        if (getenv("DMT_CAPTURE_DEBUG"))
            fprintf(stderr, "transfer failed: ioctl %d status %u\n", rc, out->status);
        atomic_fetch_add(&c->transfer_errors, 1);
    } else
        atomic_fetch_add(&c->bytes_moved, out->bytes);
}

/* One upload followed by the readback of the same device range, checked. */
static void upload_readback(capture *c, rng *r, uint32_t worker, uint64_t n)
{
    xfer_plan p;
    plan(c, r, worker, n, &p);
    uint8_t *up = alloc_buf(&p, worker, 0), *down = alloc_buf(&p, worker, 1);
    if (!up || !down) {
        atomic_fetch_add(&c->transfer_errors, 1);
        return;
    }
    dmt_pattern_fill(up, p.seed, 0, p.len);
    memset(down, 0, p.len);
    DMTMINI_TRANSFER_OUT out;
    int rc = transfer(c, DMTMINI_CH_H2C, up, &p, true, 0, &out);
    account(c, rc, &out, p.planted);
    atomic_fetch_add(&c->uploads, 1);
    p.may_fault = false; /* the readback of the same plan is not the target */
    rc = transfer(c, DMTMINI_CH_C2H, down, &p, false, 0, &out);
    account(c, rc, &out, false);
    atomic_fetch_add(&c->readbacks, 1);
    if (memcmp(up, down, p.len) != 0)
        atomic_fetch_add(&c->verify_failures, 1);
}

/* burst, one thread: an upload on H2C and a readback of another range on
 * C2H in flight at the same time (ASYNC + WAIT). */
static void burst_pair(capture *c, rng *r, uint32_t worker, uint64_t n)
{
    xfer_plan p;
    plan(c, r, worker, n, &p);
    xfer_plan q = p;
    q.may_fault = false;
    q.dev_offset = (p.dev_offset + c->devmem_size / 2) % c->devmem_size;
    if (q.dev_offset + q.len > c->devmem_size)
        q.dev_offset = 0;
    uint8_t *up = alloc_buf(&p, worker, 0), *down = alloc_buf(&q, worker, 1);
    if (!up || !down) {
        atomic_fetch_add(&c->transfer_errors, 1);
        return;
    }
    dmt_pattern_fill(up, p.seed, 0, p.len);
    DMTMINI_TRANSFER_OUT o1, o2;
    int rc1 = transfer(c, DMTMINI_CH_H2C, up, &p, true, DMTMINI_XFER_ASYNC, &o1);
    int rc2 = transfer(c, DMTMINI_CH_C2H, down, &q, false, DMTMINI_XFER_ASYNC, &o2);
    if (rc1 == 0)
        rc1 = wait_channel(c, DMTMINI_CH_H2C, &o1);
    if (rc2 == 0)
        rc2 = wait_channel(c, DMTMINI_CH_C2H, &o2);
    account(c, rc1, &o1, p.planted);
    account(c, rc2, &o2, false);
    atomic_fetch_add(&c->uploads, 1);
    atomic_fetch_add(&c->readbacks, 1);
}

/* burst, several threads: thread w uses channel w mod 2, so uploads and
 * readbacks overlap across threads.  A channel runs one transfer at a time
 * (the driver answers ERROR_BUSY otherwise): with more than two threads the
 * threads of one channel take turns. */
static void burst_one(capture *c, rng *r, uint32_t worker, uint64_t n)
{
    uint32_t channel = worker % 2;
    xfer_plan p;
    plan(c, r, worker / 2, n, &p);
    uint8_t *buf = alloc_buf(&p, worker, 0);
    if (!buf) {
        atomic_fetch_add(&c->transfer_errors, 1);
        return;
    }
    bool up = channel == DMTMINI_CH_H2C;
    if (up)
        dmt_pattern_fill(buf, p.seed, 0, p.len);
    DMTMINI_TRANSFER_OUT o;
    pthread_mutex_lock(&c->channel_lock[channel]);
    int rc = transfer(c, channel, buf, &p, up, DMTMINI_XFER_ASYNC, &o);
    if (rc == 0)
        rc = wait_channel(c, channel, &o);
    pthread_mutex_unlock(&c->channel_lock[channel]);
    account(c, rc, &o, p.planted);
    atomic_fetch_add(up ? &c->uploads : &c->readbacks, 1);
}

typedef struct worker_arg {
    capture *c;
    uint32_t id;
} worker_arg;

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    capture *c = wa->c;
    rng r = {c->o.seed * 0x100000001B3ull + wa->id};
    bool burst = strcmp(c->o.scen->name, "burst") == 0;
    bool one_channel = burst && c->o.threads > 1;
    for (;;) {
        /* Pairs (an upload and a readback) count two transfers. */
        uint64_t n = atomic_fetch_add(&c->next_transfer, one_channel ? 1 : 2);
        if (n >= c->o.transfers)
            break;
        if (one_channel)
            burst_one(c, &r, wa->id, n);
        else if (burst)
            burst_pair(c, &r, wa->id, n);
        else
            upload_readback(c, &r, wa->id, n);
        if (cli_progress_enabled() && wa->id == 0 && (n % 16) == 0)
            fprintf(stderr, "\rcapture: %" PRIu64 "/%u transfers", n, c->o.transfers);
        if (c->o.pace_ms) {
            struct timespec ts = {(time_t)(c->o.pace_ms / 1000),
                                  (long)(c->o.pace_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

/* ---- setup and teardown -------------------------------------------------- */

static void log_cb(void *ctx, const hvp_log_msg *msg)
{
    (void)ctx;
    /* Resources held when the machine is torn down are the audit's to
     * report (from the trace); a video miniport has no unload routine, so
     * its adapters and common buffers legitimately live to the end. */
    if (msg->level == HVP_LOG_MISUSE && msg->misuse == HVP_MISUSE_LEAK)
        return;
    if (msg->level >= HVP_LOG_WARN && msg->level != HVP_LOG_DRIVER)
        fprintf(stderr, "dmatrace capture: host VideoPort: %s\n", msg->text);
}

static void help(void)
{
    printf("usage: dmatrace capture [--scenario NAME] [--transfers N] [--seed N] [--threads N]\n"
           "                        [--inject FAULT] [--ring PATH] [--ring-size MiB] [--rings N]\n"
           "                        [--policy drop|overwrite] [--deterministic-clock]\n"
           "                        [--reactos] [--digest POLICY] [--regmap FILE.xml]\n"
           "                        [--pace-ms N] -o FILE.dmat\n\n"
           "Run the instrumented sample miniport on the host VideoPort with the device\n"
           "model, drive a workload through its IOCTL path and record the session.\n\n"
           "scenarios:\n");
    for (size_t i = 0; i < NSCEN; i++)
        printf("  %-15s %s (%u transfers)\n", scenarios[i].name, scenarios[i].summary,
               scenarios[i].transfers);
    printf("\nfaults (--inject, a realistic driver bug planted in one transfer: transfer 4,\n"
           "or the first one after it the bug can hit; capture fails (status 3) if none):\n");
    for (size_t i = 0; i < NFAULT; i++)
        printf("  %-18s %s\n", faults[i].name, faults[i].summary);
    printf("\n  --seed N              workload and memory-layout seed (default 1); the same\n"
           "                        seed gives the same trace apart from timestamps\n"
           "  --deterministic-clock synthetic clock and single-threaded host: the same\n"
           "                        seed gives a byte-identical trace (without it the probe\n"
           "                        stamps from the invariant TSC where there is one)\n"
           "  --ring PATH           producer side only: log into the shared ring file PATH\n"
           "                        (created if absent) for `dmatrace record --ring PATH`\n"
           "  --ring-size MiB       data size of each ring (default 64)\n"
           "  --rings N             rings in the region, the probe logs on CPU c into ring\n"
           "                        c mod N and the drain merges them by time (default: one\n"
           "                        per online CPU; 1 with one workload thread, whose\n"
           "                        records are made in program order)\n"
           "  --policy P            drop (drop newest, default) or overwrite (oldest)\n"
           "  --digest POLICY       what the probe digests of each transfer: bounded (the\n"
           "                        first and last 4 KiB and 16 samples of 256 bytes, at\n"
           "                        most 12 KiB a transfer; default), full (every byte) or\n"
           "                        off; replay verifies what was digested\n"
           "  --reactos             host VideoPort behaves like ReactOS's videoprt\n"
           "  --regmap FILE.xml     name this register map in the trace header (regmap_name,\n"
           "                        regmap_hash: its XXH64), for dump, replay and diff to\n"
           "                        check they decode with the same one\n"
           "  --pace-ms N           sleep N ms after each transfer (or pair) of a worker:\n"
           "                        a session that lasts, for watching it live\n");
}

static int parse(int argc, char **argv, opts *o)
{
    static const struct option lo[] = {{"scenario", required_argument, 0, 's'},
                                       {"transfers", required_argument, 0, 'n'},
                                       {"seed", required_argument, 0, 'S'},
                                       {"threads", required_argument, 0, 't'},
                                       {"inject", required_argument, 0, 'i'},
                                       {"ring", required_argument, 0, 'r'},
                                       {"ring-size", required_argument, 0, 'R'},
                                       {"rings", required_argument, 0, 'N'},
                                       {"policy", required_argument, 0, 'p'},
                                       {"digest", required_argument, 0, 'D'},
                                       {"deterministic-clock", no_argument, 0, 'd'},
                                       {"reactos", no_argument, 0, 'x'},
                                       {"pace-ms", required_argument, 0, 'P'},
                                       {"output", required_argument, 0, 'o'},
                                       {"regmap", required_argument, 0, CLI_OPT_REGMAP},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    uint64_t v;
    int c;
    memset(o, 0, sizeof *o);
    o->scen = &scenarios[0];
    o->seed = 1;
    o->ring_mib = 64;
    o->digest = DMT_DIGEST_BOUNDED;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:n:S:t:i:r:R:N:p:D:dxP:o:h", lo, NULL)) != -1) {
        switch (c) {
        case 's':
            o->scen = by_name("scenario", optarg, scenarios, NSCEN, sizeof scenarios[0]);
            if (!o->scen)
                return CLI_BAD;
            break;
        case 'n':
            if (!cli_parse_u64(optarg, &v) || v == 0 || v > 100000000)
                return cli_usage("capture", "--transfers needs 1..100000000, not '%s'", optarg);
            o->transfers = (uint32_t)v;
            break;
        case 'S':
            if (!cli_parse_u64(optarg, &o->seed))
                return cli_usage("capture", "--seed needs a number, not '%s'", optarg);
            break;
        case 't':
            if (!cli_parse_u64(optarg, &v) || v == 0 || v > 64)
                return cli_usage("capture", "--threads needs 1..64, not '%s'", optarg);
            o->threads = (uint32_t)v;
            break;
        case 'i': {
            const fault *f = by_name("fault", optarg, faults, NFAULT, sizeof faults[0]);
            if (!f)
                return CLI_BAD;
            o->fault_bits = f->bit;
            o->fault_name = f->name;
            break;
        }
        case 'r':
            o->ring_path = optarg;
            break;
        case 'R':
            if (!cli_parse_u64(optarg, &o->ring_mib) || o->ring_mib == 0 || o->ring_mib > 4096)
                return cli_usage("capture", "--ring-size needs 1..4096 MiB, not '%s'", optarg);
            break;
        case 'N':
            if (!cli_parse_u64(optarg, &o->rings) || o->rings == 0 || o->rings > DMT_RING_MAX_RINGS)
                return cli_usage("capture", "--rings needs 1..%u, not '%s'", DMT_RING_MAX_RINGS,
                                 optarg);
            break;
        case 'p':
            if (!strcmp(optarg, "drop"))
                o->policy = DMT_RING_DROP_NEWEST;
            else if (!strcmp(optarg, "overwrite"))
                o->policy = DMT_RING_OVERWRITE_OLDEST;
            else
                return cli_usage("capture", "--policy is drop or overwrite, not '%s'", optarg);
            break;
        case 'D':
            o->digest = dmt_digest_policy_parse(optarg);
            if (o->digest < 0)
                return cli_usage("capture", "--digest is bounded, full or off, not '%s'", optarg);
            break;
        case 'd':
            o->deterministic = true;
            break;
        case 'x':
            o->reactos = true;
            break;
        case 'P':
            if (!cli_parse_u64(optarg, &o->pace_ms) || o->pace_ms > 60000)
                return cli_usage("capture", "--pace-ms needs 0..60000, not '%s'", optarg);
            break;
        case 'o':
            o->out = optarg;
            break;
        case CLI_OPT_REGMAP: {
            int st = cli_regmap_stamp("capture", optarg, &o->regmap);
            if (st != CLI_OK)
                return st;
            break;
        }
        case 'h':
            help();
            return -1;
        default:
            return cli_usage("capture", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage("capture", "unexpected argument '%s'", argv[optind]);
    if (!o->out && !o->ring_path)
        return cli_usage("capture", "-o FILE.dmat (or --ring PATH) is required");
    if (!o->transfers)
        o->transfers = o->scen->transfers;
    if (!o->threads)
        o->threads = o->scen->threads;
    if (o->deterministic)
        o->threads = 1;
    if (!o->rings) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o->rings = o->threads == 1 || n < 1 ? 1 : n > DMT_RING_MAX_RINGS ? DMT_RING_MAX_RINGS : n;
    }
    return 0;
}

/* The machine layout the session runs on (the hvp_config below), for a
 * replay that rebuilds it: header keys placement .. ram_high_top. */
static void header_layout(dmt_header *h, const scenario *s)
{
    hvp_config hc;
    hvp_config_default(&hc);
    h->has_layout = true;
    snprintf(h->placement, sizeof h->placement, "%s", hvp_placement_name(s->placement));
    h->contig_permille = s->contig_permille;
    h->map_register_cap = hc.map_register_cap;
    h->ram_low_top = hc.ram_low_top;
    h->ram_high_top = hc.ram_high_size ? (1ull << 32) + hc.ram_high_size : 0;
}

static int configure(capture *c)
{
    const scenario *s = c->o.scen;
    DMTMINI_CONFIG cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.version = DMTMINI_IOCTL_VERSION;
    cfg.faults = c->o.fault_bits;
    atomic_store(&c->fault_armed, true);
    cfg.fault_transfer = DMTMINI_NO_FAULT_TRANSFER; /* transfer() flags its target */
    for (int ch = 0; ch < 2; ch++) {
        cfg.ch[ch].scatter_gather = s->sg;
        cfg.ch[ch].dma32 = s->dma32;
        cfg.ch[ch].dma64 = s->dma64;
        cfg.ch[ch].maximum_length = s->maximum_length;
    }
    int32_t rc = ioctl_or_fail(c, IOCTL_DMTMINI_CONFIGURE, &cfg, sizeof cfg, NULL, 0);
    if (rc != 0)
        return cli_fail("capture", CLI_FAIL, "the miniport refused its configuration (%d)", rc);
    DMTMINI_INFO info;
    memset(&info, 0, sizeof info);
    rc = ioctl_or_fail(c, IOCTL_DMTMINI_QUERY, NULL, 0, &info, sizeof info);
    if (rc != 0)
        return cli_fail("capture", CLI_FAIL, "the miniport did not answer QUERY (%d)", rc);
    if (!info.probe)
        return cli_fail("capture", CLI_FAIL, "the miniport was built without the probe");
    c->devmem_size = info.devmem_size;
    return 0;
}

/* dmtc_open failed: the message names the file concerned, as before. */
static int open_failed(const capture *c, enum dmtc_part part, const dmt_error *err)
{
    if (part == DMTC_PART_TRACE)
        return cli_report("capture", c->o.out, err);
    if (part == DMTC_PART_RING && c->o.ring_path)
        return cli_fail("capture", CLI_FAIL, "%s: %s", c->o.ring_path, err->msg);
    return cli_fail("capture", CLI_FAIL, "%s", err->msg);
}

/* The session: the ring (in memory, or the shared file of --ring), the
 * trace and its drain thread when -o is given, and the machine. */
static void session_config(const capture *c, dmtc_config *sc)
{
    dmtc_config_default(sc);
    sc->ring = c->o.ring_path ? DMTC_RING_FILE : DMTC_RING_MEMORY;
    sc->digest_policy = c->o.digest;
    sc->ring_path = c->o.ring_path;
    sc->ring_data = (size_t)c->o.ring_mib << 20;
    sc->rings = (uint32_t)c->o.rings;
    sc->policy = c->o.policy;
    sc->populate = true;
    if (c->o.out) {
        dmt_header *h = &sc->header;
        sc->drain = DMTC_DRAIN_THREAD;
        sc->out = c->o.out;
        /* Timed flushes keep the file current, but make chunk boundaries
         * depend on timing: not in deterministic mode. */
        sc->timed_flush = !c->o.deterministic;
        snprintf(h->producer, sizeof h->producer, "dmatrace capture " DMT_VERSION);
        cli_header_machine(h);
        header_layout(h, c->o.scen);
        snprintf(h->scenario, sizeof h->scenario, "%s%s%s", c->o.scen->name,
                 c->o.fault_name ? "+" : "", c->o.fault_name ? c->o.fault_name : "");
        h->seed = c->o.seed;
        memcpy(h->regmap_name, c->o.regmap.regmap_name, sizeof h->regmap_name);
        h->regmap_hash = c->o.regmap.regmap_hash;
    }

    /* The machine.  One workload thread: the host runs deterministically
     * (interrupts and DPCs at defined points), so the same seed gives the
     * same records; --deterministic-clock also makes the timestamps
     * synthetic.  Several threads: real interrupt and DPC threads, real
     * concurrency. */
    hvp_config *hc = &sc->host;
    hc->deterministic = c->o.threads == 1;
    hc->real_clock = !c->o.deterministic;
    sc->clock = c->o.deterministic ? DMTP_CLOCK_COUNTER : DMTP_CLOCK_AUTO;
    if (c->o.out) /* which clock the probe will stamp with (schema/FORMAT.md 1.2) */
        snprintf(sc->header.clock, sizeof sc->header.clock, "%s",
                 c->o.deterministic                 ? "deterministic"
                 : dmtc_clock(sc) == DMTP_CLOCK_TSC ? "TSC/CLOCK_MONOTONIC"
                                                    : "CLOCK_MONOTONIC");
    hc->va_base = 0x7e0000000000ull; /* the same virtual addresses on every run */
    hc->reactos = c->o.reactos;
    hc->seed = c->o.seed;
    hc->placement = c->o.scen->placement;
    hc->contig_permille = c->o.scen->contig_permille;
    hc->log = log_cb;
    sc->device.addr_bits = c->o.scen->addr_bits;
}

int cmd_capture(int argc, char **argv)
{
    capture *c = calloc(1, sizeof *c);
    int st = CLI_OK;
    if (!c)
        return cli_fail("capture", CLI_FAIL, "out of memory");
    for (unsigned i = 0; i < DMTMINI_NUM_CH; i++)
        pthread_mutex_init(&c->channel_lock[i], NULL);
    int prc = parse(argc, argv, &c->o);
    if (prc != 0) {
        free(c);
        return prc < 0 ? CLI_OK : prc;
    }

    dmt_error err;
    dmtc_config sc;
    enum dmtc_part part;
    session_config(c, &sc);
    if (dmtc_open(&sc, &c->s, &part, &err) != 0) {
        st = open_failed(c, part, &err);
        goto out;
    }
    c->m = dmtc_machine(c->s);
    if (dmtc_load(c->s, DriverEntry, &err) != 0) {
        st = cli_fail("capture", CLI_FAIL, "%s", err.msg);
        goto out;
    }
    if ((st = configure(c)) != 0)
        goto out;
    {
        char text[160];
        snprintf(text, sizeof text, "capture: scenario %s, seed %" PRIu64 ", %u transfers%s%s",
                 c->o.scen->name, c->o.seed, c->o.transfers, c->o.fault_name ? ", fault " : "",
                 c->o.fault_name ? c->o.fault_name : "");
        dmtp_marker(text);
    }

    /* The workload. */
    uint64_t t_start = dmt_now_ns();
    pthread_t th[64];
    worker_arg wa[64];
    uint32_t nth = c->o.threads;
    for (uint32_t i = 0; i < nth; i++) {
        wa[i].c = c;
        wa[i].id = i;
        if (nth == 1)
            worker_main(&wa[i]);
        else if (pthread_create(&th[i], NULL, worker_main, &wa[i]) != 0) {
            nth = i;
            break;
        }
    }
    for (uint32_t i = 0; nth > 1 && i < nth; i++)
        pthread_join(th[i], NULL);
    hvp_wait_idle(c->m, 10000);
    uint64_t t_end = dmt_now_ns();
    if (cli_progress_enabled())
        fprintf(stderr, "\r\033[K");
    dmtp_marker("capture: workload finished");
    dmt_drain_stats ds;
    if (dmtc_finish(c->s, &ds, &err) != 0) {
        st = cli_report("capture", c->o.out, &err);
        goto out;
    }
    if (c->o.out) {
        uint64_t recs = ds.records, lost = ds.lost;
        char a[32];
        fprintf(stderr,
                "dmatrace capture: %s: %" PRIu64 " uploads, %" PRIu64 " readbacks, %" PRIu64
                " bytes in %s; %" PRIu64 " records, %" PRIu64 " lost\n",
                c->o.out, (uint64_t)c->uploads, (uint64_t)c->readbacks, (uint64_t)c->bytes_moved,
                cli_ns(a, sizeof a, (int64_t)(t_end - t_start)), recs, lost);
        if (lost)
            fprintf(stderr,
                    "dmatrace capture: WARNING: %" PRIu64
                    " records lost (ring too small?  try --ring-size)\n",
                    lost);
    } else {
        fprintf(stderr,
                "dmatrace capture: %" PRIu64 " uploads, %" PRIu64 " readbacks logged into %s\n",
                (uint64_t)c->uploads, (uint64_t)c->readbacks, c->o.ring_path);
    }
    if (!c->o.fault_bits && (c->verify_failures || c->transfer_errors)) {
        fprintf(stderr,
                "dmatrace capture: %" PRIu64 " transfers failed and %" PRIu64
                " readbacks differed from what was uploaded\n",
                (uint64_t)c->transfer_errors, (uint64_t)c->verify_failures);
        st = CLI_FAIL;
    } else if (c->o.fault_bits && (c->verify_failures || c->transfer_errors)) {
        fprintf(stderr,
                "dmatrace capture: fault %s: %" PRIu64 " transfers failed, %" PRIu64
                " readbacks differed (expected with a planted bug)\n",
                c->o.fault_name, (uint64_t)c->transfer_errors, (uint64_t)c->verify_failures);
    }
    /* A planted bug that never hit would make a "clean" trace look like a
     * regression test that passed: say so and fail. */
    if (c->o.fault_bits && !(atomic_load(&c->faults_applied) & c->o.fault_bits)) {
        fprintf(stderr,
                "dmatrace capture: fault %s was not planted: no transfer from number %u on "
                "gave it anything to hit (try more --transfers or another --scenario)\n",
                c->o.fault_name, FAULT_TRANSFER);
        st = CLI_FAIL;
    }

out:
    dmtc_free(c->s);
    for (unsigned i = 0; i < DMTMINI_NUM_CH; i++)
        pthread_mutex_destroy(&c->channel_lock[i]);
    free(c);
    return st;
}
