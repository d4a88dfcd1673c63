/*
 * driver_compare.c - pass 2 of driver-mode replay (driver.c): the re-run
 * trace loaded by stream, and the recorded records compared with it stream
 * by stream, fields that depend on the run left out; a stream's first
 * difference is a divergence at the recorded record.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmt/source.h"
#include "dmt/describe.h"
#include "dmt/reader.h"
#include "driver_plan.h"

static const char *const stream_names[NSTREAM] = {"setup",     "channel 0", "channel 1",
                                                  "channel 0", "channel 1", "channel 0",
                                                  "channel 1", "global"};

/* ---- the re-run trace in memory ----------------------------------------------------- */

void rpl__drv_rt_free(rerun_trace *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free((void *)t->r[i].sg_list);
        free((void *)t->r[i].values);
        free((void *)t->r[i].bytes);
    }
    free(t->r);
    for (unsigned s = 0; s < NSTREAM; s++)
        free(t->idx[s]);
    rpl__drv_links_free(&t->L);
}

/* Injection mode: the data of a from-device transfer is the device's, which
 * the backend does not stand for, so its DIGEST is not the driver's doing. */
static bool left_out(bool inject_mode, const dmt_record *r, int stream)
{
    return inject_mode && r->kind == DMT_K_DIGEST && stream == ST_CH1;
}

int rpl__drv_rt_load(rerun_trace *t, const char *path, bool inject_mode, bool split_status,
                     dmt_error *err)
{
    memset(t, 0, sizeof *t);
    if (!rpl__drv_links_init(&t->L))
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    t->L.split_status = split_status;
    dmt_reader *rd;
    int rc = dmt_reader_open(path, DMT_READ_ALLOW_CUT, &rd, err);
    if (rc < 0)
        return rc;
    dmt_record r;
    while ((rc = dmt_reader_next(rd, &r, err)) == 1) {
        if (t->n == MAX_RERUN_REC) {
            rc = dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, DMT_NO_INDEX,
                               "driver mode: the re-run produced too many records");
            break;
        }
        if (t->n == t->cap) {
            size_t nc = t->cap ? t->cap * 2 : 4096;
            dmt_record *q = realloc(t->r, nc * sizeof *q);
            if (!q) {
                rc = DMT_E_NOMEM;
                break;
            }
            t->r = q;
            t->cap = nc;
        }
        /* own copies of the variable parts */
        dmt_sg_elem *sg = NULL;
        if (r.n_sg) {
            size_t stride = r.sg_stride ? r.sg_stride : sizeof(dmt_sg_elem);
            sg = malloc(r.n_sg * sizeof *sg);
            for (uint32_t i = 0; sg && i < r.n_sg; i++) {
                memcpy(&sg[i].addr, (const uint8_t *)r.sg_list + i * stride, 8);
                memcpy(&sg[i].len, (const uint8_t *)r.sg_list + i * stride + 8, 4);
            }
        }
        uint64_t *vals = r.n_values ? malloc(r.n_values * sizeof *vals) : NULL;
        if (vals)
            memcpy(vals, r.values, r.n_values * sizeof *vals);
        uint8_t *bytes = r.n_bytes ? malloc(r.n_bytes) : NULL;
        if (bytes)
            memcpy(bytes, r.bytes, r.n_bytes);
        r.sg_list = sg;
        r.sg_stride = sizeof(dmt_sg_elem);
        r.values = vals;
        r.bytes = bytes;
        if ((r.n_sg && !sg) || (r.n_values && !vals) || (r.n_bytes && !bytes)) {
            free(sg);
            free(vals);
            free(bytes);
            rc = DMT_E_NOMEM;
            break;
        }
        rpl__drv_links_add(&t->L, &r, t->n);
        t->r[t->n++] = r;
    }
    dmt_reader_close(rd);
    if (rc < 0)
        return rc == DMT_E_NOMEM
                   ? dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory")
                   : rc;
    for (unsigned s = 0; s < NSTREAM; s++) {
        t->idx[s] = malloc((t->n ? t->n : 1) * sizeof *t->idx[s]);
        if (!t->idx[s])
            return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    }
    for (size_t i = 0; i < t->n; i++) {
        int s = rpl__drv_stream_of(&t->L, &t->r[i], i);
        if (s < NSTREAM && !left_out(inject_mode, &t->r[i], s))
            t->idx[s][t->nidx[s]++] = (uint32_t)i;
    }
    return 0;
}

/* ---- comparing two records ---------------------------------------------------------- */

static bool sg_equal(const dmt_record *a, const dmt_record *b)
{
    if (a->n_sg != b->n_sg)
        return false;
    size_t sa = a->sg_stride ? a->sg_stride : sizeof(dmt_sg_elem);
    size_t sb = b->sg_stride ? b->sg_stride : sizeof(dmt_sg_elem);
    for (uint32_t i = 0; i < a->n_sg; i++) {
        uint64_t x, y;
        uint32_t l, m;
        memcpy(&x, (const uint8_t *)a->sg_list + i * sa, 8);
        memcpy(&l, (const uint8_t *)a->sg_list + i * sa + 8, 4);
        memcpy(&y, (const uint8_t *)b->sg_list + i * sb, 8);
        memcpy(&m, (const uint8_t *)b->sg_list + i * sb + 8, 4);
        if (x != y || l != m)
            return false;
    }
    return true;
}

/* The first field in which a (recorded) and b (re-run) differ, or NULL. */
static const char *record_diff(const dmt_record *a, const dmt_record *b)
{
    if (a->kind != b->kind)
        return "the record kind";
    switch (a->kind) {
    case DMT_K_REG_WRITE:
    case DMT_K_REG_READ:
        if (a->off != b->off)
            return "the register";
        if ((a->width ? a->width : 4) != (b->width ? b->width : 4))
            return "the width";
        return a->value != b->value ? "the value" : NULL;
    case DMT_K_REG_WRITE_BUF:
    case DMT_K_REG_READ_BUF:
        if (a->off != b->off)
            return "the register";
        if (a->n_values != b->n_values)
            return "the count";
        return memcmp(a->values, b->values, a->n_values * sizeof *a->values) ? "the values" : NULL;
    case DMT_K_EXECUTE_DMA:
        if (a->length != b->length)
            return "the granted length";
        return sg_equal(a, b) ? NULL : "the SG list";
    case DMT_K_START_DMA:
        if (a->write_to_device != b->write_to_device)
            return "the direction";
        if (a->offset != b->offset)
            return "the offset";
        return a->length != b->length ? "the requested length" : NULL;
    case DMT_K_START_DMA_END:
        if (a->status != b->status)
            return "the status";
        return a->length != b->length ? "the final length" : NULL;
    case DMT_K_COMPLETE_DMA:
        if (a->write_to_device != b->write_to_device)
            return "the direction";
        return a->status != b->status ? "the status" : NULL;
    case DMT_K_ADAPTER_CREATE:
        if (a->sg != b->sg || a->dma32 != b->dma32 || a->dma64 != b->dma64 ||
            a->length != b->length)
            return "the device description";
        return a->map_registers != b->map_registers || a->addr_limit != b->addr_limit
                   ? "the granted map registers or address limit"
                   : NULL;
    case DMT_K_BUFFER_LOCK:
        if (a->length != b->length)
            return "the length";
        if (a->op != b->op)
            return "the operation";
        return (a->va & 0xFFF) != (b->va & 0xFFF) ? "the page offset" : NULL;
    case DMT_K_COMMON_ALLOC:
        if (a->length != b->length)
            return "the length";
        if (a->cached != b->cached)
            return "the caching";
        return a->addr != b->addr ? "the logical address" : NULL;
    case DMT_K_DESC_WRITE:
        if (a->offset != b->offset)
            return "the offset";
        if (a->n_bytes != b->n_bytes)
            return "the number of bytes";
        return memcmp(a->bytes, b->bytes, a->n_bytes) ? "the descriptor bytes" : NULL;
    case DMT_K_INTERRUPT:
        if (a->claimed != b->claimed)
            return "claimed";
        return a->value != b->value ? "the status the ISR saw" : NULL;
    case DMT_K_DIGEST:
        if (a->length != b->length)
            return "the length";
        return a->value != b->value ? "the digest" : NULL;
    case DMT_K_PATTERN:
        if (a->value != b->value)
            return "the seed";
        return a->offset != b->offset || a->length != b->length ? "the range" : NULL;
    case DMT_K_PAYLOAD:
        if (a->offset != b->offset || a->n_bytes != b->n_bytes)
            return "the range";
        return memcmp(a->bytes, b->bytes, a->n_bytes) ? "the bytes" : NULL;
    case DMT_K_DEVICE_MAP:
        return a->addr != b->addr || a->length != b->length ? "the range" : NULL;
    default:
        return NULL; /* DPC, releases, unlock: no fields that must agree */
    }
}

/* Where the descriptor bytes first differ, for the report. */
static void desc_detail(char *buf, size_t cap, const dmt_record *a, const dmt_record *b,
                        uint32_t revision)
{
    size_t dsz = dmm_desc_size(revision);
    uint32_t n = a->n_bytes < b->n_bytes ? a->n_bytes : b->n_bytes;
    uint32_t i = 0;
    while (i < n && a->bytes[i] == b->bytes[i])
        i++;
    if (!dsz || i >= n) {
        snprintf(buf, cap, "the descriptor bytes differ at byte %u", i);
        return;
    }
    uint32_t di = i / (uint32_t)dsz;
    dmm_desc da, db;
    dmm_desc_decode(revision, a->bytes + (size_t)di * dsz, &da);
    dmm_desc_decode(revision, b->bytes + (size_t)di * dsz, &db);
    snprintf(buf, cap,
             "descriptor %u, byte %u: recorded host 0x%" PRIx64 "+0x%x dev 0x%" PRIx64
             " magic %s; re-run host 0x%" PRIx64 "+0x%x dev 0x%" PRIx64 " magic %s",
             di, i % (uint32_t)dsz, da.host_addr, da.len, da.dev_off, da.magic_ok ? "ok" : "bad",
             db.host_addr, db.len, db.dev_off, db.magic_ok ? "ok" : "bad");
}

/* ---- pass 2: compare ------------------------------------------------------------------ */

bool rpl__drv_strict(const plan *p)
{
    return p->o->order == RPL_ORDER_STRICT ||
           (p->o->order == RPL_ORDER_AUTO && !strcmp(p->hdr.clock, "deterministic"));
}

int rpl__drv_compare(const char *path, plan *p, rerun_trace *t, rpl_replay *e, dmt_error *err)
{
    bool strict = rpl__drv_strict(p);
    bool on[NSTREAM] = {true, true, true, true, true, true, true, strict};
    size_t cur[NSTREAM] = {0};
    if (!strict)
        rpl__limit(e, RPL_LIMIT_REORDER, 0,
                   "the recorded trace is from several CPUs (its clock is not deterministic): "
                   "interrupt-level records (IRQ_STATUS, interrupts, DPCs) are not compared, "
                   "only each channel's and the setup's records");
    dmt_source *src;
    int rc = dmt_source_open(path, 0, &src, err);
    if (rc < 0)
        return rc;
    /* the recorded links were learnt in pass 1 */
    links *L = &p->L;
    dmt_record r;
    uint64_t index = 0;
    char exp[RPL_TEXT], act[RPL_TEXT], subj[RPL_TEXT], det[RPL_TEXT];
    while ((rc = dmt_source_next(src, &r, NULL, err)) == 1 && !rpl__stopped(e)) {
        if (r.kind == DMT_K_CHUNK || r.kind == DMT_K_END)
            continue;
        rpl__observe(e, &r);
        uint64_t i = index++;
        if (r.kind == DMT_K_LOST) {
            for (unsigned s = 0; s < NSTREAM; s++)
                on[s] = false;
            rpl__limit(e, RPL_LIMIT_LOST, i,
                       "records were lost here: the rest of the trace is not compared");
            continue;
        }
        int s = rpl__drv_stream_of(L, &r, i);
        if (s >= NSTREAM || !on[s])
            continue;
        if (left_out(p->inject_mode, &r, s)) {
            p->inj.skipped_digests++;
            continue;
        }
        if (cur[s] >= t->nidx[s]) {
            dmt_record_describe(exp, sizeof exp, &r, 8);
            snprintf(subj, sizeof subj, "%s: %s", stream_names[s], dmt_kind_name(r.kind));
            rpl__diverge(e, RPL_DIV_DRIVER, false, subj, exp, "nothing more",
                         "the re-run driver's records of this stream ended here");
            on[s] = false;
            continue;
        }
        const dmt_record *q = &t->r[t->idx[s][cur[s]++]];
        const char *why = record_diff(&r, q);
        if (!why)
            continue;
        on[s] = false;
        dmt_record_describe(exp, sizeof exp, &r, 8);
        dmt_record_describe(act, sizeof act, q, 8);
        snprintf(subj, sizeof subj, "%s: %s", stream_names[s], dmt_kind_name(r.kind));
        if ((r.kind == DMT_K_EXECUTE_DMA || r.kind == DMT_K_START_DMA_END) && q->kind == r.kind) {
            /* an OS-side input the host VideoPort did not give again: the
             * trace is not what these pages and this configuration make */
            snprintf(det, sizeof det,
                     p->inject_mode
                         ? "%s differs: the recorded input did not reach the driver as recorded "
                           "(it asked for other transfers), so %s is not compared further"
                         : "%s differs: the recorded input could not be reproduced for the "
                           "driver, so %s is not compared further",
                     why, stream_names[s]);
            rpl__diverge(e, RPL_DIV_SG, false, subj, exp, act, det);
            continue;
        }
        if (r.kind == DMT_K_DESC_WRITE && q->kind == r.kind && r.n_bytes == q->n_bytes)
            desc_detail(det, sizeof det, &r, q, p->dev.revision);
        else
            snprintf(det, sizeof det, "%s differs (re-run record %" PRIu64 ")", why,
                     (uint64_t)t->idx[s][cur[s] - 1]);
        rpl__diverge(e, RPL_DIV_DRIVER, false, subj, exp, act, det);
    }
    dmt_source_close(src);
    if (rc < 0)
        return rc;
    if (p->inj.skipped_digests) {
        snprintf(det, sizeof det,
                 "%" PRIu64 " digests of from-device transfers not compared: injection mode "
                 "feeds the driver the recorded inputs, not the device's data",
                 p->inj.skipped_digests);
        rpl__limit(e, RPL_LIMIT_NO_CONTENT, 0, det);
    }
    for (unsigned s = 0; s < NSTREAM && !rpl__stopped(e); s++) {
        if (!on[s] || cur[s] >= t->nidx[s])
            continue;
        const dmt_record *q = &t->r[t->idx[s][cur[s]]];
        dmt_record_describe(act, sizeof act, q, 8);
        snprintf(subj, sizeof subj, "%s: the end of the trace", stream_names[s]);
        snprintf(det, sizeof det, "the re-run driver produced %zu more records in this stream",
                 t->nidx[s] - cur[s]);
        rpl__diverge(e, RPL_DIV_DRIVER, true, subj, "no more records", act, det);
    }
    return 0;
}
