/*
 * session.c - the replayer tests' session builder and in-memory traces
 * (see session.h).  The builder is a miniature capture: its own dmm model,
 * a "driver" that programs it like dmtmini, and a "probe" that logs writes
 * before the access and reads after it.
 */
#include "session.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmt/digest.h"
#include "dmt/reader.h"
#include "dmt/testkit.h"
#include "dmt/tktrace.h"
#include "dmt/writer.h"
#include "rpl/report.h"

uint32_t sess_digest_algo = DMT_DIGEST_DMT64;
uint32_t sess_digest_policy = DMT_DIGEST_FULL;
uint64_t sess_corrupt_at = UINT64_MAX;

struct sess {
    dmt_writer *w;
    dmm_phys *pm;
    dmm_dev *dev;
    dmm_config cfg;
    int64_t t;
    uint32_t next_xfer, next_mdl;
    bool irq;
    int err;
    uint64_t nrec;
    uint8_t *ringbuf;
};

static void emit(sess *s, dmt_record *r)
{
    s->t += 1000 + (int64_t)(s->nrec % 7) * 13;
    r->ts = s->t;
    dmt_error e;
    if (s->err == 0 && dmt_writer_append(s->w, r, &e) != 0) {
        fprintf(stderr, "session: append: %s\n", e.msg);
        s->err = e.code;
    }
    s->nrec++;
}

static void rec_init(dmt_record *r, uint32_t kind)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->width = 4;
}

static uint32_t rd(sess *s, uint32_t off)
{
    uint32_t v = dmm_reg_read(s->dev, off);
    dmt_record r;
    rec_init(&r, DMT_K_REG_READ);
    r.dev = SESS_DEV;
    r.off = off;
    r.value = v;
    emit(s, &r);
    return v;
}

static void wr(sess *s, uint32_t off, uint32_t v)
{
    dmt_record r;
    rec_init(&r, DMT_K_REG_WRITE);
    r.dev = SESS_DEV;
    r.off = off;
    r.value = v;
    emit(s, &r);
    dmm_reg_write(s->dev, off, v);
}

static void on_irq(void *ctx)
{
    ((sess *)ctx)->irq = true;
}

sess *sess_open(const char *path, const dmm_config *cfg)
{
    sess *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (cfg)
        s->cfg = *cfg;
    else
        dmm_config_default(&s->cfg);
    s->pm = dmm_phys_new();
    s->dev = s->pm ? dmm_dev_new(&s->cfg, s->pm) : NULL;
    s->ringbuf = malloc(DMM_MAX_DESC * DMM_DESC1_SIZE);
    dmt_header h;
    tk_header(&h, "test-session");
    snprintf(h.host, sizeof h.host, "test");
    snprintf(h.scenario, sizeof h.scenario, "hand-built");
    dmt_error e;
    if (!s->dev || !s->ringbuf || dmt_writer_open(path, &h, 0, &s->w, &e) != 0) {
        dmm_dev_free(s->dev);
        dmm_phys_free(s->pm);
        free(s->ringbuf);
        free(s);
        return NULL;
    }
    dmm_dev_set_irq(s->dev, on_irq, s);
    s->t = 1000000000;

    dmt_record r;
    rec_init(&r, DMT_K_MARKER);
    r.bytes = (const uint8_t *)"session start";
    r.n_bytes = 13;
    emit(s, &r);
    rec_init(&r, DMT_K_DEVICE_MAP);
    r.dev = SESS_DEV;
    r.addr = SESS_BAR;
    r.length = DMM_BAR_SIZE;
    r.va = 0xFFFFF88000100000ull;
    emit(s, &r);
    rd(s, DMM_REG_ID);
    rd(s, DMM_REG_CAPS);
    rd(s, DMM_REG_DEVMEM_SIZE);
    for (uint32_t c = 0; c < 2; c++) {
        rec_init(&r, DMT_K_ADAPTER_CREATE);
        r.adapter = c + 1;
        r.dev = SESS_DEV;
        r.sg = true;
        r.dma64 = s->cfg.addr_bits >= 64;
        r.dma32 = !r.dma64;
        r.length = 4u << 20;
        r.map_registers = 64;
        r.addr_limit = s->cfg.addr_bits >= 64 ? UINT64_MAX : (1ull << s->cfg.addr_bits) - 1;
        emit(s, &r);
        uint64_t ring = c ? SESS_RING1 : SESS_RING0;
        rec_init(&r, DMT_K_COMMON_ALLOC);
        r.cb = c + 1;
        r.adapter = c + 1;
        r.addr = ring;
        r.length = SESS_RING_LEN;
        r.va = 0xFFFFF88000200000ull + c * SESS_RING_LEN;
        emit(s, &r);
        dmm_phys_alloc(s->pm, ring, SESS_RING_LEN);
    }
    wr(s, DMM_REG_IRQ_ENABLE, DMM_IRQ_ALL);
    return s;
}

static void isr(sess *s, uint32_t xfer)
{
    s->irq = false;
    uint32_t v = rd(s, DMM_REG_IRQ_STATUS) & DMM_IRQ_ALL;
    dmt_record r;
    rec_init(&r, DMT_K_INTERRUPT);
    r.dev = SESS_DEV;
    if (!v) {
        emit(s, &r);
        return;
    }
    wr(s, DMM_REG_IRQ_STATUS, v);
    for (unsigned c = 0; c < 2; c++) {
        if (!(v & (DMM_IRQ_DONE(c) | DMM_IRQ_ERR(c))))
            continue;
        rd(s, DMM_CH_BASE(c) + DMM_CH_STATUS);
        wr(s, DMM_CH_BASE(c) + DMM_CH_STATUS, DMM_STATUS_DONE | DMM_STATUS_ERR);
    }
    r.claimed = true;
    r.value = v;
    emit(s, &r);
    rec_init(&r, DMT_K_DPC);
    r.dev = SESS_DEV;
    r.xfer = xfer;
    emit(s, &r);
}

uint32_t sess_xfer(sess *s, unsigned ch, const dmt_sg_elem *sg, uint32_t n, uint64_t dev_off,
                   uint64_t seed, unsigned faults)
{
    uint32_t xfer = ++s->next_xfer, mdl = ++s->next_mdl;
    uint64_t len = 0;
    for (uint32_t i = 0; i < n; i++)
        len += sg[i].len;
    dmt_record r;
    rec_init(&r, DMT_K_BUFFER_LOCK);
    r.mdl = mdl;
    r.va = 0x7F0000000000ull + (uint64_t)mdl * 0x1000000ull + (sg[0].addr & 0xFFF);
    r.length = len;
    r.op = ch == 0 ? DMT_LOCK_READ : DMT_LOCK_WRITE;
    emit(s, &r);
    rec_init(&r, DMT_K_PATTERN);
    r.mdl = mdl;
    r.algo = DMT_PATTERN_XS64;
    r.value = seed;
    r.offset = 0;
    r.length = len;
    emit(s, &r);
    /* the buffer's pages in the builder's physical memory */
    uint64_t bo = 0;
    for (uint32_t i = 0; i < n; i++) {
        dmm_phys_alloc(s->pm, sg[i].addr, sg[i].len);
        uint8_t *tmp = malloc(sg[i].len);
        dmt_pattern_fill(tmp, seed, bo, sg[i].len);
        dmm_phys_write(s->pm, sg[i].addr, tmp, sg[i].len);
        free(tmp);
        bo += sg[i].len;
    }
    rec_init(&r, DMT_K_START_DMA);
    r.xfer = xfer;
    r.adapter = ch + 1;
    r.mdl = mdl;
    r.offset = 0;
    r.length = len;
    r.write_to_device = ch == 0;
    r.context = 0xFFFFF88000001000ull + ch;
    emit(s, &r);
    rec_init(&r, DMT_K_EXECUTE_DMA);
    r.xfer = xfer;
    r.adapter = ch + 1;
    r.length = len;
    r.n_sg = n;
    r.sg_list = sg;
    emit(s, &r);

    /* ExecuteDma: descriptors, ring registers, doorbell */
    size_t dsz = dmm_desc_size(s->cfg.revision);
    uint32_t idx = 0;
    uint64_t dev = dev_off;
    for (uint32_t i = 0; i < n; i++) {
        bool last = i + 1 == n;
        if (last && n > 1 && (faults & SF_SKIP_LAST))
            break;
        uint64_t host = sg[i].addr;
        uint32_t l = sg[i].len + (last && (faults & SF_LEN_PLUS1) ? 1u : 0u);
        if (faults & SF_ADDR_TRUNC)
            host &= 0xFFFFFFFFull;
        dmm_desc_encode(s->cfg.revision, s->ringbuf + idx * dsz, host, l, dev);
        idx++;
        dev += sg[i].len;
        if (i == 0 && (faults & SF_DUP_FIRST)) {
            dmm_desc_encode(s->cfg.revision, s->ringbuf + idx * dsz, host, sg[i].len, dev);
            idx++;
            dev += sg[i].len;
        }
    }
    uint64_t ring = ch ? SESS_RING1 : SESS_RING0;
    size_t total = idx * dsz;
    for (size_t o = 0; o < total; o += DMT_MAX_BYTES) {
        size_t k = total - o < DMT_MAX_BYTES ? total - o : DMT_MAX_BYTES;
        rec_init(&r, DMT_K_DESC_WRITE);
        r.cb = ch + 1;
        r.offset = o;
        r.bytes = s->ringbuf + o;
        r.n_bytes = (uint32_t)k;
        emit(s, &r);
    }
    dmm_phys_write(s->pm, ring, s->ringbuf, total);
    uint32_t base = DMM_CH_BASE(ch);
    wr(s, base + DMM_CH_DESC_LO, (uint32_t)ring);
    wr(s, base + DMM_CH_DESC_HI, (uint32_t)(ring >> 32));
    wr(s, base + DMM_CH_DESC_COUNT, idx + ((faults & SF_COUNT_PLUS1) ? 1u : 0u));
    wr(s, base + DMM_CH_CTRL, DMM_CTRL_RUN);
    rec_init(&r, DMT_K_START_DMA_END);
    r.xfer = xfer;
    r.adapter = ch + 1;
    r.length = len;
    emit(s, &r);
    if (s->irq)
        isr(s, xfer);

    /* CompleteDma: the digest of the buffer as the probe computes it */
    uint8_t *buf = malloc(len ? len : 1);
    for (uint64_t i = 0, o = 0; i < n; o += sg[i].len, i++)
        dmm_phys_read(s->pm, sg[i].addr, buf + o, sg[i].len);
    if (sess_corrupt_at < len)
        buf[sess_corrupt_at] ^= 0x5A;
    dmt_sg_elem ranges[DMT_DIGEST_BOUNDED_MAX_RANGES];
    rec_init(&r, DMT_K_DIGEST);
    r.xfer = xfer;
    r.algo = sess_digest_algo;
    r.length = len;
    r.digest_policy = sess_digest_policy;
    if (sess_digest_policy == DMT_DIGEST_BOUNDED) {
        r.n_sg = dmt_digest_bounded_ranges(len, ranges);
        r.sg_list = ranges;
    }
    r.value = sess_digest_policy == DMT_DIGEST_OFF
                  ? 0
                  : dmt_digest_ranges(sess_digest_algo, buf, len, ranges, r.n_sg);
    free(buf);
    emit(s, &r);
    rec_init(&r, DMT_K_COMPLETE_DMA);
    r.xfer = xfer;
    r.adapter = ch + 1;
    r.write_to_device = ch == 0;
    emit(s, &r);
    for (uint32_t i = 0; i < n; i++)
        dmm_phys_unmap(s->pm, sg[i].addr);
    rec_init(&r, DMT_K_BUFFER_UNLOCK);
    r.mdl = mdl;
    emit(s, &r);
    return xfer;
}

void sess_marker(sess *s, const char *text)
{
    dmt_record r;
    rec_init(&r, DMT_K_MARKER);
    r.bytes = (const uint8_t *)text;
    r.n_bytes = (uint32_t)strlen(text);
    emit(s, &r);
}

uint64_t sess_records(const sess *s)
{
    return s->nrec;
}

int sess_close(sess *s)
{
    dmt_record r;
    for (uint32_t c = 0; c < 2; c++) {
        rec_init(&r, DMT_K_COMMON_RELEASE);
        r.cb = c + 1;
        r.adapter = c + 1;
        emit(s, &r);
        rec_init(&r, DMT_K_ADAPTER_RELEASE);
        r.adapter = c + 1;
        emit(s, &r);
    }
    dmt_error e;
    int rc = s->err;
    if (dmt_writer_close(s->w, &e) != 0 && rc == 0)
        rc = e.code;
    dmm_dev_free(s->dev);
    dmm_phys_free(s->pm);
    free(s->ringbuf);
    free(s);
    return rc;
}

/* ---- a standard session ------------------------------------------------------ */

static uint64_t rnd(uint64_t *x)
{
    *x = dmt_splitmix64(*x);
    return *x;
}

int sess_standard(const char *path, const dmm_config *cfg, unsigned n_xfers, uint64_t seed)
{
    sess *s = sess_open(path, cfg);
    if (!s)
        return -1;
    dmm_config c;
    if (cfg)
        c = *cfg;
    else
        dmm_config_default(&c);
    uint64_t x = seed;
    bool high = c.addr_bits > 32;
    for (unsigned t = 0; t < n_xfers; t++) {
        unsigned ch = t & 1;
        dmt_sg_elem sg[24];
        uint32_t n = 1 + (uint32_t)(rnd(&x) % 12);
        uint64_t frame = 0x10000 + rnd(&x) % 0x8000; /* 256 MiB .. 384 MiB */
        for (uint32_t i = 0; i < n; i++) {
            if (rnd(&x) % 2)
                frame = 0x10000 + rnd(&x) % 0x8000;
            else
                frame++;
            uint64_t a = frame << 12;
            if (high && rnd(&x) % 4 == 0)
                a += 0x100000000ull;
            uint32_t l = 4096;
            if (i == 0 && rnd(&x) % 2) {
                uint32_t o = (uint32_t)(rnd(&x) % 4096) & ~3u;
                a += o;
                l -= o;
            }
            if (i + 1 == n && rnd(&x) % 2)
                l = (uint32_t)(4 + rnd(&x) % (l - 4)) & ~3u;
            if (l == 0)
                l = 4;
            sg[i].addr = a;
            sg[i].len = l;
            /* keep elements distinct: a frame used twice would overlap */
            for (uint32_t j = 0; j < i; j++)
                if ((sg[j].addr >> 12) == (a >> 12))
                    sg[i].addr = (a & 0xFFF) | ((uint64_t)(0x20000 + t * 32 + i) << 12);
        }
        /* channel 1 reads back what channel 0 wrote just before */
        uint64_t dev_off = (uint64_t)((t / 2) % 64) * 0x10000;
        sess_xfer(s, ch, sg, n, dev_off, seed * 1000 + t, 0);
        if (t % 5 == 4)
            sess_marker(s, "checkpoint");
    }
    return sess_close(s);
}

/* ---- traces in memory ------------------------------------------------------- */

void recs_own(dmt_record *r)
{
    if (r->n_sg && r->sg_list) {
        size_t stride = r->sg_stride ? r->sg_stride : sizeof(dmt_sg_elem);
        dmt_sg_elem *sg = malloc(r->n_sg * sizeof *sg);
        for (uint32_t i = 0; i < r->n_sg; i++) {
            const uint8_t *p = (const uint8_t *)r->sg_list + i * stride;
            memcpy(&sg[i].addr, p, 8);
            memcpy(&sg[i].len, p + 8, 4);
        }
        r->sg_list = sg;
        r->sg_stride = sizeof(dmt_sg_elem);
    } else {
        r->sg_list = NULL;
    }
    if (r->n_values && r->values) {
        uint64_t *v = malloc(r->n_values * sizeof *v);
        memcpy(v, r->values, r->n_values * sizeof *v);
        r->values = v;
    } else {
        r->values = NULL;
    }
    if (r->n_bytes && r->bytes) {
        uint8_t *b = malloc(r->n_bytes);
        memcpy(b, r->bytes, r->n_bytes);
        r->bytes = b;
    } else {
        r->bytes = NULL;
    }
}

static void rec_release(dmt_record *r)
{
    free((void *)r->sg_list);
    free((void *)r->values);
    free((void *)r->bytes);
}

int recs_load(const char *path, recs *out)
{
    memset(out, 0, sizeof *out);
    dmt_reader *rd;
    dmt_error e;
    if (dmt_reader_open(path, DMT_READ_ALLOW_CUT, &rd, &e) != 0)
        return -1;
    out->hdr = *dmt_reader_header(rd);
    dmt_record r;
    int rc;
    while ((rc = dmt_reader_next(rd, &r, &e)) == 1) {
        if (out->n == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 256;
            out->r = realloc(out->r, out->cap * sizeof *out->r);
        }
        recs_own(&r);
        out->r[out->n++] = r;
    }
    dmt_reader_close(rd);
    return rc < 0 ? rc : 0;
}

int recs_write(const char *path, const recs *in)
{
    dmt_writer *w;
    dmt_error e;
    dmt_header h = in->hdr;
    if (dmt_writer_open(path, &h, 0, &w, &e) != 0)
        return -1;
    for (size_t i = 0; i < in->n; i++) {
        dmt_record r = in->r[i];
        if (r.kind == DMT_K_LOST)
            r.value = dmt_writer_next_seq(w);
        if (dmt_writer_append(w, &r, &e) != 0) {
            fprintf(stderr, "recs_write: record %zu: %s\n", i, e.msg);
            dmt_writer_abort(w);
            return -1;
        }
    }
    return dmt_writer_close(w, &e);
}

void recs_free(recs *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        rec_release(&rs->r[i]);
    free(rs->r);
    memset(rs, 0, sizeof *rs);
}

void recs_remove(recs *rs, size_t i)
{
    rec_release(&rs->r[i]);
    memmove(&rs->r[i], &rs->r[i + 1], (rs->n - i - 1) * sizeof *rs->r);
    rs->n--;
}

void recs_insert(recs *rs, size_t i, const dmt_record *r)
{
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 256;
        rs->r = realloc(rs->r, rs->cap * sizeof *rs->r);
    }
    memmove(&rs->r[i + 1], &rs->r[i], (rs->n - i) * sizeof *rs->r);
    rs->r[i] = *r;
    recs_own(&rs->r[i]);
    rs->n++;
}

size_t recs_find(const recs *rs, uint32_t kind, uint64_t off, unsigned k)
{
    for (size_t i = 0; i < rs->n; i++) {
        if (rs->r[i].kind != kind)
            continue;
        if (off != UINT64_MAX && rs->r[i].off != off)
            continue;
        if (k-- == 0)
            return i;
    }
    return SIZE_MAX;
}

/* ---- temporary files --------------------------------------------------------- */

static char tmpdir[256];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* At exit: remove the test's files (RPL_KEEP_TMP=1 keeps them). */
static void tmp_cleanup(void)
{
    const char *keep = getenv("RPL_KEEP_TMP");
    if (tmpdir[0] && !(keep && *keep == '1'))
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void sess_show_report(const rpl_replay *r)
{
    rpl_str s;
    rpl_str_init(&s);
    rpl_report_text(&s, r, "");
    fprintf(stderr, "%s", s.p);
    rpl_str_free(&s);
}

size_t recs_mutate(const char *base, const char *name, char *out,
                   size_t (*edit)(recs *rs, size_t i, void *user), void *user)
{
    recs rs;
    CHECK(recs_load(base, &rs) == 0);
    size_t at = SIZE_MAX;
    for (size_t i = rs.n / 2; i < rs.n && at == SIZE_MAX; i++)
        at = edit(&rs, i, user);
    test_path(out, 512, name);
    CHECK(recs_write(out, &rs) == 0);
    recs_free(&rs);
    return at;
}

void sess_replay_init(sess_replay *x, bool all)
{
    rpl_opts_default(&x->o);
    x->o.all = all;
    x->r = NULL;
    dmt_error_clear(&x->err);
}

void expect_layout_divergence(const rpl_replay *r, size_t first_desc)
{
    if (!r)
        return;
    const rpl_divergence *d = rpl_divergence_at(r, 0);
    CHECKF(d && d->index == first_desc && d->kind == RPL_DIV_DRIVER &&
               d->record_kind == DMT_K_DESC_WRITE,
           "layout: %s at %llu, first desc_write %zu", d ? d->subject : "nothing",
           d ? (unsigned long long)d->index : 0ull, first_desc);
    CHECK(d && strstr(d->detail, "magic ok") && strstr(d->detail, "magic bad"));
}

const char *const sess_scenarios[SESS_N_SCENARIOS] = {"mixed", "dma32-highmem", "no-sg", "burst"};

const char *test_tmpdir(void)
{
    if (!tmpdir[0]) {
        if (!tk_mkdtemp(tmpdir, sizeof tmpdir, "rpltest"))
            exit(3);
        atexit(tmp_cleanup);
    }
    return tmpdir;
}

void test_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", test_tmpdir(), name);
}

/* ---- JSON ------------------------------------------------------------------ */

/* A minimal JSON well-formedness check (values, objects, arrays, strings). */
static const char *jv(const char *p);
static const char *jws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}
static const char *jstr(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p && *p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 4;
            } else if (!strchr("\"\\/bfnrt", *p) || !*p) {
                return NULL;
            }
        }
        p++;
    }
    return *p == '"' ? p + 1 : NULL;
}
static const char *jv(const char *p)
{
    p = jws(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        bool obj = *p == '{';
        p = jws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (obj) {
                p = jstr(jws(p));
                if (!p)
                    return NULL;
                p = jws(p);
                if (*p++ != ':')
                    return NULL;
            }
            p = jv(p);
            if (!p)
                return NULL;
            p = jws(p);
            if (*p == ',') {
                p++;
                continue;
            }
            return *p == close ? p + 1 : NULL;
        }
    }
    if (*p == '"')
        return jstr(p);
    if (!strncmp(p, "true", 4))
        return p + 4;
    if (!strncmp(p, "false", 5))
        return p + 5;
    if (!strncmp(p, "null", 4))
        return p + 4;
    const char *q = p;
    if (*q == '-')
        q++;
    while (*q >= '0' && *q <= '9')
        q++;
    return q > p ? q : NULL;
}

bool json_valid(const char *s)
{
    const char *e = jv(s);
    return e && *jws(e) == 0;
}
