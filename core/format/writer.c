/*
 * writer.c - the trace file writer (see dmt/writer.h).
 *
 * File layout produced:
 *
 *   d9 d9 f7 {header}            tag 55799 + header map (first chunk only)
 *   rec rec ... rec [CHUNK ...]  chunk 1: records, then the chunk record
 *   rec rec ... rec [CHUNK ...]  chunk 2
 *   ...
 *   [END count lost]             after the last chunk, on close
 *
 * Invariants:
 *  1. Only whole chunks are handed to write(), in one call (plus retries for
 *     short writes), so a crash leaves the file cut at a chunk boundary or,
 *     at worst (short write, full disk), inside the last chunk.
 *  2. Time fields are deltas from the previous record in file order
 *     (CHUNK and END included); the first delta is from header t0.
 *  3. Sequence numbers are implicit: each non-LOST record takes the next
 *     one, a LOST record covers [value, value+count).  CHUNK carries the
 *     sequence number at its chunk's start so a reader can check.
 *  4. After any write error the writer is failed (sticky) and only close /
 *     abort are accepted.
 * File calls go through the platform layer (dmt/platform.h), so the same
 * code writes byte-identical files on Linux and Windows.
 * A run of checked ring records (dmt_writer_append_ring_run) is written as
 * that many dmt_writer_append_ring_checked calls would write it, with the
 * buffer's end, the last time and the counts in locals up to each chunk's
 * end: a record goes in through a byte pointer, which may alias any field
 * of the writer.
 */
#include "dmt/writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmt/crc32c.h"
#include "dmt/enc.h"
#include "dmt/platform.h"
#include "dmt/ring.h"
#include "dmt/ringcheck.h"

#define DEFAULT_CHUNK (64u * 1024u)
#define BUF_CAP       (1024u * 1024u + 2u * DMT_MAX_RECORD + 4096u)

struct dmt_writer {
    int fd;
    unsigned flags;
    char *path;
    char *tmp_path;
    dmt_header hdr;
    bool header_written;
    bool header_pending_seq; /* seq0 not fixed yet */
    bool failed;
    int fail_code;

    uint8_t *buf;
    size_t len;         /* bytes buffered (header + records of the current chunk) */
    size_t chunk_start; /* where the current chunk's records start in buf */
    size_t chunk_size;
    uint64_t chunk_records;
    uint64_t chunk_seq;

    int64_t last_ts;
    uint32_t cpu; /* of the last CPU record, DMT_CPU_NONE before any */
    uint64_t next_seq;
    bool any_record;

    uint64_t inject_left;
    int inject_errno;

    dmt_writer_stats st;
};

size_t dmt_header_encode(uint8_t *buf, size_t cap, const dmt_header *h)
{
    size_t n = 0, w;
    unsigned entries = 8;
    bool scen = h->scenario[0] != 0;
    entries += scen ? 1 : 0;
    entries += h->seed ? 1 : 0;
    entries += h->ring_size ? 2 : 0;
    entries += (h->os[0] != 0) + (h->os_build != 0) + (h->cpus != 0) + (h->page_size != 0) +
               (h->clock_hz != 0) + (h->phys_mem != 0) + (h->boot_options[0] != 0);
    entries += h->has_layout ? 5 : 0;
    entries += h->regmap_name[0] ? 2 : 0;
    const uint32_t n_rs = h->n_ring_seq0 <= DMT_MAX_RINGS ? h->n_ring_seq0 : 0;
    entries += n_rs ? 1 : 0;
#define PUT(call)                                                                                  \
    do {                                                                                           \
        w = (call);                                                                                \
        if (w == 0)                                                                                \
            return 0;                                                                              \
        n += w;                                                                                    \
    } while (0)
#define KEYT(k, s)                                                                                 \
    PUT(dmt_enc_text(buf + n, cap - n, k, strlen(k)));                                             \
    PUT(dmt_enc_text(buf + n, cap - n, s, strlen(s)))
#define KEYU(k, v)                                                                                 \
    PUT(dmt_enc_text(buf + n, cap - n, k, strlen(k)));                                             \
    PUT(dmt_enc_uint(buf + n, cap - n, v))
    PUT(dmt_enc_tag(buf, cap, 55799));
    PUT(dmt_enc_map_start(buf + n, cap - n, entries));
    KEYT("magic", "dmatrace");
    KEYU("version", DMT_FORMAT_VERSION);
    PUT(dmt_enc_text(buf + n, cap - n, "t0", 2));
    PUT(dmt_enc_int(buf + n, cap - n, h->t0));
    KEYU("page_shift", DMT_PAGE_SHIFT);
    KEYU("seq0", h->seq0);
    KEYT("producer", h->producer);
    KEYT("clock", h->clock[0] ? h->clock : "unknown");
    KEYT("host", h->host);
    if (scen) {
        KEYT("scenario", h->scenario);
    }
    if (h->seed) {
        KEYU("seed", h->seed);
    }
    if (h->ring_size) {
        KEYU("ring_size", h->ring_size);
        KEYU("ring_policy", h->ring_policy);
    }
    /* Optional keys: written only when known, in a fixed order. */
    if (h->os[0]) {
        KEYT("os", h->os);
    }
    if (h->os_build) {
        KEYU("os_build", h->os_build);
    }
    if (h->cpus) {
        KEYU("cpus", h->cpus);
    }
    if (h->page_size) {
        KEYU("page_size", h->page_size);
    }
    if (h->clock_hz) {
        KEYU("clock_hz", h->clock_hz);
    }
    if (h->phys_mem) {
        KEYU("phys_mem", h->phys_mem);
    }
    if (h->boot_options[0]) {
        KEYT("boot_options", h->boot_options);
    }
    if (h->has_layout) {
        KEYT("placement", h->placement);
        KEYU("contig_permille", h->contig_permille);
        KEYU("map_register_cap", h->map_register_cap);
        KEYU("ram_low_top", h->ram_low_top);
        KEYU("ram_high_top", h->ram_high_top);
    }
    if (h->regmap_name[0]) {
        KEYT("regmap_name", h->regmap_name);
        KEYU("regmap_hash", h->regmap_hash);
    }
    if (n_rs) {
        PUT(dmt_enc_text(buf + n, cap - n, "ring_seq0", 9));
        PUT(dmt_enc_array_start(buf + n, cap - n, n_rs));
        for (uint32_t i = 0; i < n_rs; i++)
            PUT(dmt_enc_uint(buf + n, cap - n, h->ring_seq0[i]));
    }
#undef KEYT
#undef KEYU
#undef PUT
    return n;
}

static int ensure_header(dmt_writer *w, uint64_t first_seq, dmt_error *err);

static int fail(dmt_writer *w, dmt_error *err, int code, int e, const char *what)
{
    w->failed = true;
    w->fail_code = code;
    dmt_error_set(err, code, w->st.bytes_flushed, DMT_NO_INDEX, "%s: %s", what,
                  e ? strerror(e) : "failed");
    if (err)
        err->sys_errno = e;
    return code;
}

static int write_all(dmt_writer *w, const uint8_t *p, size_t n, dmt_error *err)
{
    while (n > 0) {
        size_t want = n;
        if (w->inject_left != UINT64_MAX) {
            if (w->inject_left == 0)
                return fail(w, err, DMT_E_IO, w->inject_errno, "write failed");
            if (want > w->inject_left)
                want = (size_t)w->inject_left;
        }
        long k = dmt_file_write(w->fd, p, want);
        if (k < 0)
            return fail(w, err, DMT_E_IO, (int)-k, "write failed");
        if (k == 0)
            return fail(w, err, DMT_E_IO, ENOSPC, "write failed");
        if (w->inject_left != UINT64_MAX)
            w->inject_left -= (uint64_t)k;
        p += k;
        n -= (size_t)k;
        w->st.bytes_flushed += (uint64_t)k;
    }
    return 0;
}

/* The file could not be created (errno e): drop w and say so. */
static int create_failed(dmt_writer *w, int e, dmt_error *err)
{
    dmt_writer_abort(w);
    dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "cannot create: %s", strerror(e));
    if (err)
        err->sys_errno = e;
    return DMT_E_IO;
}

int dmt_writer_open(const char *path, const dmt_header *hdr, unsigned flags, dmt_writer **out,
                    dmt_error *err)
{
    dmt_error_clear(err);
    *out = NULL;
    dmt_writer *w = calloc(1, sizeof *w);
    if (!w)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    w->buf = malloc(BUF_CAP);
    w->path = strdup(path);
    if (!w->buf || !w->path) {
        free(w->buf);
        free(w->path);
        free(w);
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    }
    w->fd = -1;
    w->flags = flags;
    w->hdr = *hdr;
    w->hdr.version = DMT_FORMAT_VERSION;
    w->hdr.page_shift = DMT_PAGE_SHIFT;
    w->chunk_size = DEFAULT_CHUNK;
    w->inject_left = UINT64_MAX;
    w->header_pending_seq = hdr->seq0 == 0 && !(flags & DMT_WRITE_HEADER_NOW);
    w->next_seq = hdr->seq0;
    w->cpu = DMT_CPU_NONE;
    w->last_ts = hdr->t0;

    if (flags & DMT_WRITE_ATOMIC) {
        size_t n = strlen(path) + 32;
        w->tmp_path = malloc(n);
        if (!w->tmp_path) {
            dmt_writer_abort(w);
            return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
        }
        snprintf(w->tmp_path, n, "%s.tmp-XXXXXX", path);
        w->fd = dmt_file_temp(w->tmp_path);
        if (w->fd < 0) {
            free(w->tmp_path);
            w->tmp_path = NULL;
            return create_failed(w, -w->fd, err);
        }
        if ((flags & DMT_WRITE_EXCL) && dmt_file_exists(path)) {
            dmt_writer_abort(w);
            return dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX,
                                 "already exists (refusing to replace it)");
        }
    } else {
        unsigned of = DMT_OPEN_WRITE | DMT_OPEN_CREATE |
                      ((flags & DMT_WRITE_EXCL) ? DMT_OPEN_EXCL : DMT_OPEN_TRUNC);
        w->fd = dmt_file_open(path, of);
        if (w->fd < 0) {
            return create_failed(w, -w->fd, err);
        }
    }
    if (flags & DMT_WRITE_HEADER_NOW) {
        int rc = ensure_header(w, hdr->seq0, err);
        if (rc == 0)
            rc = write_all(w, w->buf, w->len, err);
        if (rc) {
            dmt_writer_abort(w);
            return rc;
        }
        w->len = 0;
        w->chunk_start = 0;
    }
    *out = w;
    return 0;
}

void dmt_writer_set_chunk_size(dmt_writer *w, size_t bytes)
{
    if (bytes < 4096)
        bytes = 4096;
    if (bytes > 1024u * 1024u)
        bytes = 1024u * 1024u;
    w->chunk_size = bytes;
}

void dmt_writer_inject_failure(dmt_writer *w, uint64_t limit, int e)
{
    w->inject_left = limit;
    w->inject_errno = e;
}

const dmt_writer_stats *dmt_writer_get_stats(const dmt_writer *w)
{
    return &w->st;
}

uint64_t dmt_writer_next_seq(const dmt_writer *w)
{
    return w->next_seq;
}

/* Put the header in front of the first chunk once seq0 is known. */
static int ensure_header(dmt_writer *w, uint64_t first_seq, dmt_error *err)
{
    if (w->header_written)
        return 0;
    if (w->header_pending_seq) {
        w->hdr.seq0 = first_seq;
        w->next_seq = first_seq;
        w->header_pending_seq = false;
    }
    size_t n = dmt_header_encode(w->buf, BUF_CAP, &w->hdr);
    if (n == 0)
        return fail(w, err, DMT_E_USAGE, 0, "header does not encode");
    w->len = n;
    w->chunk_start = n;
    w->chunk_seq = w->next_seq;
    w->header_written = true;
    return 0;
}

static int close_chunk(dmt_writer *w, dmt_error *err)
{
    if (w->chunk_records == 0 && w->len == 0)
        return 0;
    if (w->chunk_records > 0) {
        dmt_record c;
        memset(&c, 0, sizeof c);
        c.kind = DMT_K_CHUNK;
        c.count = w->chunk_records;
        c.length = w->len - w->chunk_start;
        /* One CRC-32C pass over the chunk's records, not one per record. */
        c.value = dmt_crc32c(0, w->buf + w->chunk_start, w->len - w->chunk_start);
        c.seq = w->chunk_seq;
        size_t n = dmt_enc_record(w->buf + w->len, BUF_CAP - w->len, &c, 0);
        if (n == 0)
            return fail(w, err, DMT_E_INTERNAL, 0, "chunk record does not encode");
        w->len += n;
    }
    int rc = write_all(w, w->buf, w->len, err);
    if (rc)
        return rc;
    if ((w->flags & DMT_WRITE_SYNC) && (rc = dmt_file_sync(w->fd, true)) != 0)
        return fail(w, err, DMT_E_IO, -rc, "fdatasync failed");
    w->st.records_flushed += w->chunk_records;
    if (w->chunk_records)
        w->st.chunks++;
    w->len = 0;
    w->chunk_start = 0;
    w->chunk_records = 0;
    w->chunk_seq = w->next_seq;
    return 0;
}

int dmt_writer_flush(dmt_writer *w, dmt_error *err)
{
    if (w->failed)
        return dmt_error_set(err, w->fail_code, DMT_NO_INDEX, DMT_NO_INDEX,
                             "writer failed earlier");
    if (!w->header_written && w->len == 0)
        return 0;
    return close_chunk(w, err);
}

/* Account for n freshly encoded record bytes at buf+len. */
static int commit_record(dmt_writer *w, size_t n, uint64_t seqs, dmt_error *err)
{
    w->len += n;
    w->chunk_records++;
    w->next_seq += seqs;
    if (w->len - w->chunk_start >= w->chunk_size)
        return close_chunk(w, err);
    return 0;
}

/* The delta from *last to ts (saturated), *last moved by it. */
static inline int64_t delta_from(int64_t *last, int64_t ts)
{
    int64_t d;
    if (__builtin_sub_overflow(ts, *last, &d))
        d = ts > *last ? INT64_MAX : INT64_MIN;
    *last += d;
    return d;
}

static int64_t delta(dmt_writer *w, int64_t ts)
{
    return delta_from(&w->last_ts, ts);
}

static int check_usable(dmt_writer *w, dmt_error *err)
{
    if (w->failed)
        return dmt_error_set(err, w->fail_code, DMT_NO_INDEX, DMT_NO_INDEX,
                             "writer failed earlier");
    return 0;
}

int dmt_writer_append(dmt_writer *w, const dmt_record *r, dmt_error *err)
{
    int rc;
    if ((rc = check_usable(w, err)))
        return rc;
    if (r->kind == DMT_K_CHUNK || r->kind == DMT_K_END || r->kind == DMT_K_CPU || r->kind == 0 ||
        r->kind >= DMT_K_MAX_)
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                             "record kind %u cannot be appended", r->kind);
    /* A record of no CPU after records of one comes from a CPU record
     * saying so (cpu DMT_CPU_NONE, FORMAT.md 1.4): written again. */
    if ((w->flags & DMT_WRITE_KEEP_CPU) && (r->cpu != w->cpu || r->has_ring_seq) &&
        (rc = dmt_writer_set_cpu(w, r->cpu, r->has_ring_seq, r->ring_seq, err)))
        return rc;
    uint64_t first = r->kind == DMT_K_LOST ? r->value : w->next_seq;
    if ((rc = ensure_header(w, first, err)))
        return rc;
    if (r->kind == DMT_K_LOST && (r->value != w->next_seq || r->count == 0))
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                             "lost range %llu+%llu does not start at the next sequence %llu",
                             (unsigned long long)r->value, (unsigned long long)r->count,
                             (unsigned long long)w->next_seq);
    int64_t saved = w->last_ts;
    size_t n = dmt_enc_record(w->buf + w->len, BUF_CAP - w->len, r, delta(w, r->ts));
    if (n == 0) {
        w->last_ts = saved;
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                             "%s record breaks a format limit", dmt_kind_name(r->kind));
    }
    if (r->kind == DMT_K_LOST)
        w->st.lost += r->count;
    else
        w->st.records++;
    return commit_record(w, n, r->kind == DMT_K_LOST ? r->count : 1, err);
}

int dmt_writer_lost(dmt_writer *w, uint64_t first, uint64_t count, uint32_t reason, dmt_error *err)
{
    dmt_record r;
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_LOST;
    r.cpu = w->cpu; /* of the current CPU (KEEP_CPU writes no CPU record for it) */
    r.ts = w->last_ts;
    r.value = first;
    r.count = count;
    r.reason = reason;
    return dmt_writer_append(w, &r, err);
}

int dmt_writer_set_cpu(dmt_writer *w, uint32_t cpu, bool with_seq, uint64_t ring_seq,
                       dmt_error *err)
{
    int rc;
    if ((rc = check_usable(w, err)))
        return rc;
    if (cpu == w->cpu && !with_seq)
        return 0;
    if ((rc = ensure_header(w, w->next_seq, err)))
        return rc;
    size_t n = dmt_enc_cpu(w->buf + w->len, BUF_CAP - w->len, delta(w, w->last_ts), cpu, with_seq,
                           ring_seq);
    if (n == 0)
        return fail(w, err, DMT_E_INTERNAL, 0, "cpu record does not encode");
    w->cpu = cpu;
    return commit_record(w, n, 0, err);
}

/* Copy n bytes with fixed-size moves (records are short: a call to
 * memcpy per piece costs more than the copy); reads and writes nothing
 * outside [s, s+n) and [o, o+n). */
static inline void copy_short(uint8_t *o, const uint8_t *s, size_t n)
{
    if (n > 16) {
        /* 16-byte moves, the last one overlapping the one before */
        for (size_t i = 0; i + 16 < n; i += 16)
            memcpy(o + i, s + i, 16);
        memcpy(o + n - 16, s + n - 16, 16);
    } else if (n >= 8) {
        memcpy(o, s, 8);
        memcpy(o + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(o, s, 4);
        memcpy(o + n - 4, s + n - 4, 4);
    } else if (n >= 2) { /* a record's head and kind, usually */
        memcpy(o, s, 2);
        memcpy(o + n - 2, s + n - 2, 2);
    } else if (n) {
        o[0] = s[0];
    }
}

/* A checked ring-form record into o (room for len + 9 bytes), its time as
 * a delta from *last (moved on): rewrite only the time field,
 * [head kind t_abs rest...] -> [head kind t_delta rest...].  Returns the
 * bytes written.  Takes the writer's state by value so that a run keeps it
 * in registers (stores through o may alias any field of the writer). */
static inline size_t emit_checked(uint8_t *o, const uint8_t *payload, size_t len,
                                  const dmt_ring_record_info *ri, int64_t *last)
{
    const size_t toff = ri->time_off, rest = len - toff - ri->time_len;
    copy_short(o, payload, toff);
    const int64_t d = delta_from(last, ri->time);
    size_t tn;
    uint8_t *t = o + toff;
    if (d >= 0 && d < 24) { /* the common cases inline (dmt_enc_int's encoding) */
        t[0] = (uint8_t)d;
        tn = 1;
    } else if (d >= 0 && d <= 0xFF) {
        t[0] = 0x18;
        t[1] = (uint8_t)d;
        tn = 2;
    } else if (d >= 0 && d <= 0xFFFF) {
        t[0] = 0x19;
        t[1] = (uint8_t)(d >> 8);
        t[2] = (uint8_t)d;
        tn = 3;
    } else {
        tn = dmt_enc_int(t, 9, d);
    }
    copy_short(t + tn, payload + toff + ri->time_len, rest);
    return toff + tn + rest;
}

/* A checked ring-form record, the header written. */
static inline int put_checked(dmt_writer *w, const uint8_t *payload, size_t len,
                              const dmt_ring_record_info *ri, dmt_error *err)
{
    if (BUF_CAP - w->len < len + 9)
        return fail(w, err, DMT_E_INTERNAL, 0, "buffer overflow");
    const size_t n = emit_checked(w->buf + w->len, payload, len, ri, &w->last_ts);
    w->st.records++;
    return commit_record(w, n, 1, err);
}

int dmt_writer_append_ring(dmt_writer *w, const uint8_t *payload, size_t len, uint64_t seq,
                           dmt_error *err)
{
    int rc;
    dmt_ring_record_info ri;
    if ((rc = check_usable(w, err)))
        return rc;
    if (w->header_written && seq != w->next_seq)
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                             "ring record sequence %llu, expected %llu", (unsigned long long)seq,
                             (unsigned long long)w->next_seq);
    /* Full validation (the ring is untrusted memory), by the fast checker
     * that accepts exactly what the reader accepts. */
    if (dmt_ring_record_check(payload, len, &ri) != 0)
        return dmt_error_set(err, DMT_E_FORMAT, 0, DMT_NO_INDEX,
                             "ring record of %zu bytes is not a valid record", len);
    return dmt_writer_append_ring_checked(w, payload, len, seq, &ri, err);
}

int dmt_writer_append_ring_checked(dmt_writer *w, const uint8_t *payload, size_t len, uint64_t seq,
                                   const dmt_ring_record_info *ri, dmt_error *err)
{
    int rc;
    if ((rc = check_usable(w, err)))
        return rc;
    if ((rc = ensure_header(w, seq, err)))
        return rc;
    if (seq != w->next_seq)
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                             "ring record sequence %llu, expected %llu", (unsigned long long)seq,
                             (unsigned long long)w->next_seq);
    return put_checked(w, payload, len, ri, err);
}

int dmt_writer_append_ring_run(dmt_writer *w, const uint8_t *base, const dmt_ring_rec *recs,
                               const dmt_ring_record_info *ri, size_t n, uint64_t seq,
                               dmt_error *err)
{
    int rc;
    if (n == 0)
        return 0;
    if ((rc = dmt_writer_append_ring_checked(w, base + recs[0].off, recs[0].len, seq, &ri[0], err)))
        return rc;
    /* The rest as put_checked and commit_record per record, with the
     * buffer's end, the time and the counts in locals up to the end of
     * the chunk (what commit_record closes it at). */
    size_t i = 1;
    while (i < n) {
        uint8_t *const buf = w->buf;
        const size_t end = w->chunk_start + w->chunk_size;
        size_t len = w->len;
        int64_t last = w->last_ts;
        size_t k = i;
        bool room = true;
        /* Each record starts below end (the loop stops there), so where
         * BUF_CAP has a longest record's room past end (it does: a whole
         * chunk and two records more, unless a header took that) only a
         * record longer than that needs the room test. */
        const bool roomy = end <= BUF_CAP - (DMT_MAX_RECORD + 9);
        while (k < n) {
            const size_t plen = recs[k].len;
            if ((!roomy || plen > DMT_MAX_RECORD) && BUF_CAP - len < plen + 9) {
                room = false;
                break;
            }
            len += emit_checked(buf + len, base + recs[k].off, plen, &ri[k], &last);
            k++;
            if (len >= end)
                break;
        }
        w->len = len;
        w->last_ts = last;
        w->st.records += k - i;
        w->chunk_records += k - i;
        w->next_seq += k - i;
        if (!room)
            return fail(w, err, DMT_E_INTERNAL, 0, "buffer overflow");
        if (len >= end && (rc = close_chunk(w, err)))
            return rc;
        i = k;
    }
    return 0;
}

int dmt_writer_append_checked(dmt_writer *w, const uint8_t *payload, size_t len,
                              const dmt_ring_record_info *ri, dmt_error *err)
{
    int rc;
    if ((rc = check_usable(w, err)))
        return rc;
    if ((rc = ensure_header(w, w->next_seq, err)))
        return rc;
    return put_checked(w, payload, len, ri, err);
}

int dmt_writer_close(dmt_writer *w, dmt_error *err)
{
    int rc = 0;
    if (w->failed) {
        rc = dmt_error_set(err, w->fail_code, DMT_NO_INDEX, DMT_NO_INDEX, "writer failed earlier");
        goto out;
    }
    if ((rc = ensure_header(w, w->next_seq, err)))
        goto out;
    if ((rc = close_chunk(w, err)))
        goto out;
    {
        dmt_record e;
        memset(&e, 0, sizeof e);
        e.kind = DMT_K_END;
        e.count = w->st.records;
        e.value = w->st.lost;
        size_t n = dmt_enc_record(w->buf, BUF_CAP, &e, 0);
        if ((rc = write_all(w, w->buf, n, err)))
            goto out;
    }
    if ((w->flags & (DMT_WRITE_SYNC | DMT_WRITE_ATOMIC)) &&
        (rc = dmt_file_sync(w->fd, false)) != 0) {
        rc = fail(w, err, DMT_E_IO, -rc, "fsync failed");
        goto out;
    }
    rc = dmt_file_close(w->fd);
    w->fd = -1;
    if (rc != 0) {
        rc = fail(w, err, DMT_E_IO, -rc, "close failed");
        goto out;
    }
    if (w->tmp_path) {
        /* rename over an existing file (MoveFileEx on Windows) */
        if ((rc = dmt_file_replace(w->tmp_path, w->path)) != 0) {
            rc = fail(w, err, DMT_E_IO, -rc, "rename failed");
            goto out;
        }
        free(w->tmp_path);
        w->tmp_path = NULL;
    }
out:
    dmt_writer_abort(w);
    return rc;
}

void dmt_writer_abort(dmt_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        dmt_file_close(w->fd);
    if (w->tmp_path) {
        dmt_file_remove(w->tmp_path);
        free(w->tmp_path);
    }
    free(w->path);
    free(w->buf);
    free(w);
}
