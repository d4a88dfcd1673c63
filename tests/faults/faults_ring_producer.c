/*
 * faults_ring_producer.c - ring producers that die mid-record.
 *
 * The ring lives in a MAP_SHARED region; producers are forked processes,
 * as the probe in another process (or a driver) would be.
 *
 *  1. Deterministic: producer A commits 10 records, reserves an 11th,
 *     writes half of it and SIGKILLs itself; producer B then commits 10
 *     more.  The consumer (after both are gone; a synthetic clock drives
 *     the torn timeout, so nothing depends on real time) delivers the 20
 *     records byte for byte, reports exactly one LOST of reason "torn" at
 *     A's sequence number, and lost_torn is 1.  Through the drain the trace
 *     file holds the same: 20 records and LOST(seq 10, count 1, torn).
 *  2. Random kill points: three producers write self-checking records in a
 *     loop and are SIGKILLed at random moments, 100 rounds per policy (drop-
 *     newest and overwrite-oldest).  Whatever instruction the kill lands on
 *     - between the reservation and the header store, inside the payload
 *     copy, before the commit - the consumer delivers only whole, valid
 *     records (each carries its own checksum), each producer's records in
 *     its order, accounts for every sequence number (records + lost = all
 *     numbers handed out) and terminates.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dmt/testkit.h"
#include "dmt/drain.h"
#include "dmt/enc.h"
#include "dmt/reader.h"
#include "dmt/ring.h"
#include "dmt/writer.h"

#define TORN_NS 10000000ull /* synthetic torn timeout: 10 ms */
#define STEP_NS 1000000ull  /* synthetic clock step per consumer call */

static uint8_t *region;
static size_t region_len;
static dmt_ring ring;

static void fresh_ring(size_t data, enum dmt_ring_policy p)
{
    if (region)
        munmap(region, region_len);
    region_len = DMT_RING_HDR_SIZE + data;
    region = mmap(NULL, region_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED || dmt_ring_init(region, region_len, p) ||
        dmt_ring_attach(&ring, region, region_len)) {
        fprintf(stderr, "ring setup failed\n");
        exit(1);
    }
}

/* A marker record "w<writer> i<index> h<hash>" with a 64-bit hash of the
 * first two numbers: a delivered record proves its own integrity. */
static uint64_t mix(uint64_t w, uint64_t i)
{
    uint64_t x = w * 0x9E3779B97F4A7C15ull ^ (i + 0x632BE59BD9B4E019ull);
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    return x ^ x >> 29;
}

static size_t make_record(uint8_t *buf, size_t cap, unsigned w, uint64_t i)
{
    char text[96];
    int n = snprintf(text, sizeof text, "w%u i%llu h%016llx %*s", w, (unsigned long long)i,
                     (unsigned long long)mix(w, i), (int)(i % 40), "");
    dmt_record r;
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_MARKER;
    r.n_bytes = (uint32_t)n;
    r.bytes = (const uint8_t *)text;
    return dmt_enc_record(buf, cap, &r, (int64_t)(1000 + i));
}

static dmt_sg_elem sg_scratch[DMT_MAX_SG_ELEMENTS];
static uint64_t values_scratch[DMT_MAX_VALUES];

/* Validate a delivered payload; *w, *i its writer and index. */
static bool valid_record(const uint8_t *p, uint32_t len, unsigned *w, uint64_t *i)
{
    dmt_record r;
    dmt_error err;
    if (dmt_parse_ring_record(p, len, &r, sg_scratch, values_scratch, &err) ||
        r.kind != DMT_K_MARKER)
        return false;
    char text[128];
    if (r.n_bytes >= sizeof text)
        return false;
    memcpy(text, r.bytes, r.n_bytes);
    text[r.n_bytes] = 0;
    unsigned long long ii, hh;
    if (sscanf(text, "w%u i%llu h%llx", w, &ii, &hh) != 3)
        return false;
    *i = ii;
    return hh == mix(*w, ii) && r.ts == (int64_t)(1000 + ii);
}

/* ---- 1. deterministic -------------------------------------------------- */

static void producer_a(void)
{
    uint8_t buf[256];
    for (uint64_t i = 0; i < 10; i++) {
        size_t n = make_record(buf, sizeof buf, 0, i);
        if (!dmt_ring_write(&ring, buf, (uint32_t)n))
            _exit(3);
    }
    size_t n = make_record(buf, sizeof buf, 0, 10);
    dmt_ring_resv rv;
    if (!dmt_ring_reserve(&ring, (uint32_t)n, &rv))
        _exit(3);
    memcpy(rv.buf, buf, n / 2);
    raise(SIGKILL); /* dies holding the reservation */
    _exit(4);
}

static void producer_b(void)
{
    uint8_t buf[256];
    for (uint64_t i = 0; i < 10; i++) {
        size_t n = make_record(buf, sizeof buf, 1, i);
        if (!dmt_ring_write(&ring, buf, (uint32_t)n))
            _exit(3);
    }
    _exit(0);
}

static int run_child(void (*fn)(void))
{
    pid_t pid = fork();
    if (pid == 0)
        fn();
    int st;
    waitpid(pid, &st, 0);
    return st;
}

static void deterministic(void)
{
    fresh_ring(64 * 1024, DMT_RING_DROP_NEWEST);
    int st = run_child(producer_a);
    CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "producer A status %d", st);
    st = run_child(producer_b);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "producer B status %d", st);
    dmt_ring_close(&ring);

    /* A copy of the region for the drain pass below. */
    uint8_t *copy = malloc(region_len);
    memcpy(copy, region, region_len);

    static uint8_t scratch[DMT_RING_MAX_PAYLOAD];
    dmt_ring_consumer c;
    dmt_ring_consumer_init(&c, &ring, TORN_NS);
    uint64_t now = 1, recs = 0, torn = 0, calls = 0;
    uint64_t next_i[2] = {0, 0};
    for (;; calls++) {
        dmt_ring_item it;
        enum dmt_ring_status s = dmt_ring_next(&c, scratch, now, &it);
        now += STEP_NS;
        if (s == DMT_RING_DONE)
            break;
        CHECKF(calls < 100000, "the consumer does not finish");
        if (calls >= 100000)
            break;
        if (s == DMT_RING_RECORD) {
            unsigned w;
            uint64_t i;
            bool ok = valid_record(it.buf, it.len, &w, &i);
            CHECKF(ok && w < 2 && i == next_i[w], "record seq %llu invalid or out of order",
                   (unsigned long long)it.seq);
            if (ok && w < 2)
                next_i[w] = i + 1;
            CHECKF(it.seq == (w == 0 ? i : 11 + i), "record w%u i%llu has seq %llu", w,
                   (unsigned long long)i, (unsigned long long)it.seq);
            recs++;
        } else if (s == DMT_RING_LOST) {
            CHECKF(it.reason == DMT_LOST_TORN && it.seq == 10 && it.count == 1,
                   "lost seq %llu count %llu reason %u", (unsigned long long)it.seq,
                   (unsigned long long)it.count, it.reason);
            torn += it.count;
        }
    }
    CHECKF(recs == 20 && torn == 1, "%llu records, %llu torn", (unsigned long long)recs,
           (unsigned long long)torn);
    CHECKF(ring.hdr->lost_torn == 1, "lost_torn %llu", (unsigned long long)ring.hdr->lost_torn);

    /* The recorder's path: drain into a file, read it back. */
    memcpy(region, copy, region_len);
    free(copy);
    char path[] = "/tmp/dmt-faults-ring-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    dmt_header h;
    memset(&h, 0, sizeof h);
    dmt_writer *w;
    dmt_error err;
    CHECKF(dmt_writer_open(path, &h, DMT_WRITE_HEADER_NOW, &w, &err) == 0, "%s", err.msg);
    dmt_drain *d = dmt_drain_new(&ring, w, TORN_NS);
    now = 1;
    int rc;
    for (calls = 0; calls < 100000; calls++, now += STEP_NS)
        if ((rc = dmt_drain_poll(d, now, 0, &err)) == DMT_DRAIN_DONE || rc < 0)
            break;
    CHECKF(rc == DMT_DRAIN_DONE, "drain: %d %s", rc, err.msg);
    CHECKF(dmt_drain_get_stats(d)->records == 20 && dmt_drain_get_stats(d)->lost == 1,
           "drain counted %llu records, %llu lost",
           (unsigned long long)dmt_drain_get_stats(d)->records,
           (unsigned long long)dmt_drain_get_stats(d)->lost);
    dmt_drain_free(d);
    CHECKF(dmt_writer_close(w, &err) == 0, "%s", err.msg);
    dmt_reader *rd;
    CHECKF(dmt_reader_open(path, 0, &rd, &err) == 0, "%s", err.msg);
    dmt_record r;
    uint64_t n = 0, lost_at = UINT64_MAX;
    while ((rc = dmt_reader_next(rd, &r, &err)) == 1) {
        if (r.kind == DMT_K_LOST) {
            CHECKF(r.reason == DMT_LOST_TORN && r.count == 1, "file: lost %llu reason %u",
                   (unsigned long long)r.count, r.reason);
            lost_at = r.seq;
        } else {
            n++;
        }
    }
    CHECKF(rc == 0 && n == 20 && lost_at == 10, "file: rc %d, %llu records, torn at %llu", rc,
           (unsigned long long)n, (unsigned long long)lost_at);
    dmt_reader_close(rd);
    unlink(path);
}

/* ---- 2. random kill points ---------------------------------------------- */

static void writer_loop(unsigned w)
{
    uint8_t buf[256];
    for (uint64_t i = 0;; i++) {
        size_t n = make_record(buf, sizeof buf, w, i);
        dmt_ring_resv rv;
        if (!dmt_ring_reserve(&ring, (uint32_t)n, &rv))
            continue; /* lost (ring full): the next index goes on */
        memcpy(rv.buf, buf, n);
        dmt_ring_commit(&ring, &rv, (uint32_t)n);
    }
}

#define WRITERS 3

static void random_round(enum dmt_ring_policy p, unsigned round, uint64_t *torn_total,
                         uint64_t *rec_total)
{
    /* drop-newest: big enough that the kills land while writing, not while
     * spinning on a full ring; overwrite-oldest: small, to overwrite. */
    fresh_ring(p == DMT_RING_DROP_NEWEST ? (1u << 20) : 16 * 1024, p);
    pid_t pids[WRITERS];
    for (unsigned w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        if (pids[w] == 0)
            writer_loop(w);
    }
    /* Where the kills land is random; what is checked is not. */
    struct timespec ts = {0, (long)(rand() % 1500) * 1000};
    nanosleep(&ts, NULL);
    for (unsigned w = 0; w < WRITERS; w++) {
        kill(pids[(w + round) % WRITERS], SIGKILL);
        if (rand() % 2) {
            struct timespec t2 = {0, (long)(rand() % 200) * 1000};
            nanosleep(&t2, NULL);
        }
    }
    for (unsigned w = 0; w < WRITERS; w++)
        waitpid(pids[w], NULL, 0);
    dmt_ring_close(&ring);

    static uint8_t scratch[DMT_RING_MAX_PAYLOAD];
    dmt_ring_consumer c;
    dmt_ring_consumer_init(&c, &ring, TORN_NS);
    uint64_t first = c.next_seq;
    uint64_t now = 1, recs = 0, lost = 0, torn = 0, calls;
    int64_t last_i[WRITERS] = {-1, -1, -1};
    bool done = false;
    for (calls = 0; calls < 1000000; calls++) {
        dmt_ring_item it;
        enum dmt_ring_status s = dmt_ring_next(&c, scratch, now, &it);
        now += STEP_NS;
        if (s == DMT_RING_DONE) {
            done = true;
            break;
        }
        if (s == DMT_RING_RECORD) {
            unsigned w;
            uint64_t i;
            bool ok = valid_record(it.buf, it.len, &w, &i);
            CHECKF(ok && w < WRITERS, "round %u: an invalid record at seq %llu (%u bytes)", round,
                   (unsigned long long)it.seq, it.len);
            if (ok && w < WRITERS) {
                CHECKF((int64_t)i > last_i[w], "round %u: writer %u index %llu after %lld", round,
                       w, (unsigned long long)i, (long long)last_i[w]);
                last_i[w] = (int64_t)i;
            }
            recs++;
        } else if (s == DMT_RING_LOST) {
            lost += it.count;
            if (it.reason == DMT_LOST_TORN)
                torn += it.count;
        }
    }
    CHECKF(done, "round %u: the consumer did not finish", round);
    uint64_t handed = (uint32_t)(ring.hdr->head >> 32) - (uint32_t)first;
    CHECKF(recs + lost == handed, "round %u: %llu records + %llu lost, %llu numbers handed out",
           round, (unsigned long long)recs, (unsigned long long)lost, (unsigned long long)handed);
    CHECKF(ring.hdr->lost_torn == torn, "round %u: lost_torn %llu, consumer reported %llu torn",
           round, (unsigned long long)ring.hdr->lost_torn, (unsigned long long)torn);
    *torn_total += torn;
    *rec_total += recs;
}

int main(void)
{
    tk_max_failures = 20;
    deterministic();
    srand(12345);
    uint64_t torn = 0, recs = 0;
    for (unsigned round = 0; round < 100; round++)
        random_round(DMT_RING_DROP_NEWEST, round, &torn, &recs);
    fprintf(stderr, "drop-newest: %llu records, %llu torn over 100 rounds\n",
            (unsigned long long)recs, (unsigned long long)torn);
    torn = recs = 0;
    for (unsigned round = 0; round < 100; round++)
        random_round(DMT_RING_OVERWRITE_OLDEST, round, &torn, &recs);
    fprintf(stderr, "overwrite-oldest: %llu records, %llu torn over 100 rounds\n",
            (unsigned long long)recs, (unsigned long long)torn);
    fprintf(stderr, "faults_ring_producer: %s\n", tk_failures ? "FAILED" : "all checks passed");
    return tk_failures ? 1 : 0;
}
