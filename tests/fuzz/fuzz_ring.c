/*
 * fuzz_ring.c - fuzz target: the ring consumer on a region whose header and
 * data come from the input (the ring is memory another process, or a
 * driver, can scribble on).
 *
 * Input layout: the region itself - bytes 0..255 the ring header, 256..
 * the data area (4096 bytes; shorter inputs are zero-padded, longer ones
 * cut).  Byte 40 (inside the header's free padding) is a control byte:
 *   bit 7     keep the header as given (else magic, version, hdr_size,
 *             size are forced valid and policy is reduced to 0/1, so the
 *             fuzzer spends its time on the consumer, not on attach)
 *   bits 0-1  torn timeout: 0 (never skip), 1, 2 or 4 time steps
 *   bits 2-3  time step per call: 1, 7, 1000, 2^40 ns
 *
 * The region is an exactly-sized heap block, so ASan reports any read or
 * write outside it.  Properties checked:
 *  - a delivered record is a slot that was committed in the region as
 *    given: at or after the old tail, state committed, a valid check for its
 *    position, the delivered sequence number and length, and the delivered
 *    bytes equal to its payload;
 *  - items come in sequence order with no gap or overlap (LOST covers its
 *    range), LOST counts are non-zero and reasons are ring reasons;
 *  - the number of items is bounded by the data size, and with a timeout
 *    and a sane header (aligned positions, head - tail <= size) the consumer
 *    drains the ring, never idle for more than IDLE_CALLS calls in a row:
 *    tail reaches head and every sequence number below head's is
 *    accounted for;
 *  - the recorder's path (dmt_drain into a dmt_writer) turns the same region
 *    into a trace file that reads back strictly, with the same records and
 *    losses the drain counted, and taking runs of records at once
 *    (dmt_ring_take_run, the default) writes the very file that taking
 *    every item through dmt_ring_next writes, and so does checking records
 *    with the shape cache (the default) or the full walk alone;
 *  - producers (reserve, write, commit) on the same region terminate and
 *    never touch memory outside the data area, whatever the header says.
 */
#include <sys/mman.h>

#include "dmt/drain.h"
#include "dmt/reader.h"
#include "dmt/ring.h"
#include "dmt/writer.h"
#include "fuzz_common.h"

#define DATA   4096u
#define REGION (DMT_RING_HDR_SIZE + DATA)
#define CTRL   40u
/* Calls that deliver nothing before the consumer counts as stuck: a stall
 * resolves within about 3 timeouts of at most 4 steps each. */
#define IDLE_CALLS 64u

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

typedef struct setup {
    uint64_t timeout, step;
    bool sane; /* header positions consistent: the ring must drain */
} setup;

/* Build the region from the input; NULL when attach refuses it. */
static uint8_t *make_region(const uint8_t *data, size_t size, dmt_ring *r, setup *s)
{
    uint8_t *region = aligned_alloc(64, REGION);
    FZ_CHECK(region != NULL, "out of memory");
    memset(region, 0, REGION);
    memcpy(region, data, size < REGION ? size : REGION);
    uint8_t ctrl = region[CTRL];
    dmt_ring_hdr *h = (dmt_ring_hdr *)(void *)region;
    if (!(ctrl & 0x80)) {
        h->magic = DMT_RING_MAGIC;
        h->version = DMT_RING_VERSION;
        h->hdr_size = DMT_RING_HDR_SIZE;
        h->size = DATA;
        h->policy &= 1u;
    }
    static const uint64_t steps[4] = {1, 7, 1000, 1ull << 40};
    static const uint64_t mult[4] = {0, 1, 2, 4};
    s->step = steps[(ctrl >> 2) & 3u];
    s->timeout = s->step * mult[ctrl & 3u];
    if (dmt_ring_attach(r, region, REGION) != 0) {
        free(region);
        return NULL;
    }
    FZ_CHECK(r->size == DATA || (ctrl & 0x80), "attached size %llu", (unsigned long long)r->size);
    uint32_t hp = (uint32_t)h->head, tp = (uint32_t)h->tail;
    s->sane = ((hp | tp) & 7u) == 0 && hp - tp <= r->size;
    return region;
}

/* Pass 1: the consumer alone, every item checked against the region as
 * given. */
static void consume(const uint8_t *data, size_t size)
{
    dmt_ring r;
    setup s;
    uint8_t *region = make_region(data, size, &r, &s);
    if (!region)
        return;
    uint8_t *orig = malloc(REGION);
    uint8_t *scratch = malloc(DMT_RING_MAX_PAYLOAD);
    FZ_CHECK(orig && scratch, "out of memory");
    /* The consumer only zeroes what it consumed and never laps (head does
     * not move), so the region as given is the truth for every slot. */
    memcpy(orig, region, REGION);
    const uint8_t *odata = orig + DMT_RING_HDR_SIZE;
    const uint64_t mask = r.size - 1;

    dmt_ring_consumer c;
    dmt_ring_consumer_init(&c, &r, s.timeout);
    uint64_t expect = c.next_seq, items = 0, now = 1000;
    const uint64_t max_items = 5 * (r.size / 8) + 8;
    const uint64_t max_calls = 24 * (r.size / 8) + 64;
    bool drained = false;
    unsigned idle = 0;
    for (uint64_t call = 0; call < max_calls && idle < IDLE_CALLS; call++) {
        dmt_ring_item it;
        uint32_t old_tail = (uint32_t)__atomic_load_n(&r.hdr->tail, __ATOMIC_RELAXED);
        enum dmt_ring_status st = dmt_ring_next(&c, scratch, now, &it);
        now += s.step;
        uint64_t t = __atomic_load_n(&r.hdr->tail, __ATOMIC_RELAXED);
        uint64_t h = __atomic_load_n(&r.hdr->head, __ATOMIC_RELAXED);
        if (st == DMT_RING_RECORD) {
            FZ_CHECK(it.buf == scratch, "record not in scratch");
            FZ_CHECK(it.seq == expect, "record seq %llu, expected %llu", (unsigned long long)it.seq,
                     (unsigned long long)expect);
            FZ_CHECK(it.len <= DMT_RING_MAX_PAYLOAD && it.len <= r.size / 2, "len %u", it.len);
            uint32_t ext = 8u + ((it.len + 7u) & ~7u);
            uint32_t p = (uint32_t)t - ext;
            FZ_CHECK((uint32_t)(p - old_tail) < r.size, "slot at %u before the old tail %u", p,
                     old_tail);
            uint32_t off = p & (uint32_t)mask;
            FZ_CHECK(off % 8 == 0 && off + ext <= r.size, "slot at offset %u", off);
            uint64_t w = rd64(odata + off);
            uint32_t len = (uint32_t)(w & 0xFFFF), state = (uint32_t)(w >> 16) & 3u;
            uint32_t seq = (uint32_t)(w >> 32);
            FZ_CHECK(state == 2, "delivered a slot in state %u", state);
            FZ_CHECK(len == it.len, "slot len %u, delivered %u", len, it.len);
            FZ_CHECK(seq == (uint32_t)it.seq, "slot seq %u, delivered %llu", seq,
                     (unsigned long long)it.seq);
            FZ_CHECK(((uint32_t)(w >> 18) & 0x3FFFu) == dmt_ring_slot_check(p, len, state, seq),
                     "delivered a slot whose check does not validate");
            FZ_CHECK(memcmp(odata + off + 8, scratch, len) == 0, "payload differs from the slot");
            expect++;
            items++;
            idle = 0;
        } else if (st == DMT_RING_LOST) {
            FZ_CHECK(it.seq == expect, "lost seq %llu, expected %llu", (unsigned long long)it.seq,
                     (unsigned long long)expect);
            FZ_CHECK(it.count >= 1, "lost count 0");
            FZ_CHECK(it.reason <= DMT_LOST_TORN, "lost reason %u", it.reason);
            FZ_CHECK(it.count <= UINT64_MAX - expect, "lost range overflows");
            expect += it.count;
            items++;
            idle = 0;
        } else {
            FZ_CHECK(st == DMT_RING_EMPTY || st == DMT_RING_DONE, "status %d", (int)st);
            idle++;
            if ((uint32_t)t == (uint32_t)h && (uint32_t)expect == (uint32_t)(h >> 32)) {
                drained = true;
                if (st == DMT_RING_DONE)
                    break;
            }
            if (st == DMT_RING_DONE) {
                FZ_CHECK(r.hdr->flags & DMT_RING_F_CLOSED, "done on an open ring");
                FZ_CHECK(drained, "done before the ring was drained");
            }
        }
        FZ_CHECK(items <= max_items, "%llu items from a %llu-byte ring", (unsigned long long)items,
                 (unsigned long long)r.size);
        FZ_CHECK(c.next_seq == expect, "consumer next_seq %llu, delivered up to %llu",
                 (unsigned long long)c.next_seq, (unsigned long long)expect);
    }
    if (getenv("DMT_FUZZ_VERBOSE"))
        fprintf(stderr, "    consumer: %llu items, drained %d, sane %d, timeout %llu\n",
                (unsigned long long)items, drained, s.sane, (unsigned long long)s.timeout);
    if (s.sane && s.timeout)
        FZ_CHECK(drained, "the ring did not drain in %llu calls (tail %u head %u)",
                 (unsigned long long)max_calls, (uint32_t)r.hdr->tail, (uint32_t)r.hdr->head);
    free(scratch);
    free(orig);
    free(region);
}

/* Pass 2: what `dmatrace record` does with the same region, with runs or
 * item by item, checking records with the shape cache or the full walk
 * alone.  Returns the file's bytes (malloc'd; NULL when attach
 * refuses the region), *n their count. */
static uint8_t *drain_to_file(const uint8_t *data, size_t size, bool runs, bool shapes, size_t *n)
{
    dmt_ring r;
    setup s;
    uint8_t *region = make_region(data, size, &r, &s);
    if (!region)
        return NULL;
    int fd = memfd_create("fuzz-drain", MFD_CLOEXEC);
    if (fd < 0) {
        free(region);
        return NULL;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    dmt_header hd;
    memset(&hd, 0, sizeof hd);
    dmt_ring_consumer peek;
    dmt_ring_consumer_init(&peek, &r, 0);
    hd.seq0 = peek.next_seq;
    hd.ring_size = r.size;
    hd.ring_policy = r.hdr->policy;
    dmt_writer *w;
    dmt_error err;
    int rc = dmt_writer_open(path, &hd, DMT_WRITE_HEADER_NOW, &w, &err);
    FZ_CHECK(rc == 0, "writer open: %s", err.msg);
    dmt_writer_set_chunk_size(w, 4096);
    dmt_drain *d = dmt_drain_new(&r, w, s.timeout);
    FZ_CHECK(d != NULL, "out of memory");
    dmt_drain_set_runs(d, runs);
    dmt_drain_set_shape_cache(d, shapes);
    uint64_t now = 1000;
    const uint64_t max_calls = 24 * (r.size / 8) + 64;
    unsigned idle = 0;
    for (uint64_t call = 0; call < max_calls && idle < IDLE_CALLS; call++) {
        rc = dmt_drain_poll(d, now, 16, &err);
        now += s.step;
        FZ_CHECK(rc >= 0, "drain failed: %s", err.msg);
        if (rc == DMT_DRAIN_DONE)
            break;
        idle = rc == DMT_DRAIN_IDLE ? idle + 1 : 0;
    }
    dmt_drain_stats ds = *dmt_drain_get_stats(d);
    dmt_drain_free(d);
    rc = dmt_writer_close(w, &err);
    FZ_CHECK(rc == 0, "writer close: %s", err.msg);

    dmt_reader *rd;
    rc = dmt_reader_open(path, 0, &rd, &err);
    FZ_CHECK(rc == 0, "the recorded trace does not open: %s", err.msg);
    uint64_t records = 0, lost = 0;
    for (;;) {
        dmt_record rec;
        rc = dmt_reader_next(rd, &rec, &err);
        FZ_CHECK(rc >= 0, "the recorded trace does not read back: %s (byte %llu)", err.msg,
                 (unsigned long long)err.offset);
        if (rc == 0)
            break;
        fz_check_record(&rec);
        if (rec.kind == DMT_K_LOST)
            lost += rec.count;
        else
            records++;
    }
    FZ_CHECK(records == ds.records && lost == ds.lost,
             "file holds %llu records / %llu lost, drain counted %llu / %llu",
             (unsigned long long)records, (unsigned long long)lost, (unsigned long long)ds.records,
             (unsigned long long)ds.lost);
    dmt_reader_close(rd);
    off_t end = lseek(fd, 0, SEEK_END);
    uint8_t *file = end > 0 ? malloc((size_t)end) : NULL;
    *n = 0;
    if (file && pread(fd, file, (size_t)end, 0) == (ssize_t)end)
        *n = (size_t)end;
    FZ_CHECK(file && *n == (size_t)end, "cannot read the trace back");
    close(fd);
    free(region);
    return file;
}

/* Pass 3: producers on the same region.  The probe runs in a driver and
 * the recorder can write the whole region (the ring is shared memory), so
 * whatever the header says, a reservation must terminate and stay inside
 * the data area (ASan). */
static void produce(const uint8_t *data, size_t size)
{
    dmt_ring r;
    setup s;
    uint8_t *region = make_region(data, size, &r, &s);
    if (!region)
        return;
    static const uint32_t lens[] = {1, 13, 64, 200, 1000, 2040, 2048, 3000};
    uint8_t payload[3000];
    memset(payload, 0xA5, sizeof payload);
    for (unsigned i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        dmt_ring_resv rv;
        if (!dmt_ring_reserve(&r, lens[i], &rv))
            continue;
        FZ_CHECK(rv.len == lens[i] && rv.buf >= r.data && rv.buf + rv.len <= r.data + r.size,
                 "reservation of %u bytes at offset %lld", lens[i], (long long)(rv.buf - r.data));
        memcpy(rv.buf, payload, rv.len);
        dmt_ring_commit(&r, &rv, i & 1 ? rv.len / 2 : rv.len);
    }
    free(region);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    consume(data, size);
    size_t na = 0, nb = 0, nc = 0;
    uint8_t *a = drain_to_file(data, size, false, false, &na);
    uint8_t *b = drain_to_file(data, size, true, true, &nb);
    uint8_t *c = drain_to_file(data, size, true, false, &nc);
    FZ_CHECK(!a == !b && na == nb && (!a || memcmp(a, b, na) == 0),
             "the drain with runs writes another file (%zu bytes) than item by item (%zu)", nb, na);
    FZ_CHECK(!c == !b && nc == nb && (!c || memcmp(c, b, nc) == 0),
             "the drain with the shape cache writes another file (%zu bytes) than without (%zu)",
             nb, nc);
    free(a);
    free(b);
    free(c);
    produce(data, size);
    return 0;
}
