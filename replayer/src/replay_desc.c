/*
 * replay_desc.c - the replay engine's common buffers and descriptor checks:
 * COMMON_ALLOC/RELEASE map recorded common buffers into the model's
 * physical memory, DESC_WRITE puts the recorded descriptor bytes there and
 * checks them against the owning transfer's SG list (a partial fill is a
 * suspect until the doorbell).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmt/describe.h"
#include "replay_engine.h"

/* ---- memory: common buffers -------------------------------------------------------- */

int on_common_alloc(rpl_replay *r, const dmt_record *rec)
{
    cbuf_t *old = rpl_idmap_get(&r->cbs, rec->cb);
    if (old) {
        if (old->mapped) {
            dmm_phys_unmap(r->pm, old->addr);
            uncharge(r, old->len);
        }
        rpl_idmap_del(&r->cbs, rec->cb);
        free(old);
    }
    if (rec->length == 0 || rec->addr + (rec->length - 1) < rec->addr) {
        note(r, NK_UNMAPPED, RPL_LIMIT_UNMAPPED,
             "common buffer %u [0x%" PRIx64 ", +0x%" PRIx64 ") is empty or wraps past 2^64; "
             "not mapped",
             rec->cb, rec->addr, rec->length);
        return 0;
    }
    if (!charge(r, rec->length, "common buffer"))
        return r->fatal;
    cbuf_t *cb = calloc(1, sizeof *cb);
    if (!cb) {
        uncharge(r, rec->length);
        return fail(r, "out of memory");
    }
    cb->id = rec->cb;
    cb->adapter = rec->adapter;
    cb->addr = rec->addr;
    cb->len = rec->length;
    if (!rpl_idmap_put(&r->cbs, rec->cb, cb)) {
        uncharge(r, rec->length);
        free(cb);
        return fail(r, "more than %u common buffers live at once", MAX_LIVE_CB);
    }
    int rc = dmm_phys_alloc(r->pm, rec->addr, rec->length);
    if (rc == DMM_OK) {
        cb->mapped = true;
    } else {
        uncharge(r, rec->length);
        if (rc == DMM_ENOMEM)
            return fail(r, "the model's memory map is full (common buffer %u)", rec->cb);
        note(r, NK_CB_OVERLAP, RPL_LIMIT_UNMAPPED,
             "common buffer %u [0x%" PRIx64 ", +0x%" PRIx64 ") overlaps memory already mapped; "
             "not mapped",
             rec->cb, rec->addr, rec->length);
    }
    return 0;
}

void on_common_release(rpl_replay *r, const dmt_record *rec)
{
    cbuf_t *cb = rpl_idmap_del(&r->cbs, rec->cb);
    if (!cb) {
        note(r, NK_UNKNOWN_CB, RPL_LIMIT_UNKNOWN_ID,
             "records refer to common buffer %u, which no common_alloc introduced", rec->cb);
        return;
    }
    if (cb->mapped) {
        dmm_phys_unmap(r->pm, cb->addr);
        uncharge(r, cb->len);
    }
    free(cb);
}

/* ---- descriptors against the SG list ------------------------------------------------- */

/* The transfer whose descriptors a DESC_WRITE into cb carries: the executed,
 * not yet doorbelled transfer on cb's adapter. */
static xfer_t *desc_owner(rpl_replay *r, const cbuf_t *cb)
{
    xfer_t *best = NULL;
    for (unsigned c = 0; c < DMM_NUM_CHANNELS; c++) {
        xfer_t *x = xfer_get(r, r->ch[c].pending);
        if (x && x->adapter == cb->adapter && (!best || x->id > best->id))
            best = x;
    }
    return best;
}

static void desc_diverged(rpl_replay *r, xfer_t *x, uint32_t di, const char *expected,
                          const char *actual, const char *detail)
{
    rpl_divergence d;
    div_init(r, &d, RPL_DIV_DESCRIPTOR);
    set_subject(&d, "desc_write cb=%u offset=0x%" PRIx64 ": descriptor %u of xfer %u", r->rec->cb,
                r->rec->offset, di, x->id);
    set_expected(&d, "%s", expected);
    set_actual(&d, "%s", actual);
    set_detail(&d, "%s", detail);
    x->desc_bad = true;
    emit(r, &d);
}

static void check_descriptors(rpl_replay *r, xfer_t *x, const cbuf_t *cb, const dmt_record *rec)
{
    size_t dsz = desc_size(r);
    if (!dsz || rec->offset % dsz || rec->n_bytes % dsz) {
        x->desc_unparsed = true;
        return;
    }
    if (x->desc_bad || x->desc_unparsed)
        return;
    if (!x->desc_seen || rec->offset != x->desc_next_off) {
        x->desc_seen = true;
        x->dk = 0;
        x->doff = 0;
        x->desc_bytes = 0;
        x->ring_base = cb->addr + rec->offset;
        x->ring_count = 0;
        x->desc_complete = false;
        x->lo_ok = x->hi_ok = x->count_ok = false;
        dmt64_init(&x->desc_st);
    }
    dmt64_update(&x->desc_st, rec->bytes, rec->n_bytes);
    x->desc_index = r->cur;
    uint32_t nd = (uint32_t)(rec->n_bytes / dsz);
    char e[RPL_TEXT], a[RPL_TEXT], det[RPL_TEXT];
    for (uint32_t i = 0; i < nd; i++) {
        uint32_t di = x->ring_count + i;
        dmm_desc d;
        dmm_desc_decode(r->cfg.revision, rec->bytes + (size_t)i * dsz, &d);
        r->sum.descriptors++;
        if (!d.magic_ok) {
            snprintf(e, sizeof e, "a revision %u descriptor", r->cfg.revision);
            snprintf(a, sizeof a, "bad magic");
            snprintf(det, sizeof det, "the engine stops with MAGIC at this descriptor");
            desc_diverged(r, x, di, e, a, det);
            return;
        }
        if (d.len == 0) {
            snprintf(e, sizeof e, "a length >= 1");
            snprintf(a, sizeof a, "length 0");
            snprintf(det, sizeof det, "host 0x%" PRIx64, d.host_addr);
            desc_diverged(r, x, di, e, a, det);
            return;
        }
        uint64_t ha = d.host_addr, left = d.len;
        while (left > 0) {
            while (x->dk < x->n_sg && x->sg[x->dk].len == 0)
                x->dk++;
            if (x->dk >= x->n_sg) {
                snprintf(e, sizeof e,
                         "no bytes past the end of the SG list (%u elements, %" PRIu64 " bytes)",
                         x->n_sg, x->granted);
                snprintf(a, sizeof a, "host 0x%" PRIx64 "+0x%x", d.host_addr, d.len);
                snprintf(det, sizeof det, "reaches %" PRIu64 " bytes past the SG list", left);
                desc_diverged(r, x, di, e, a, det);
                return;
            }
            const dmt_sg_elem *s = &x->sg[x->dk];
            uint64_t want = s->addr + x->doff;
            if (ha != want) {
                snprintf(e, sizeof e, "host 0x%" PRIx64 " (SG element %u +0x%" PRIx64 ")", want,
                         x->dk, x->doff);
                snprintf(a, sizeof a, "host 0x%" PRIx64 "+0x%x", d.host_addr, d.len);
                if (ha == d.host_addr && x->doff && ha == s->addr && di > 0)
                    snprintf(det, sizeof det,
                             "descriptor %u ran 0x%" PRIx64 " bytes into SG element %u, which is "
                             "contiguous with the element before it",
                             di - 1, x->doff, x->dk);
                else if (ha == d.host_addr)
                    snprintf(det, sizeof det,
                             "the descriptor does not start where the SG list continues");
                else
                    snprintf(det, sizeof det,
                             "the descriptor runs on past SG element %u, which ends at 0x%" PRIx64,
                             x->dk ? x->dk - 1 : 0, ha);
                desc_diverged(r, x, di, e, a, det);
                return;
            }
            uint64_t t = s->len - x->doff;
            if (t > left)
                t = left;
            ha += t;
            left -= t;
            x->doff += t;
            x->desc_bytes += t;
            if (x->doff == s->len) {
                x->dk++;
                x->doff = 0;
            }
        }
    }
    x->ring_count += nd;
    x->desc_next_off = rec->offset + rec->n_bytes;
    while (x->dk < x->n_sg && x->sg[x->dk].len == 0)
        x->dk++;
    if (x->dk >= x->n_sg) {
        x->desc_complete = true;
        if (x->desc_suspect >= 0) {
            suspect_close(r, x->desc_suspect, false);
            x->desc_suspect = -1;
        }
        return;
    }
    /* a prefix: more descriptors may follow before the doorbell */
    if (x->desc_suspect >= 0) {
        suspect_close(r, x->desc_suspect, false);
        x->desc_suspect = -1;
    }
    int s = suspect_open(r, false, x->id, r->cur + DESC_WINDOW);
    if (s < 0)
        return;
    x->desc_suspect = s;
    rpl_divergence *d = &r->sus[s].d;
    div_init(r, d, RPL_DIV_DESCRIPTOR);
    set_subject(d, "desc_write cb=%u offset=0x%" PRIx64 ": descriptors of xfer %u", rec->cb,
                rec->offset, x->id);
    set_expected(d, "%" PRIu64 " bytes (%u SG elements)", x->granted, x->n_sg);
    set_actual(d, "%" PRIu64 " bytes in %u descriptors", x->desc_bytes, x->ring_count);
    set_detail(d, "SG elements %u..%u are not programmed when the doorbell rings", x->dk,
               x->n_sg - 1);
}

void on_desc_write(rpl_replay *r, const dmt_record *rec)
{
    cbuf_t *cb = rpl_idmap_get(&r->cbs, rec->cb);
    if (!cb) {
        note(r, NK_UNKNOWN_CB, RPL_LIMIT_UNKNOWN_ID,
             "records refer to common buffer %u, which no common_alloc introduced", rec->cb);
        return;
    }
    uint64_t n = rec->n_bytes;
    if (rec->offset > cb->len || n > cb->len - rec->offset) {
        rpl_divergence d;
        div_init(r, &d, RPL_DIV_DESCRIPTOR);
        set_subject(&d, "desc_write cb=%u offset=0x%" PRIx64, rec->cb, rec->offset);
        set_expected(&d, "bytes inside the common buffer (%" PRIu64 " bytes)", cb->len);
        set_actual(&d, "%u bytes at offset 0x%" PRIx64, rec->n_bytes, rec->offset);
        set_detail(&d, "the write runs past the end of the buffer; the part inside it is applied");
        emit(r, &d);
        n = rec->offset > cb->len ? 0 : cb->len - rec->offset;
    }
    if (cb->mapped && n)
        dmm_phys_write(r->pm, cb->addr + rec->offset, rec->bytes, n);
    xfer_t *x = desc_owner(r, cb);
    if (x && x->sg && n == rec->n_bytes)
        check_descriptors(r, x, cb, rec);
}
