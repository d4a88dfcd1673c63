/*
 * fuzz_reader.c - fuzz target: the trace reader and the ring-record parser
 * over arbitrary bytes.
 *
 * Per input:
 *  1. dmt_reader_open_mem + dmt_reader_next in strict, allow-cut and
 *     allow-cut+framing modes.  Properties: every returned record respects
 *     the format limits and its pointers are readable (fz_check_record);
 *     sequence numbers are contiguous (LOST covers its range); offsets grow;
 *     the loop ends within size records; strict and allow-cut agree record
 *     for record, and differ only where strict reports "truncated" (allow-cut
 *     then ends cleanly with the cut at the same offset) - any other strict
 *     error is the same error in allow-cut.
 *  2. The file reader (dmt_reader_open on a memfd) returns exactly what the
 *     memory reader returns, error codes and offsets included.
 *  3. dmt_parse_ring_record over the whole input, against the drain's fast
 *     validator dmt_ring_record_check (when present; and its shape cache,
 *     dmt_ring_record_check_cached): both accept exactly
 *     the same ring records, with the same kind and time; when the parser
 *     accepts a non-framing record, dmt_writer_append_ring must accept it
 *     too, and the trace it writes must read back (strict) as the same
 *     record.
 */
#include <sys/mman.h>

#include "dmt/reader.h"
#include "dmt/stats.h"
#include "dmt/writer.h"
#include "fuzz_common.h"

#if __has_include("dmt/ringcheck.h")
#include "dmt/ringcheck.h"
#define HAVE_RINGCHECK 1
#endif

typedef struct run {
    bool open_failed;
    int rc;          /* open or last next result (0 = clean end) */
    int code;        /* error code when rc < 0 */
    uint64_t offset; /* error offset */
    uint64_t n;      /* records returned */
    bool cut;
    uint64_t cut_at;
} run;

/* Read the whole input in one mode; when other is given, compare record by
 * record with a second reader (file or strict) opened on the same bytes. */
static void read_all(dmt_reader *rd, unsigned flags, size_t size, const uint8_t *mem, run *out)
{
    dmt_record rec;
    dmt_error err;
    dmt_stats st;
    uint64_t next_seq = dmt_reader_header(rd)->seq0, last_pos = 0, skipped_before = 0;
    bool first = true;
    dmt_stats_init(&st);
    memset(out, 0, sizeof *out);
    for (;;) {
        int rc = dmt_reader_next(rd, &rec, &err);
        if (rc <= 0) {
            out->rc = rc;
            out->code = rc < 0 ? err.code : 0;
            out->offset = rc < 0 ? err.offset : 0;
            FZ_CHECK(rc == 0 || err.code == rc, "error code %d, returned %d", err.code, rc);
            FZ_CHECK(rc == 0 || memchr(err.msg, 0, sizeof err.msg), "unterminated message");
            /* Once over, it stays over. */
            int again = dmt_reader_next(rd, &rec, &err);
            FZ_CHECK(rc < 0 || again == 0, "next after the end returned %d", again);
            out->cut = dmt_reader_cut(rd, &out->cut_at, NULL);
            return;
        }
        FZ_CHECK(rc == 1, "next returned %d", rc);
        out->n++;
        FZ_CHECK(out->n <= size, "%llu records from %zu bytes", (unsigned long long)out->n, size);
        fz_check_record(&rec);
        FZ_CHECK(first || rec.pos > last_pos, "offset %llu after %llu", (unsigned long long)rec.pos,
                 (unsigned long long)last_pos);
        FZ_CHECK(rec.pos < size, "offset %llu beyond the input", (unsigned long long)rec.pos);
        first = false;
        last_pos = rec.pos;
        if (mem && rec.n_bytes)
            FZ_CHECK(rec.bytes >= mem && rec.bytes + rec.n_bytes <= mem + size,
                     "bytes point outside the input");
        if (rec.kind == DMT_K_CHUNK || rec.kind == DMT_K_END) {
            FZ_CHECK(flags & DMT_READ_FRAMING, "framing record without DMT_READ_FRAMING");
            continue;
        }
        /* Records of unknown kinds are skipped but take their number. */
        uint64_t skipped = dmt_reader_skipped(rd);
        FZ_CHECK(skipped >= skipped_before, "skipped count went down");
        next_seq += skipped - skipped_before;
        skipped_before = skipped;
        FZ_CHECK(rec.seq == next_seq, "seq %llu, expected %llu", (unsigned long long)rec.seq,
                 (unsigned long long)next_seq);
        next_seq += rec.kind == DMT_K_LOST ? rec.count : 1;
        dmt_stats_add(&st, &rec);
    }
}

/* Open mem (or fd path) in mode flags and read it all. */
static void run_mode(const uint8_t *data, size_t size, unsigned flags, const char *path, run *out)
{
    dmt_reader *rd;
    dmt_error err;
    int rc = path ? dmt_reader_open(path, flags, &rd, &err)
                  : dmt_reader_open_mem(data, size, flags, &rd, &err);
    if (rc) {
        FZ_CHECK(rc < 0 && rd == NULL, "open returned %d", rc);
        FZ_CHECK(err.code == rc, "open: error code %d, returned %d", err.code, rc);
        memset(out, 0, sizeof *out);
        out->open_failed = true;
        out->rc = rc;
        out->code = rc;
        out->offset = err.offset;
        return;
    }
    const dmt_header *h = dmt_reader_header(rd);
    FZ_CHECK(memchr(h->producer, 0, sizeof h->producer) && memchr(h->clock, 0, sizeof h->clock) &&
                 memchr(h->host, 0, sizeof h->host) && memchr(h->scenario, 0, sizeof h->scenario),
             "unterminated header string");
    FZ_CHECK(h->version >= DMT_FORMAT_VERSION_MIN && h->version <= DMT_FORMAT_VERSION,
             "header version %u", h->version);
    read_all(rd, flags, size, path ? NULL : data, out);
    dmt_reader_close(rd);
}

/* Lock-step comparison of the memory reader and the file reader. */
static void compare_file_mode(const uint8_t *data, size_t size, unsigned flags)
{
    int fd = memfd_create("fuzz-trace", MFD_CLOEXEC);
    if (fd < 0)
        return;
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(fd, data + off, size - off);
        FZ_CHECK(n > 0, "memfd write: %s", strerror(errno));
        off += (size_t)n;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    dmt_reader *a, *b;
    dmt_error ea, eb;
    int ra = dmt_reader_open_mem(data, size, flags, &a, &ea);
    int rb = dmt_reader_open(path, flags, &b, &eb);
    FZ_CHECK(ra == rb, "open: memory %d, file %d", ra, rb);
    if (ra) {
        FZ_CHECK(ea.offset == eb.offset, "open error offsets differ");
        close(fd);
        return;
    }
    FZ_CHECK(!memcmp(dmt_reader_header(a), dmt_reader_header(b), sizeof(dmt_header)),
             "headers differ");
    for (uint64_t i = 0;; i++) {
        dmt_record x, y;
        const char *why = "";
        ra = dmt_reader_next(a, &x, &ea);
        rb = dmt_reader_next(b, &y, &eb);
        FZ_CHECK(ra == rb, "record %llu: memory %d, file %d", (unsigned long long)i, ra, rb);
        if (ra <= 0) {
            FZ_CHECK(ra == 0 || ea.offset == eb.offset, "error offsets %llu vs %llu",
                     (unsigned long long)ea.offset, (unsigned long long)eb.offset);
            uint64_t ca = 0, cb = 0;
            FZ_CHECK(dmt_reader_cut(a, &ca, NULL) == dmt_reader_cut(b, &cb, NULL) && ca == cb,
                     "cut differs");
            break;
        }
        FZ_CHECK(x.pos == y.pos && fz_record_equal(&x, &y, &why), "record %llu differs: %s",
                 (unsigned long long)i, why);
    }
    dmt_reader_close(a);
    dmt_reader_close(b);
    close(fd);
}

static dmt_sg_elem sg_scratch[DMT_MAX_SG_ELEMENTS];
static uint64_t values_scratch[DMT_MAX_VALUES];

/* A ring record that parses must survive the writer: file form read back
 * equals the ring form parsed. */
static void ring_record(const uint8_t *data, size_t size)
{
    dmt_record r, back;
    dmt_error err;
    if (size > DMT_MAX_RECORD)
        return;
    int rc = dmt_parse_ring_record(data, size, &r, sg_scratch, values_scratch, &err);
#ifdef HAVE_RINGCHECK
    /* The drain's fast validator accepts exactly the ring records the
     * parser accepts (the kinds a ring may carry). */
    dmt_ring_record_info info;
    memset(&info, 0, sizeof info);
    int fast = dmt_ring_record_check(data, size, &info);
    bool ring_kind = rc == 0 && r.kind != DMT_K_LOST && r.kind != DMT_K_CHUNK &&
                     r.kind != DMT_K_END && r.kind != DMT_K_CPU;
    FZ_CHECK((fast == 0) == ring_kind, "ringcheck says %d, the parser %d (%s)", fast, rc,
             rc ? err.msg : dmt_kind_name(r.kind));
    /* The shape cache: the same verdict and info whether the record is new
     * to it (the walk) or its own cached shape (no walk), and against the
     * shape of the previous input (rolling). */
    {
        static dmt_ring_check_cache cc, rolling;
        dmt_ring_check_cache_init(&cc);
        for (int pass = 0; pass < 3; pass++) {
            dmt_ring_record_info ci;
            memset(&ci, 0, sizeof ci);
            int cached = dmt_ring_record_check_cached(pass < 2 ? &cc : &rolling, data, size, &ci);
            FZ_CHECK((cached == 0) == (fast == 0), "shape cache (pass %d) says %d, ringcheck %d",
                     pass, cached, fast);
            FZ_CHECK(cached || (ci.kind == info.kind && ci.time == info.time &&
                                ci.time_off == info.time_off && ci.time_len == info.time_len),
                     "shape cache (pass %d) read kind %u time %lld", pass, ci.kind,
                     (long long)ci.time);
        }
    }
#endif
    if (rc) {
        FZ_CHECK(rc < 0 && err.code == rc, "parse returned %d", rc);
        return;
    }
    fz_check_record(&r);
    if (r.kind == DMT_K_CHUNK || r.kind == DMT_K_END || r.kind == DMT_K_LOST || r.kind == DMT_K_CPU)
        return;
#ifdef HAVE_RINGCHECK
    FZ_CHECK(info.kind == r.kind && info.time == r.ts, "ringcheck read kind %u time %lld",
             info.kind, (long long)info.time);
#endif

    char path[64];
    int fd = memfd_create("fuzz-ring-record", MFD_CLOEXEC);
    if (fd < 0)
        return;
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    dmt_header h;
    memset(&h, 0, sizeof h);
    h.seq0 = 7;
    dmt_writer *w;
    rc = dmt_writer_open(path, &h, DMT_WRITE_HEADER_NOW, &w, &err);
    FZ_CHECK(rc == 0, "writer open: %s", err.msg);
    rc = dmt_writer_append_ring(w, data, size, 7, &err);
    FZ_CHECK(rc == 0, "the writer refused a record the parser accepted: %s", err.msg);
    rc = dmt_writer_close(w, &err);
    FZ_CHECK(rc == 0, "writer close: %s", err.msg);

    dmt_reader *rd;
    rc = dmt_reader_open(path, 0, &rd, &err);
    FZ_CHECK(rc == 0, "reading back: %s", err.msg);
    rc = dmt_reader_next(rd, &back, &err);
    FZ_CHECK(rc == 1, "reading back the record: %d %s", rc, err.msg);
    r.seq = 7;
    const char *why = "";
    FZ_CHECK(fz_record_equal(&r, &back, &why), "the record changed in the writer: %s", why);
    rc = dmt_reader_next(rd, &back, &err);
    FZ_CHECK(rc == 0, "more than one record read back: %d %s", rc, err.msg);
    dmt_reader_close(rd);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run strict, cut, framing;
    run_mode(data, size, 0, NULL, &strict);
    run_mode(data, size, DMT_READ_ALLOW_CUT, NULL, &cut);
    run_mode(data, size, DMT_READ_ALLOW_CUT | DMT_READ_FRAMING, NULL, &framing);

    if (strict.open_failed) {
        /* Open failed: the mode does not matter for the header. */
        FZ_CHECK(cut.open_failed && cut.rc == strict.rc && cut.offset == strict.offset,
                 "open differs by mode");
    } else if (strict.rc == 0) {
        FZ_CHECK(cut.rc == 0 && !cut.cut && cut.n == strict.n,
                 "strict read %llu records cleanly, allow-cut %llu (rc %d, cut %d)",
                 (unsigned long long)strict.n, (unsigned long long)cut.n, cut.rc, cut.cut);
    } else if (strict.code == DMT_E_TRUNCATED) {
        FZ_CHECK(cut.rc == 0 && cut.cut && cut.n == strict.n && cut.cut_at == strict.offset,
                 "strict truncated at %llu after %llu records; allow-cut rc %d cut %d at %llu "
                 "after %llu",
                 (unsigned long long)strict.offset, (unsigned long long)strict.n, cut.rc, cut.cut,
                 (unsigned long long)cut.cut_at, (unsigned long long)cut.n);
    } else {
        FZ_CHECK(cut.rc == strict.rc && cut.code == strict.code && cut.offset == strict.offset &&
                     cut.n == strict.n,
                 "strict failed (%d at %llu after %llu), allow-cut rc %d at %llu after %llu",
                 strict.code, (unsigned long long)strict.offset, (unsigned long long)strict.n,
                 cut.rc, (unsigned long long)cut.offset, (unsigned long long)cut.n);
    }
    /* Framing only adds CHUNK/END records; it ends the same way. */
    FZ_CHECK(framing.open_failed == cut.open_failed && framing.rc == cut.rc &&
                 framing.code == cut.code && framing.n >= cut.n,
             "framing mode ended differently");

    compare_file_mode(data, size, DMT_READ_ALLOW_CUT);
    ring_record(data, size);
    return 0;
}
