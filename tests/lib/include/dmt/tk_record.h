/*
 * dmt/tk_record.h - test kit, header only: are two decoded records the
 * same, member for member?  For the decoders' differential tests (core
 * test_decode, fuzz_decode), which must catch a difference in any member,
 * including members added after this was written: the records are
 * compared whole (memcmp) once the pointers are replaced by what they
 * point to.  Both records must have been written whole (the decoders clear
 * every byte, padding included, before they fill a record).
 *
 * tk_decoders_agree and tk_readers_agree run both decoders (dmt/decode.h)
 * on the same bytes and say where they part (tk_decoders_agree also holds
 * dmt_decode_walk to the fast decoder's verdict, length, kind and time).
 *
 * Include it only in programs that link dmt.
 */
#ifndef DMT_TK_RECORD_H
#define DMT_TK_RECORD_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dmt/decode.h"
#include "dmt/reader.h"
#include "dmt/record.h"

/* true when a and b decode the same record; else false and *why names the
 * first difference found. */
static inline bool tk_record_same(const dmt_record *a, const dmt_record *b, const char **why)
{
    dmt_record x, y;
    memcpy(&x, a, sizeof x);
    memcpy(&y, b, sizeof y);
    if (a->n_sg != b->n_sg || a->n_values != b->n_values || a->n_bytes != b->n_bytes) {
        *why = "list or string lengths";
        return false;
    }
    for (uint32_t i = 0; i < a->n_sg; i++) {
        dmt_sg_elem e = dmt_record_sg_at(a, i), f = dmt_record_sg_at(b, i);
        if (e.addr != f.addr || e.len != f.len) {
            *why = "an SG element";
            return false;
        }
    }
    if (a->n_values && memcmp(a->values, b->values, a->n_values * sizeof *a->values)) {
        *why = "values";
        return false;
    }
    if (a->n_bytes && memcmp(a->bytes, b->bytes, a->n_bytes)) {
        *why = "bytes";
        return false;
    }
    /* Pointers and the stride are compared through their contents above;
     * an empty list's pointer means nothing. */
    x.sg_list = y.sg_list = NULL;
    x.sg_stride = y.sg_stride = 0;
    x.values = y.values = NULL;
    x.bytes = y.bytes = NULL;
    if (memcmp(&x, &y, sizeof x)) {
        *why = "a scalar member";
        return false;
    }
    return true;
}

/* The fast decoder and the reference on the record at buf[0..len): both
 * accept with the same length and the same record, or both refuse.  false
 * with the difference in why[0..cap) otherwise.  *accepted (may be NULL):
 * they both accepted. */
static inline bool tk_decoders_agree(const uint8_t *buf, size_t len, bool *accepted, char *why,
                                     size_t cap)
{
    static dmt_sg_elem sg_a[DMT_MAX_SG_ELEMENTS], sg_b[DMT_MAX_SG_ELEMENTS];
    static uint64_t val_a[DMT_MAX_VALUES], val_b[DMT_MAX_VALUES];
    dmt_record a, b;
    dmt_error err;
    size_t used_ref = 0;
    const char *what = "";
    size_t used = dmt_decode_fast(buf, len, &a, sg_a, val_a);
    int rc = dmt_decode_reference(buf, len, &b, sg_b, val_b, &used_ref, &err);
    if (accepted)
        *accepted = used && rc == 0;
    if (rc != 0 && used) {
        snprintf(why, cap, "fast accepts %zu bytes, the reference refuses: %.160s", used, err.msg);
        return false;
    }
    if (rc == 0 && !used) {
        snprintf(why, cap, "the reference accepts %zu bytes (%s), fast refuses", used_ref,
                 dmt_kind_name(b.kind) ? dmt_kind_name(b.kind) : "unknown kind");
        return false;
    }
    if (rc == 0 && used != used_ref) {
        snprintf(why, cap, "fast takes %zu bytes, the reference %zu", used, used_ref);
        return false;
    }
    uint32_t wkind = 0;
    int64_t wts = 0;
    size_t walked = dmt_decode_walk(buf, len, &wkind, &wts);
    if (walked != used || (used && (wkind != a.kind || wts != a.ts))) {
        snprintf(why, cap, "the walk takes %zu bytes (kind %u, time %lld), fast %zu (kind %u)",
                 walked, wkind, (long long)wts, used, a.kind);
        return false;
    }
    if (rc == 0 && !tk_record_same(&a, &b, &what)) {
        snprintf(why, cap, "%s record decoded differently: %s",
                 dmt_kind_name(b.kind) ? dmt_kind_name(b.kind) : "unknown", what);
        return false;
    }
    return true;
}

/* The reader (flags) and the reader decoding with the reference only
 * (flags | DMT_READ_REFERENCE) over the trace mem[0..size): the same
 * header, the same records (offsets, sequence numbers, every member), the
 * same end - clean, cut at the same offset, or the same error (code, byte
 * offset, record index, message).  false with the difference in why. */
static inline bool tk_readers_agree(const uint8_t *mem, size_t size, unsigned flags, char *why,
                                    size_t cap)
{
    dmt_reader *a = NULL, *b = NULL;
    dmt_error ea, eb;
    bool ok = true;
    int ra = dmt_reader_open_mem(mem, size, flags, &a, &ea);
    int rb = dmt_reader_open_mem(mem, size, flags | DMT_READ_REFERENCE, &b, &eb);
    if (ra != rb) {
        snprintf(why, cap, "open: %d, the reference %d", ra, rb);
        ok = false;
    } else if (ra) {
        if (ea.offset != eb.offset || strcmp(ea.msg, eb.msg)) {
            snprintf(why, cap, "open errors differ: %.100s / %.100s", ea.msg, eb.msg);
            ok = false;
        }
    } else if (memcmp(dmt_reader_header(a), dmt_reader_header(b), sizeof(dmt_header))) {
        snprintf(why, cap, "headers differ");
        ok = false;
    }
    bool opened = ok && ra == 0;
    for (uint64_t i = 0; opened && ok; i++) {
        dmt_record x, y;
        const char *what = "";
        ra = dmt_reader_next(a, &x, &ea);
        rb = dmt_reader_next(b, &y, &eb);
        if (ra != rb) {
            snprintf(why, cap, "record %llu: next %d, the reference %d (%.160s)",
                     (unsigned long long)i, ra, rb,
                     rb < 0   ? eb.msg
                     : ra < 0 ? ea.msg
                              : "");
            ok = false;
        } else if (ra < 0) {
            if (ea.code != eb.code || ea.offset != eb.offset || ea.index != eb.index ||
                strcmp(ea.msg, eb.msg)) {
                snprintf(why, cap, "errors differ: %d @%llu #%llu %.60s / %d @%llu #%llu %.60s",
                         ea.code, (unsigned long long)ea.offset, (unsigned long long)ea.index,
                         ea.msg, eb.code, (unsigned long long)eb.offset,
                         (unsigned long long)eb.index, eb.msg);
                ok = false;
            }
        } else if (ra == 0) {
            uint64_t ca = 0, cb = 0;
            bool cuta = dmt_reader_cut(a, &ca, NULL), cutb = dmt_reader_cut(b, &cb, NULL);
            if (cuta != cutb || ca != cb || dmt_reader_count(a) != dmt_reader_count(b) ||
                dmt_reader_skipped(a) != dmt_reader_skipped(b)) {
                snprintf(why, cap, "ends differ (cut %d at %llu / %d at %llu)", cuta,
                         (unsigned long long)ca, cutb, (unsigned long long)cb);
                ok = false;
            }
        } else if (!tk_record_same(&x, &y, &what)) {
            snprintf(why, cap, "record %llu at byte %llu differs: %s", (unsigned long long)i,
                     (unsigned long long)y.pos, what);
            ok = false;
        }
        if (ra <= 0)
            break;
    }
    dmt_reader_close(a);
    dmt_reader_close(b);
    return ok;
}

#endif
