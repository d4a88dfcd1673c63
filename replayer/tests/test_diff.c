/*
 * test_diff.c - `dmatrace diff` semantics: a trace equals itself and a run
 * with other physical placement; a missing or extra transfer is reported
 * as present in one trace only while the rest stays aligned; a different SG
 * layout, register programming (a planted driver fault), outcome (an engine
 * error) or data (another pattern) is reported on exactly that transfer;
 * the JSON is well formed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmt/testkit.h"
#include "rpl/diff.h"
#include "session.h"

#define NX 24

typedef struct spec {
    unsigned ch;
    dmt_sg_elem sg[8];
    uint32_t n;
    uint64_t dev_off, seed;
    unsigned faults;
} spec;

static void make_specs(spec *sp)
{
    for (unsigned t = 0; t < NX; t++) {
        spec *s = &sp[t];
        memset(s, 0, sizeof *s);
        s->ch = t & 1;
        s->n = 1 + t % 5;
        for (uint32_t i = 0; i < s->n; i++) {
            s->sg[i].addr = 0x10000000ull + (uint64_t)(t * 16 + i * 3) * 0x1000 + (i ? 0 : 0x80);
            s->sg[i].len = i ? 0x1000 : 0xF80;
        }
        s->dev_off = (uint64_t)(t / 2) * 0x10000;
        s->seed = 500 + t;
    }
}

/* Write the session of specs[0..n) to name; shift moves every buffer page. */
static void write_specs(const char *name, const spec *sp, unsigned n, uint64_t shift, char *path)
{
    test_path(path, 512, name);
    sess *s = sess_open(path, NULL);
    CHECK(s != NULL);
    for (unsigned t = 0; t < n; t++) {
        dmt_sg_elem sg[8];
        for (uint32_t i = 0; i < sp[t].n; i++) {
            sg[i] = sp[t].sg[i];
            sg[i].addr += shift;
        }
        sess_xfer(s, sp[t].ch, sg, sp[t].n, sp[t].dev_off, sp[t].seed, sp[t].faults);
    }
    CHECK(sess_close(s) == 0);
}

static rpl_diff_result *diff(const char *a, const char *b, bool addresses)
{
    rpl_diff_opts o = {0};
    o.addresses = addresses;
    rpl_diff_result *res = NULL;
    dmt_error err;
    int rc = rpl_diff_files(a, b, &o, &res, &err, NULL);
    CHECKF(rc == 0, "diff %s %s: %s", a, b, err.msg);
    return res;
}

static void show(const rpl_diff_result *res, const char *a, const char *b)
{
    rpl_str s;
    rpl_str_init(&s);
    rpl_diff_text(&s, res, a, b);
    fprintf(stderr, "%s", s.p);
    rpl_str_free(&s);
}

static const rpl_diff_item *only_item(const rpl_diff_result *res)
{
    CHECKF(res->n_items == 1, "%llu items", (unsigned long long)res->n_items);
    return res->n_items ? &res->items[0] : NULL;
}

int main(void)
{
    spec sp[NX], sq[NX];
    char a[512], b[512];
    make_specs(sp);
    write_specs("a.dmat", sp, NX, 0, a);

    /* itself */
    rpl_diff_result *res = diff(a, a, true);
    if (res) {
        CHECK(!rpl_diff_any(res) && res->equal == NX && res->a.transfers == NX);
        CHECK(res->a.to_device == NX / 2 && res->b.from_device == NX / 2);
        rpl_str s;
        rpl_str_init(&s);
        rpl_diff_text(&s, res, a, a);
        CHECK(strstr(s.p, "the traces are equal") != NULL);
        rpl_str_free(&s);
    }
    rpl_diff_free(res);

    /* other placement: equal by layout, different by address */
    write_specs("moved.dmat", sp, NX, 0x5000000, b);
    res = diff(a, b, false);
    if (res) {
        CHECK(!rpl_diff_any(res));
        if (rpl_diff_any(res))
            show(res, a, b);
    }
    rpl_diff_free(res);
    res = diff(a, b, true);
    if (res)
        CHECK(res->differ == NX && res->aspect_count[1] == NX && res->aspect_count[2] == NX);
    rpl_diff_free(res);

    /* a transfer missing in B (transfer 9), an extra one in B */
    memcpy(sq, sp, sizeof sq);
    memmove(&sq[9], &sq[10], (NX - 10) * sizeof *sq);
    write_specs("missing.dmat", sq, NX - 1, 0, b);
    res = diff(a, b, false);
    if (res) {
        CHECK(res->only_a == 1 && res->only_b == 0 && res->differ == 0 && res->equal == NX - 1);
        const rpl_diff_item *it = only_item(res);
        CHECK(it && it->kind == RPL_DIFF_ONLY_A && it->a.xfer == 10);
    }
    rpl_diff_free(res);
    res = diff(b, a, false);
    if (res) {
        CHECK(res->only_b == 1 && res->only_a == 0 && res->equal == NX - 1);
        rpl_str s;
        rpl_str_init(&s);
        rpl_diff_text(&s, res, b, a);
        CHECK(strstr(s.p, "only in B: xfer 10 ") != NULL);
        CHECK(strstr(s.p, "1 only in B; the traces differ") != NULL);
        rpl_str_free(&s);
    }
    rpl_diff_free(res);

    /* SG layout: transfer 7's second element split in two contiguous halves */
    memcpy(sq, sp, sizeof sq);
    CHECK(sq[7].n >= 2);
    spec *t7 = &sq[7];
    memmove(&t7->sg[2], &t7->sg[1], (t7->n - 1) * sizeof t7->sg[0]);
    t7->sg[1].len = 0x800;
    t7->sg[2].addr = t7->sg[1].addr + 0x800;
    t7->sg[2].len = 0x800;
    t7->n++;
    write_specs("split.dmat", sq, NX, 0, b);
    res = diff(a, b, false);
    if (res) {
        const rpl_diff_item *it = only_item(res);
        CHECK(res->differ == 1 && res->equal == NX - 1);
        CHECK(it && it->a.xfer == 8 && (it->aspects & RPL_ASP_SG) &&
              !(it->aspects & RPL_ASP_DATA) && !(it->aspects & RPL_ASP_LENGTHS));
        rpl_str s;
        rpl_str_init(&s);
        rpl_diff_text(&s, res, a, b);
        CHECK(strstr(s.p, "sg_layout: A 3 elements") != NULL);
        CHECK(strstr(s.p, "B 4 elements") != NULL);
        fprintf(stderr, "%s", s.p);
        rpl_str_free(&s);
        rpl_str_init(&s);
        rpl_diff_json(&s, res, a, b);
        CHECK(json_valid(s.p));
        CHECK(strstr(s.p, "\"format\":\"dmatrace-diff-1\"") != NULL);
        CHECK(strstr(s.p, "\"aspects\":[\"sg_layout\"") != NULL);
        rpl_str_free(&s);
    }
    rpl_diff_free(res);

    /* register programming: a driver fault in transfer 12 */
    memcpy(sq, sp, sizeof sq);
    sq[12].faults = SF_DUP_FIRST;
    write_specs("dup.dmat", sq, NX, 0, b);
    res = diff(a, b, false);
    if (res) {
        CHECK(res->differ >= 1 && res->n_items >= 1);
        const rpl_diff_item *it = res->n_items ? &res->items[0] : NULL;
        CHECK(it && it->a.xfer == 13 && (it->aspects & RPL_ASP_PROGRAM));
        CHECK(res->only_a == 0 && res->only_b == 0);
    }
    rpl_diff_free(res);

    /* outcome: transfer 4 programmed with one descriptor too many (MAGIC) */
    memcpy(sq, sp, sizeof sq);
    sq[4].faults = SF_COUNT_PLUS1;
    write_specs("count.dmat", sq, NX, 0, b);
    res = diff(a, b, false);
    if (res) {
        const rpl_diff_item *it = res->n_items ? &res->items[0] : NULL;
        CHECK(it && it->a.xfer == 5 && (it->aspects & RPL_ASP_OUTCOME) &&
              (it->aspects & RPL_ASP_PROGRAM));
        CHECK(it && it->b.has_status && (it->b.ch_status & DMM_STATUS_ERR));
    }
    rpl_diff_free(res);

    /* data: transfer 16 with another pattern */
    memcpy(sq, sp, sizeof sq);
    sq[16].seed = 9999;
    write_specs("data.dmat", sq, NX, 0, b);
    res = diff(a, b, false);
    if (res) {
        CHECK(res->only_a == 0 && res->only_b == 0);
        const rpl_diff_item *it = res->n_items ? &res->items[0] : NULL;
        CHECK(it && it->a.xfer == 17 && it->aspects == RPL_ASP_DATA);
        /* transfer 17 reads back what 16 wrote: its data differs too */
        CHECK(res->differ == 2 && res->aspect_count[4] == 2);
    }
    rpl_diff_free(res);

    /* bad input names the file */
    rpl_diff_opts o = {0};
    dmt_error err;
    const char *failed = NULL;
    test_path(b, sizeof b, "nonexistent.dmat");
    CHECK(rpl_diff_files(a, b, &o, &res, &err, &failed) < 0 && failed == b);
    return tk_result("replay_diff_test");
}
