/*
 * tracegen.c - viewer test fixtures (see tracegen.h).
 */
#include "tracegen.h"

#include <glib.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmm/dmm.h"
#include "dmt/store.h"
#include "dmt/tktrace.h"
#include "dmt/writer.h"

typedef struct {
    int64_t ts;
    unsigned order;
    dmt_record r;
    dmt_sg_elem sg[8];
    char text[32];
    bool lost;
} Ev;

static GArray *evs;
static unsigned order;

static Ev *ev(int64_t ts, uint32_t kind)
{
    Ev e;
    memset(&e, 0, sizeof e);
    e.ts = ts;
    e.order = order++;
    e.r.kind = kind;
    e.r.ts = ts;
    e.r.cpu = DMT_CPU_NONE; /* the CPU of the record before */
    g_array_append_val(evs, e);
    return &g_array_index(evs, Ev, evs->len - 1);
}

static bool is_a2(uint32_t xfer)
{
    return xfer >= TG_A2_FIRST;
}

uint32_t tg_exec_cpu(uint32_t xfer)
{
    return xfer % 3;
}

uint32_t tg_dpc_cpu(uint32_t xfer)
{
    return 1 + xfer % 2;
}

int64_t tg_start_ts(uint32_t xfer)
{
    if (is_a2(xfer))
        return TG_T0 + 35000 + (int64_t)(xfer - TG_A2_FIRST) * 100000;
    return TG_T0 + 10000 + (int64_t)(xfer - TG_A1_FIRST) * 50000;
}

int64_t tg_complete_ts(uint32_t xfer)
{
    return tg_start_ts(xfer) + (is_a2(xfer) ? 30000 : 20000);
}

unsigned tg_n_sg(uint32_t xfer)
{
    if (xfer == TG_XFER_ADJ)
        return 3;
    if (xfer == TG_XFER_OVL)
        return 2;
    if (xfer == TG_XFER_HIGH)
        return 2;
    return 1 + xfer % 4;
}

static void sg_of(uint32_t xfer, dmt_sg_elem *sg)
{
    if (xfer == TG_XFER_ADJ) {
        sg[0] = (dmt_sg_elem){0x70000000, 4096};
        sg[1] = (dmt_sg_elem){0x70001000, 4096};
        sg[2] = (dmt_sg_elem){0x78000000, 8192};
        return;
    }
    if (xfer == TG_XFER_OVL) {
        sg[0] = (dmt_sg_elem){0x74000000, 8192};
        sg[1] = (dmt_sg_elem){0x74001000, 4096};
        return;
    }
    if (xfer == TG_XFER_HIGH) {
        sg[0] = (dmt_sg_elem){0x08000000, 4096};
        sg[1] = (dmt_sg_elem){0x120000000ull, 4096};
        return;
    }
    uint64_t base = (is_a2(xfer) ? 0x50000000ull : 0x10000000ull) + (uint64_t)xfer * 0x10000;
    for (unsigned i = 0; i < tg_n_sg(xfer); i++)
        sg[i] = (dmt_sg_elem){base + i * 0x2000ull + (i == 0 ? 0x200 : 0), 4096};
}

static void reg(int64_t ts, uint32_t kind, uint32_t dev, uint32_t off, uint64_t v)
{
    Ev *e = ev(ts, kind);
    e->r.dev = dev;
    e->r.off = off;
    e->r.width = 4;
    e->r.value = v;
}

static void transfer(uint32_t xfer)
{
    uint32_t adapter = is_a2(xfer) ? 2 : 1, dev = adapter - 1;
    unsigned ch = xfer % 2;
    bool to_dev = xfer % 2 == 1;
    int64_t t = tg_start_ts(xfer), tc = tg_complete_ts(xfer);
    unsigned n = tg_n_sg(xfer);
    uint64_t bytes = 0;
    dmt_sg_elem sg[8];
    sg_of(xfer, sg);
    for (unsigned i = 0; i < n; i++)
        bytes += sg[i].len;
    uint64_t requested = xfer == TG_XFER_TRUNC ? bytes * 2 : bytes;

    Ev *e = ev(t, DMT_K_START_DMA);
    e->r.xfer = xfer;
    e->r.adapter = adapter;
    e->r.mdl = adapter;
    e->r.offset = 0;
    e->r.length = requested;
    e->r.write_to_device = to_dev;
    e->r.cpu = tg_exec_cpu(xfer);
    e = ev(t + 1000, DMT_K_EXECUTE_DMA);
    e->r.cpu = tg_exec_cpu(xfer);
    e->r.xfer = xfer;
    e->r.adapter = adapter;
    e->r.length = bytes;
    e->r.n_sg = n;
    e->r.xfer_flags = xfer == TG_XFER_BOUNCE ? DMT_XF_BOUNCE_CHECKED | DMT_XF_BOUNCED
                      : is_a2(xfer)          ? 0
                                             : DMT_XF_BOUNCE_CHECKED;
    memcpy(e->sg, sg, sizeof sg);
    uint32_t base = DMM_CH_BASE(ch);
    reg(t + 2000, DMT_K_REG_WRITE, dev, base + DMM_CH_DESC_LO, 0x00100000u + xfer * 0x40u);
    reg(t + 2100, DMT_K_REG_WRITE, dev, base + DMM_CH_DESC_HI, 0);
    reg(t + 2200, DMT_K_REG_WRITE, dev, base + DMM_CH_DESC_COUNT, n);
    reg(t + 2300, DMT_K_REG_WRITE, dev, base + DMM_CH_CTRL, DMM_CTRL_RUN);
    e = ev(t + 2500, DMT_K_START_DMA_END);
    e->r.cpu = tg_exec_cpu(xfer);
    e->r.xfer = xfer;
    e->r.adapter = adapter;
    e->r.length = bytes;
    e = ev(tc - 6000, DMT_K_INTERRUPT);
    e->r.cpu = TG_ISR_CPU;
    e->r.dev = dev;
    e->r.claimed = true;
    e->r.value = DMM_IRQ_DONE(ch);
    reg(tc - 5900, DMT_K_REG_READ, dev, DMM_REG_IRQ_STATUS, DMM_IRQ_DONE(ch));
    reg(tc - 5800, DMT_K_REG_WRITE, dev, DMM_REG_IRQ_STATUS, DMM_IRQ_DONE(ch));
    reg(tc - 5700, DMT_K_REG_WRITE, dev, base + DMM_CH_CTRL, 0);
    e = ev(tc - 3000, DMT_K_DPC);
    e->r.cpu = tg_dpc_cpu(xfer);
    e->r.dev = dev;
    e->r.xfer = xfer;
    e = ev(tc, DMT_K_COMPLETE_DMA);
    e->r.cpu = tg_dpc_cpu(xfer);
    e->r.xfer = xfer;
    e->r.adapter = adapter;
    e->r.write_to_device = to_dev;
    e = ev(tc + 500, DMT_K_DIGEST);
    e->r.cpu = tg_dpc_cpu(xfer);
    e->r.xfer = xfer;
    e->r.algo = DMT_DIGEST_DMT64;
    e->r.length = bytes;
    e->r.value = 0x1234567800000000ull | xfer;
}

static int cmp_ev(const void *a, const void *b)
{
    const Ev *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

int tg_write_dmat(const char *path, unsigned n)
{
    if (n < 12)
        n = 12;
    evs = g_array_new(FALSE, TRUE, sizeof(Ev));
    order = 0;
    for (uint32_t a = 1; a <= 2; a++) {
        Ev *e = ev(TG_T0 - 2000 + a, DMT_K_ADAPTER_CREATE);
        e->r.adapter = a;
        e->r.dev = a - 1;
        e->r.sg = true;
        e->r.dma64 = a == 1;
        e->r.dma32 = a == 2;
        e->r.length = 1u << 20;
        e->r.map_registers = 257;
        e->r.addr_limit = a == 1 ? UINT64_MAX : 0xFFFFFFFFull;
        e = ev(TG_T0 - 1000 + a, DMT_K_BUFFER_LOCK);
        e->r.mdl = a;
        e->r.va = 0x7f0000000000ull + a * 0x1000000ull;
        e->r.length = 1u << 20;
        e->r.op = DMT_LOCK_MODIFY;
    }
    for (uint32_t x = 0; x < n; x++)
        transfer(TG_A1_FIRST + x);
    for (uint32_t x = 0; x < n / 2; x++)
        transfer(TG_A2_FIRST + x);
    Ev *m = ev(tg_start_ts(6) - 3000, DMT_K_MARKER);
    strcpy(m->text, "phase two");
    /* the lost range: right after adapter 1's transfer TG_LOST_AFTER */
    Ev *l = ev(tg_complete_ts(TG_LOST_AFTER) + 4000, DMT_K_LOST);
    l->lost = true;
    g_array_sort(evs, cmp_ev);

    dmt_header h;
    tk_header(&h, "viewer tracegen");
    h.t0 = TG_T0;
    h.seq0 = 1;
    strcpy(h.host, "test");
    dmt_writer *w = NULL;
    dmt_error err = {0};
    int rc = dmt_writer_open(path, &h, DMT_WRITE_ATOMIC | DMT_WRITE_KEEP_CPU, &w, &err);
    for (guint i = 0; rc == 0 && i < evs->len; i++) {
        Ev *e = &g_array_index(evs, Ev, i);
        if (e->lost) {
            rc =
                dmt_writer_lost(w, dmt_writer_next_seq(w), TG_LOST_COUNT, DMT_LOST_RING_FULL, &err);
            continue;
        }
        if (e->r.kind == DMT_K_EXECUTE_DMA)
            e->r.sg_list = e->sg;
        if (e->r.kind == DMT_K_MARKER) {
            e->r.bytes = (const uint8_t *)e->text;
            e->r.n_bytes = (uint32_t)strlen(e->text);
        }
        rc = dmt_writer_append(w, &e->r, &err);
    }
    if (rc == 0)
        rc = dmt_writer_close(w, &err);
    else if (w)
        dmt_writer_abort(w);
    g_array_free(evs, TRUE);
    evs = NULL;
    if (rc) {
        fprintf(stderr, "tracegen: %s: %s\n", path, err.msg);
        return -1;
    }
    return 0;
}

int tg_make_db(const char *dmat_path, const char *db_path, unsigned n)
{
    if (tg_write_dmat(dmat_path, n))
        return -1;
    dmt_error err = {0};
    if (dmt_store_import(dmat_path, db_path, NULL, NULL, &err) < 0) {
        fprintf(stderr, "tracegen: import %s: %s\n", dmat_path, err.msg);
        return -1;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open(db_path, &db) != SQLITE_OK)
        return -1;
    char *sql = sqlite3_mprintf(
        "INSERT INTO findings(rule, severity, seq, ts, xfer, adapter, message, uncertain) "
        "SELECT 'sg-overlap', 'error', exec_seq, exec_ts, xfer, adapter, "
        "'two elements of one SG list cover the same physical bytes', 0 "
        "FROM transfers WHERE xfer = %u;"
        "INSERT INTO findings(rule, severity, seq, ts, xfer, adapter, message, uncertain) "
        "SELECT 'addr-beyond-limit', 'error', exec_seq, exec_ts, xfer, adapter, "
        "'an SG element above the device address limit', 0 FROM transfers WHERE xfer = %u;"
        "INSERT INTO findings(rule, severity, seq, ts, xfer, adapter, message, uncertain) "
        "SELECT 'leak-mdl', 'warning', NULL, max(t_end), NULL, NULL, "
        "'a buffer still locked at the end of the trace', 1 FROM transfers;",
        TG_XFER_OVL, TG_XFER_HIGH);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "tracegen: findings: %s\n", msg ? msg : "?");
    sqlite3_free(msg);
    sqlite3_free(sql);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

char *tg_tmpdir(void)
{
    GError *e = NULL;
    char *d = g_dir_make_tmp("dmtv-test-XXXXXX", &e);
    if (!d) {
        fprintf(stderr, "tracegen: %s\n", e->message);
        g_error_free(e);
        abort();
    }
    return d;
}

int tg_fixtures_done(char *dir, char *db, char *dmat)
{
    int rc = 0;
    if (g_getenv("DMTV_TEST_KEEP")) {
        fprintf(stderr, "fixtures kept in %s\n", dir);
    } else {
        char *cmd = g_strdup_printf("rm -rf '%s'", dir);
        rc = system(cmd) == 0 ? 0 : -1;
        g_free(cmd);
    }
    g_free(dmat);
    g_free(db);
    g_free(dir);
    return rc;
}
