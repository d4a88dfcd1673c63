/*
 * carve.c - rings out of memory images (dmt/carve.h).
 *
 * Scan: one pass over the image's runs in large reads; at every 8-byte
 * aligned physical address the first word is compared with the ring magic.
 * A hit is only a candidate: its 256-byte header is read again through the
 * image (it may straddle two runs) and every field is checked before the
 * candidate is reported.  The pass keeps no per-candidate state beyond the
 * fixed result table, so memory does not grow with the image.
 *
 * Extract: the ring region is copied into an anonymous mapping (pages the
 * image lacks stay zero, which the consumer sees as never-written slots),
 * marked closed, and drained by the recorder's own drain with a clock that
 * jumps past the torn-slot timeout whenever the ring looks idle, so every
 * in-flight or missing slot is skipped at once and counted as lost.
 */
#include "dmt/carve.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmt/drain.h"
#include "dmt/platform.h"
#include "dmt/reader.h"
#include "dmt/ring.h"
#include "dmt/writer.h"

#define SCAN_CHUNK (4u << 20)

const char *dmt_carve_reject_name(enum dmt_carve_reject r)
{
    static const char *const names[DMT_CARVE_REJ_N_] = {
        "unknown version",        "bad data size",           "unknown policy",
        "inconsistent positions", "header not in the image", "beyond the report cap"};
    return r < DMT_CARVE_REJ_N_ ? names[r] : "?";
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Validate the header at phys; fill *out.  Returns -1 (ok) or a reason. */
static int check_candidate(dmt_image *img, uint64_t phys, dmt_carve_ring *out)
{
    uint8_t h[DMT_RING_HDR_SIZE];
    long n = dmt_image_read(img, phys, h, sizeof h, NULL, NULL);
    if (n != (long)sizeof h)
        return DMT_CARVE_REJ_ABSENT;
    const uint32_t version = rd32(h + 8);
    if (version < DMT_RING_VERSION_MIN || version > DMT_RING_VERSION ||
        rd32(h + 12) != DMT_RING_HDR_SIZE)
        return DMT_CARVE_REJ_VERSION;
    const uint64_t size = rd64(h + 16);
    if (size < DMT_RING_MIN_SIZE || size > DMT_RING_MAX_SIZE || (size & (size - 1)))
        return DMT_CARVE_REJ_SIZE;
    const uint32_t policy = rd32(h + 24);
    if (policy != DMT_RING_DROP_NEWEST && policy != DMT_RING_OVERWRITE_OLDEST)
        return DMT_CARVE_REJ_POLICY;
    const uint64_t head = rd64(h + 64), tail = rd64(h + 128);
    const uint32_t used = (uint32_t)head - (uint32_t)tail;
    if (used > size || (((uint32_t)head | (uint32_t)tail) & 7u))
        return DMT_CARVE_REJ_POSITIONS;
    memset(out, 0, sizeof *out);
    out->phys = phys;
    out->data_size = size;
    out->policy = policy;
    out->flags = rd32(h + 28);
    out->head_seq = head >> 32;
    out->tail_seq = tail >> 32;
    out->lost_full = rd64(h + 192);
    out->lost_overwritten = rd64(h + 200);
    out->lost_torn = rd64(h + 208);
    out->committed = rd64(h + 216);
    out->absent = dmt_image_absent(img, phys, DMT_RING_HDR_SIZE + size);
    out->ring_count = 1;
    if (version >= 2) {
        out->instance = rd64(h + 40);
        out->ring_index = rd32(h + 48);
        out->ring_count = rd32(h + 52) ? rd32(h + 52) : 1;
        if (out->ring_count > DMT_RING_MAX_RINGS || out->ring_index >= out->ring_count)
            return DMT_CARVE_REJ_POSITIONS;
    }
    return -1;
}

/* Is c a further ring of a per-CPU region whose ring 0 was found (same
 * instance, at its place before c)?  Such a ring is carved with ring 0. */
static bool in_region(const dmt_carve_scan_result *res, const dmt_carve_ring *c)
{
    if (c->ring_index == 0 || c->ring_count < 2)
        return false;
    const uint64_t back = (uint64_t)c->ring_index * (DMT_RING_HDR_SIZE + c->data_size);
    for (size_t i = res->n; i-- > 0;) {
        const dmt_carve_ring *z = &res->rings[i];
        if (z->ring_index == 0 && z->phys + back == c->phys && z->instance == c->instance &&
            z->ring_count == c->ring_count && z->data_size == c->data_size)
            return true;
    }
    return false;
}

int dmt_carve_scan(dmt_image *img, dmt_carve_scan_result *res, dmt_carve_progress_fn progress,
                   void *ctx, dmt_error *err)
{
    memset(res, 0, sizeof *res);
    size_t nr;
    const dmt_image_run *runs = dmt_image_runs(img, &nr);
    const uint64_t total = dmt_image_get_info(img)->present;
    uint8_t *buf = malloc(SCAN_CHUNK);
    if (!buf)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    const int fd = dmt_image_fd(img);
    const uint64_t magic = DMT_RING_MAGIC;
    for (size_t i = 0; i < nr; i++) {
        const dmt_image_run *r = &runs[i];
        for (uint64_t done = 0; done < r->len;) {
            size_t want = r->len - done < SCAN_CHUNK ? (size_t)(r->len - done) : SCAN_CHUNK;
            long got = dmt_file_pread(fd, buf, want, r->file_off + done);
            if (got <= 0) {
                int e = got < 0 ? (int)-got : EIO;
                free(buf);
                return dmt_error_set(err, DMT_E_IO, r->file_off + done, DMT_NO_INDEX,
                                     "read failed: %s", strerror(e));
            }
            const uint64_t phys = r->phys + done;
            size_t k = (size_t)((8 - (phys & 7)) & 7);
            for (; k + 8 <= (size_t)got; k += 8) {
                uint64_t word;
                memcpy(&word, buf + k, 8); /* one load; the loop stays tight */
                if (word != magic)
                    continue;
                dmt_carve_ring cand;
                int why = check_candidate(img, phys + k, &cand);
                if (why >= 0)
                    res->rejected[why]++;
                else if (in_region(res, &cand))
                    continue; /* carved with ring 0 of its per-CPU region */
                else if (res->n == DMT_CARVE_MAX_CANDIDATES)
                    res->rejected[DMT_CARVE_REJ_TOO_MANY]++;
                else
                    res->rings[res->n++] = cand;
            }
            /* A chunk that is not a multiple of 8 leaves at most 7 bytes
             * unexamined; the next read starts 8-aligned again. */
            const uint64_t step = (uint64_t)got & ~7ull ? (uint64_t)got & ~7ull : (uint64_t)got;
            done += step;
            res->bytes_scanned += step;
            if (progress)
                progress(ctx, res->bytes_scanned, total);
        }
    }
    free(buf);
    return 0;
}

/* Copy [phys, phys+len) of the image into dst; absent bytes stay as they are
 * (zero).  Returns 0 or DMT_E_IO. */
static int copy_region(dmt_image *img, uint64_t phys, uint8_t *dst, uint64_t len, dmt_error *err)
{
    uint64_t at = 0;
    while (at < len) {
        uint64_t next;
        size_t want = len - at < (64u << 20) ? (size_t)(len - at) : (64u << 20);
        long got = dmt_image_read(img, phys + at, dst + at, want, &next, err);
        if (got < 0)
            return (int)got;
        if (got > 0) {
            at += (uint64_t)got;
            continue;
        }
        if (next == UINT64_MAX || next - phys >= len)
            break;
        at = next - phys;
    }
    return 0;
}

/* Copy every record of the partial recording into w (set up with its
 * header); *next receives the writer's next sequence number. */
static int copy_partial(dmt_reader *rd, dmt_writer *w, dmt_carve_stats *st, dmt_error *err)
{
    dmt_record r;
    int rc;
    while ((rc = dmt_reader_next(rd, &r, err)) == 1) {
        if ((rc = dmt_writer_append(w, &r, err)) != 0)
            return rc;
        if (r.kind == DMT_K_LOST)
            st->lost += r.count;
        else
            st->records++;
    }
    return rc;
}

int dmt_carve_extract(dmt_image *img, const dmt_carve_ring *ring, const char *source,
                      const char *partial, const char *out_path, dmt_carve_stats *st,
                      dmt_error *err)
{
    if (ring->data_size > DMT_RING_MAX_SIZE)
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX, "ring too large");
    dmt_carve_stats cs;
    memset(&cs, 0, sizeof cs);
    /* Ring 0 of a per-CPU region: the whole region, its rings merged.  Any
     * other ring of one is carved alone (its CPU's records). */
    const uint32_t count = ring->ring_index == 0 ? ring->ring_count : 1;
    if (count > 1 && partial)
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                             "a per-CPU ring region (%u rings) cannot continue a recording", count);
    const size_t len = (size_t)dmt_ringset_region_len(count, ring->data_size);
    /* Anonymous and lazily backed: absent pages cost nothing and read 0. */
    uint8_t *region = dmt_map_anon(len);
    if (!region)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX,
                             "cannot map %zu bytes for the ring", len);
    int rc = copy_region(img, ring->phys, region, len, err);
    dmt_ringset set;
    dmt_ring r;
    if (rc == 0) {
        /* The producer is gone: closed, so the drain ends when it is empty.
         * A further ring of a region whose header the image lacks (or that
         * does not belong) holds nothing we can count: an empty ring stands
         * in for it, and cs.rings_missing says how many. */
        const size_t stride = DMT_RING_HDR_SIZE + (size_t)ring->data_size;
        for (uint32_t i = 0; i < count; i++) {
            dmt_ring_hdr *hdr = (dmt_ring_hdr *)(region + (size_t)i * stride);
            dmt_ring one;
            if (i > 0 && (dmt_ring_attach(&one, hdr, stride) != 0 || one.size != ring->data_size ||
                          hdr->instance != ring->instance || hdr->ring_index != i ||
                          hdr->ring_count != count || hdr->policy != ring->policy)) {
                dmt_ring_init(hdr, stride, (enum dmt_ring_policy)ring->policy);
                hdr->version = DMT_RING_VERSION;
                hdr->instance = ring->instance;
                hdr->ring_index = i;
                hdr->ring_count = count;
                cs.rings_missing++;
            }
            hdr->flags |= DMT_RING_F_CLOSED;
        }
        if (count > 1 ? dmt_ringset_attach(&set, region, len) != 0
                      : dmt_ring_attach(&r, region, len) != 0)
            rc = dmt_error_set(err, DMT_E_FORMAT, ring->phys, DMT_NO_INDEX,
                               "the ring at physical 0x%" PRIx64 " changed since the scan",
                               ring->phys);
        if (rc == 0 && count > 1) {
            r = set.rings[0];
        } else if (rc == 0) {
            set.count = 1;
            set.instance = 0;
            set.rings[0] = r;
        }
    }
    dmt_reader *rd = NULL;
    dmt_writer *w = NULL;
    dmt_drain *d = NULL;
    if (rc == 0) {
        dmt_header h;
        dmt_ring_consumer peek;
        dmt_ring_consumer_init(&peek, &r, 0);
        if (partial) {
            /* The recording's header and records first; the ring continues it. */
            if ((rc = dmt_reader_open(partial, DMT_READ_ALLOW_CUT, &rd, err)) == 0)
                h = *dmt_reader_header(rd);
        } else {
            memset(&h, 0, sizeof h);
            snprintf(h.producer, sizeof h.producer, "dmatrace carve");
            snprintf(h.clock, sizeof h.clock, "probe clock (carved)");
            snprintf(h.host, sizeof h.host, "carved from %s at physical 0x%" PRIx64, source,
                     ring->phys);
            h.ring_size = r.size;
            h.ring_policy = r.hdr->policy;
            h.seq0 = count > 1 ? 0 : peek.next_seq;
            h.cpus = count > 1 ? count : 0;
        }
        cs.first_seq = h.seq0;
        if (rc == 0)
            rc = dmt_writer_open(out_path, &h,
                                 DMT_WRITE_ATOMIC | DMT_WRITE_HEADER_NOW | DMT_WRITE_KEEP_CPU, &w,
                                 err);
    }
    if (rc == 0 && rd)
        rc = copy_partial(rd, w, &cs, err);
    if (rc == 0 && !(d = dmt_drain_new_set(&set, w, 1)))
        rc = dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    if (rc == 0 && rd)
        dmt_drain_resume_at(d, dmt_writer_next_seq(w));
    /* Each idle poll moves the clock past both torn-slot timeouts, so one
     * stuck slot is skipped per poll; a ring has at most size/8 slots. */
    uint64_t now = 1, idle = 0;
    const uint64_t max_idle = count * (ring->data_size / 8) + 16;
    while (rc == 0) {
        int p = dmt_drain_poll(d, now, 65536, err);
        if (p < 0) {
            rc = p;
            break;
        }
        if (p == DMT_DRAIN_DONE)
            break;
        if (p == DMT_DRAIN_IDLE) {
            now += 4000000000ull;
            if (++idle > max_idle) {
                rc = dmt_error_set(err, DMT_E_FORMAT, ring->phys, DMT_NO_INDEX,
                                   "the ring at physical 0x%" PRIx64 " never drains", ring->phys);
                break;
            }
        }
    }
    if (rc == 0) {
        const dmt_drain_stats *ds = dmt_drain_get_stats(d);
        cs.records += ds->records;
        cs.lost += ds->lost;
        cs.next_seq = dmt_writer_next_seq(w);
        if (st)
            *st = cs;
    }
    dmt_drain_free(d);
    dmt_reader_close(rd);
    if (w) {
        if (rc == 0)
            rc = dmt_writer_close(w, err);
        else
            dmt_writer_abort(w);
    }
    dmt_unmap_anon(region, len);
    return rc;
}
