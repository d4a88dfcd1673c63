/*
 * test_regmap.c - tests of the register-map library (dmt_regmap): decodes
 * of the shipped device map (device-model/dmm.xml) and of a small map
 * written for the test (tests/data/full.xml with nested and repeated
 * imports) exercising every element - register widths, bitfield types, shr,
 * inline and named enums, bitsets, arrays with strides, register arrays,
 * stripes, variants (ranges, open ranges, lists) and skipped unknown
 * elements - each checked against a decode worked out by hand; then every
 * kind of bad input pinned to its file, line and message.  Last, the
 * device model's map in its two forms agrees: device-model/dmm.xml and
 * include/dmm/map.h (the C map the model, audit, replayer and viewer use):
 * every BAR offset is a register in both or neither, with the same name
 * ("CH[1].DESC_LO" is CH1_DESC_LO), access and description; fields decode
 * as the DMM_* bit macros say; the error enum names every code as
 * dmm_map_err_name does.
 *
 * Exit 0 when every CHECK holds, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmm/map.h"
#include "dmt/testkit.h"
#include "rmap/regmap.h"

static rmap *load(const char *name, const char *variant)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", RMAP_TEST_DATA, name);
    rmap *m;
    rmap_error err;
    if (rmap_load(path, variant, &m, &err) != 0) {
        fprintf(stderr, "%s:%u: %s\n", err.file, err.line, err.msg);
        return NULL;
    }
    return m;
}

/* The formatted decode of off=value in domain dom ("" when no register). */
static const char *dec(const rmap *m, size_t dom, uint64_t off, uint64_t value)
{
    static char line[2048];
    static rmap_decoded d;
    line[0] = 0;
    if (rmap_decode(m, dom, off, 0, value, &d))
        rmap_format(&d, line, sizeof line);
    return line;
}

#define CHECK_DEC(m, dom, off, value, want)                                                        \
    do {                                                                                           \
        const char *got_ = dec((m), (dom), (off), (value));                                        \
        tk_checks++;                                                                               \
        if (strcmp(got_, (want)) != 0) {                                                           \
            tk_failures++;                                                                         \
            fprintf(stderr, "%s:%d: decode of 0x%llx=0x%llx:\n  got  '%s'\n  want '%s'\n",         \
                    __FILE__, __LINE__, (unsigned long long)(off), (unsigned long long)(value),    \
                    got_, (want));                                                                 \
        }                                                                                          \
    } while (0)

static void test_dmm_map(void)
{
    rmap *m;
    rmap_error err;
    CHECK(rmap_load(RMAP_DMM_XML, NULL, &m, &err) == 0);
    if (!m)
        return;
    CHECK(rmap_domain_count(m) == 1 && !strcmp(rmap_domain_name(m, 0), "DMM"));
    CHECK_DEC(m, 0, 0x000, 0x444D4101, "ID = 0x444d4101 { REVISION=1 MAGIC=0x444d41 }");
    /* 2 channels, 40 address bits, 16-byte descriptors, errata LEN_ROUND */
    CHECK_DEC(m, 0, 0x004, 0x02102802,
              "CAPS = 0x02102802 { CHANNELS=2 ADDR_BITS=40 DESC_SIZE=16 ERRATA=0x2 "
              "ERRATA.4G_WRAP=0 ERRATA.LEN_ROUND=1 ERRATA.ADDR_TRUNC=0 }");
    CHECK_DEC(m, 0, 0x008, 0x6,
              "IRQ_STATUS = 0x00000006 { CH0_DONE=0 CH0_ERR=1 CH1_DONE=1 CH1_ERR=0 }");
    CHECK_DEC(m, 0, 0x008, 0x30,
              "IRQ_STATUS = 0x00000030 { CH0_DONE=0 CH0_ERR=0 CH1_DONE=0 CH1_ERR=0 "
              "unknown=0x30 }");
    /* channel 1 STATUS: DONE|ERR, code 2 ADDR_LIMIT, descriptor 3 */
    CHECK_DEC(m, 0, 0x144, 0x00030206,
              "CH[1].STATUS = 0x00030206 { BUSY=0 DONE=1 ERR=1 CODE=ADDR_LIMIT INDEX=3 }");
    CHECK_DEC(m, 0, 0x104, 0x00001104,
              "CH[0].STATUS = 0x00001104 { BUSY=0 DONE=0 ERR=1 CODE=0x11 INDEX=0 }");
    CHECK_DEC(m, 0, 0x100, 0x5, "CH[0].CTRL = 0x00000005 { RUN=1 RESET=1 }");
    CHECK_DEC(m, 0, 0x148, 0xDEAD0000, "CH[1].DESC_LO = 0xdead0000");
    CHECK_DEC(m, 0, 0x150, 12, "CH[1].DESC_COUNT = 0x0000000c (12)");
    CHECK_DEC(m, 0, 0x010, 0x1000000, "DEVMEM_SIZE = 0x01000000 (16777216)");
    CHECK_DEC(m, 0, 0x130, 0, "");  /* past the channel's registers */
    CHECK_DEC(m, 0, 0x106, 0, "");  /* unaligned */
    CHECK_DEC(m, 0, 0x180, 0, "");  /* past the channels */
    CHECK_DEC(m, 0, 0x1000, 0, ""); /* past the BAR */
    rmap_counts c;
    rmap_get_counts(m, &c);
    CHECK(c.files == 1 && c.domains == 1 && c.registers == 18 && c.instances == 30);
    CHECK(c.enums == 1 && c.values == 10 && c.bitsets == 2);
    rmap_free(m);
}

static void test_full_map(void)
{
    rmap *m = load("full.xml", NULL);
    CHECK(m != NULL);
    if (!m)
        return;
    rmap_counts c;
    rmap_get_counts(m, &c);
    CHECK(c.files == 3); /* inc/more.xml imported twice, loaded once */
    CHECK(c.domains == 2 && rmap_find_domain(m, "GPU") == 0 && rmap_find_domain(m, "AUX") == 1);
    CHECK(rmap_find_domain(m, "NOPE") == -1 && rmap_domain_width(m, 1) == 32);
    /* 0xd8f93a35: STEP 3:0 = 5, VENDOR 11:4 = 0xa3, ENABLED 12 = 1, bit 13
     * set but no field, SIGNED 19:16 = 0x9 = -7, FRAC 27:20 = 0x8f / 16 =
     * 8.9375, MODE 30:28 = 5 = TURBO, bit 31 set but no field. */
    CHECK_DEC(m, 0, 0x0, 0xd8f93a35,
              "BOOT = 0xd8f93a35 { STEP=5 VENDOR=0xa3 ENABLED=1 SIGNED=-7 FRAC=8.9375 "
              "MODE=TURBO unknown=0x80002000 }");
    CHECK_DEC(m, 0, 0x0, 0x30000000,
              "BOOT = 0x30000000 { STEP=0 VENDOR=0x0 ENABLED=0 SIGNED=0 FRAC=0 MODE=0x3 }");
    CHECK_DEC(m, 0, 0x4, 0x123456, "ADDR = 0x00123456 { ADDR=0x12345600 }"); /* shr 8 */
    CHECK_DEC(m, 0, 0x8, 0x1234, "SHORT = 0x1234 (4660)");
    {
        static rmap_decoded w; /* an access matches registers of its width */
        CHECK(rmap_decode(m, 0, 0x8, 16, 0x1234, &w) && !strcmp(w.name, "SHORT"));
        CHECK(!rmap_decode(m, 0, 0x8, 32, 0x1234, &w));
        CHECK(rmap_decode(m, 0, 0x10, 64, 1, &w) && !strcmp(w.name, "WIDE"));
    }
    CHECK_DEC(m, 0, 0xa, 1, "BYTE = 0x01 (ON)");
    CHECK_DEC(m, 0, 0xa, 7, "BYTE = 0x07");
    CHECK_DEC(m, 0, 0x10, 0xffff00000000ull, "WIDE = 0x0000ffff00000000 { HI=0xffff }");
    CHECK_DEC(m, 0, 0x40, 0xd, "FLAGS = 0x0000000d { A=1 B=0 C=3 }");
    /* Without a variant every element is in: the first at 0x20 wins, and
     * fields of different variants may share bits. */
    CHECK_DEC(m, 0, 0x20, 1, "NEWREG = 0x00000001");
    CHECK_DEC(m, 0, 0x44, 0x25, "CTL = 0x00000025 { MODEA=0x5 MODEB=0x25 }");
    CHECK_DEC(m, 0, 0x48, 0, ""); /* inside an unknown element: skipped */
    /* arrays, register arrays, nested arrays, stripes */
    CHECK_DEC(m, 0, 0x1200, 1, "UNIT[2].CFG = 0x00000001");
    CHECK_DEC(m, 0, 0x1318, 2, "UNIT[3].DATA[2] = 0x00000002");
    CHECK_DEC(m, 0, 0x1010, 2, "UNIT[0].DATA[0] = 0x00000002");
    CHECK_DEC(m, 0, 0x11a4, 3, "UNIT[1].SUB[1].X = 0x00000003");
    CHECK_DEC(m, 0, 0x1290, 0, ""); /* between elements of UNIT[2] */
    CHECK_DEC(m, 0, 0x1320, 0, ""); /* past DATA[3] */
    CHECK_DEC(m, 0, 0x1400, 0, ""); /* past UNIT[3] */
    CHECK_DEC(m, 0, 0x11c4, 0, ""); /* past SUB[1] */
    CHECK_DEC(m, 0, 0x2020, 4, "LANE[2] = 0x00000004");
    CHECK_DEC(m, 0, 0x2030, 4, "");
    CHECK_DEC(m, 0, 0x300c, 5, "BANK[1].PTR = 0x00000005");
    CHECK_DEC(m, 1, 0x2, 9, "AUX_R = 0x00000009"); /* not bare: prefixed */
    CHECK_DEC(m, 1, 0x8, 9, "");                   /* width 32: 0x8 is not 0x2 */
    rmap_free(m);

    /* Variants: A1 < A2 < B1 < B2 < C1 (the enum chip, the domain's prefix). */
    static const struct {
        const char *variant;
        const char *at20, *at24, *at28, *at2c, *ctl, *bank;
    } v[] = {
        {"A1", "OLDREG = 0x00000001", "", "LIST = 0x00000001", "EARLY = 0x00000001",
         "CTL = 0x00000025 { MODEA=0x5 unknown=0x20 }", ""},
        {"A2", "OLDREG = 0x00000001", "MID = 0x00000001", "", "EARLY = 0x00000001",
         "CTL = 0x00000025 { MODEA=0x5 unknown=0x20 }", "BANK[1].PTR = 0x00000005"},
        {"B1", "NEWREG = 0x00000001", "MID = 0x00000001", "", "", "CTL = 0x00000025 { MODEB=0x25 }",
         "BANK[1].PTR = 0x00000005"},
        {"B2", "NEWREG = 0x00000001", "", "", "", "CTL = 0x00000025 { MODEB=0x25 }",
         "BANK[1].PTR = 0x00000005"},
        {"C1", "NEWREG = 0x00000001", "", "LIST = 0x00000001", "",
         "CTL = 0x00000025 { MODEB=0x25 }", "BANK[1].PTR = 0x00000005"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        m = load("full.xml", v[i].variant);
        CHECK(m != NULL);
        if (!m)
            continue;
        CHECK_DEC(m, 0, 0x20, 1, v[i].at20);
        CHECK_DEC(m, 0, 0x24, 1, v[i].at24);
        CHECK_DEC(m, 0, 0x28, 1, v[i].at28);
        CHECK_DEC(m, 0, 0x2c, 1, v[i].at2c);
        CHECK_DEC(m, 0, 0x44, 0x25, v[i].ctl);
        CHECK_DEC(m, 0, 0x300c, 5, v[i].bank);
        CHECK_DEC(m, 0, 0x0, 0x1,
                  "BOOT = 0x00000001 { STEP=1 VENDOR=0x0 ENABLED=0 SIGNED=0 "
                  "FRAC=0 MODE=IDLE }");
        rmap_free(m);
    }
}

static void collect(void *ctx, const char *text)
{
    size_t *n = ctx;
    (*n)++;
    (void)text;
}

static void test_list(void)
{
    rmap *m = load("full.xml", "A1");
    if (!m)
        return;
    size_t n = 0;
    rmap_list(m, 0, collect, &n);
    /* domain line, 11 registers of GPU kept by A1 (NEWREG, MID, BANK out),
     * their 12 fields (MODEB out), 2 arrays, 1 stripe, 2 enums, 1 bitset with
     * its 3 fields */
    CHECK(n == 1 + 11 + 12 + 2 + 1 + 2 + 1 + 3);
    rmap_free(m);
}

/* Each bad input: the file and line the error names, and what it says. */
static void test_bad_input(void)
{
    static const struct {
        const char *file, *variant, *err_file; /* err_file NULL: file */
        unsigned line;
        const char *msg;
    } bad[] = {
        {"bad_malformed.xml", NULL, NULL, 5, "malformed XML"},
        {"bad_missing_import.xml", NULL, NULL, 4, "cannot import"},
        {"bad_cycle_a.xml", NULL, "bad_cycle_b.xml", 5, "import cycle"},
        {"bad_field_width.xml", NULL, NULL, 5, "outside its 16-bit register"},
        {"bad_overlap.xml", NULL, NULL, 6, "overlaps"},
        {"bad_array_length.xml", NULL, NULL, 4, "4294967296 elements"},
        {"bad_instances.xml", NULL, NULL, 5, "register instances"},
        {"bad_variant.xml", NULL, NULL, 5, "cannot parse variants"},
        {"bad_variant_unknown.xml", NULL, NULL, 6, "'Z9' is not in"},
        {"bad_type.xml", NULL, NULL, 4, "unknown type 'nosuch'"},
        {"bad_dtd.xml", NULL, NULL, 3, "document type"},
        {"bad_root.xml", NULL, NULL, 2, "not <database>"},
        {"full.xml", "Q7", "full.xml", 0, "variant 'Q7' is not defined"},
        {"no_such_file.xml", NULL, "no_such_file.xml", 0, "No such file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", RMAP_TEST_DATA, bad[i].file);
        rmap *m = (rmap *)1;
        rmap_error err;
        int rc = rmap_load(path, bad[i].variant, &m, &err);
        const char *want = bad[i].err_file ? bad[i].err_file : bad[i].file;
        size_t fl = strlen(err.file), el = strlen(want);
        bool ok = rc == -1 && m == NULL && err.line == bad[i].line && fl >= el &&
                  !strcmp(err.file + fl - el, want) && strstr(err.msg, bad[i].msg);
        tk_checks++;
        if (!ok) {
            tk_failures++;
            fprintf(stderr, "%s: rc %d, got %s:%u: %s; want %s:%u: ...%s...\n", bad[i].file, rc,
                    err.file, err.line, err.msg, want, bad[i].line, bad[i].msg);
        }
    }
}

/* ---- dmm.xml against the C map (dmm/map.h) ------------------------------- */

static rmap_decoded d; /* large: static */

/* The field of the last decode named name, or NULL. */
static const rmap_field_value *field(const char *name)
{
    for (unsigned i = 0; i < d.n_fields; i++)
        if (!strcmp(d.fields[i].name, name))
            return &d.fields[i];
    return NULL;
}

static uint64_t raw(const char *name)
{
    const rmap_field_value *f = field(name);
    CHECK(f != NULL);
    return f ? f->raw : UINT64_MAX;
}

/* "CH[1].DESC_LO" -> "CH1_DESC_LO"; other names unchanged. */
static void c_name(const char *xml, char *out, size_t cap)
{
    unsigned c;
    char rest[128];
    int n;
    if (sscanf(xml, "CH[%u].%127s", &c, rest) == 2)
        n = snprintf(out, cap, "CH%u_%s", c, rest);
    else
        n = snprintf(out, cap, "%.*s", (int)(cap > 0 ? cap - 1 : 0), xml);
    (void)n; /* names are short; a longer one is cut and then simply not found */
}

static void test_registers(const rmap *m)
{
    unsigned both = 0;
    for (uint32_t off = 0; off < DMM_BAR_SIZE + 0x100; off++) {
        dmm_map_hit h;
        bool in_c = dmm_map_lookup(off, &h);
        bool in_xml = rmap_decode(m, 0, off, 32, 0, &d);
        CHECK(in_c == in_xml);
        if (!in_c || !in_xml) {
            if (in_c != in_xml)
                fprintf(stderr, "offset 0x%x: C map %s, dmm.xml %s\n", off, in_c ? h.name : "-",
                        in_xml ? d.name : "-");
            continue;
        }
        both++;
        char name[160];
        c_name(d.name, name, sizeof name);
        CHECK(!strcmp(name, h.name));
        CHECK(d.width == 32);
        CHECK(d.brief && !strcmp(d.brief, h.reg->doc));
        CHECK(!strcmp(d.access, !strcmp(h.reg->access, "RO") ? "r" : "rw"));
        if (strcmp(name, h.name) || !d.brief || strcmp(d.brief, h.reg->doc))
            fprintf(stderr, "offset 0x%x: C map %s '%s', dmm.xml %s '%s'\n", off, h.name,
                    h.reg->doc, d.name, d.brief ? d.brief : "");
    }
    size_t ng, nc;
    dmm_map_global_regs(&ng);
    dmm_map_channel_regs(&nc);
    CHECK(both == ng + DMM_NUM_CHANNELS * nc);
}

static void test_fields(const rmap *m)
{
    /* Values that set every bit pattern the macros care about. */
    static const uint32_t samples[] = {0,           0xFFFFFFFFu, 0x444D4102u,
                                       0x07402010u, 0x00030206u, 0x12345678u,
                                       0x80000001u, 0x5u,        0xAu};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        uint32_t v = samples[i];
        CHECK(rmap_decode(m, 0, DMM_REG_ID, 32, v, &d));
        CHECK(raw("REVISION") == DMM_ID_REVISION(v) && raw("MAGIC") << 8 == (v & DMM_ID_MASK));
        CHECK(rmap_decode(m, 0, DMM_REG_CAPS, 32, v, &d));
        CHECK(raw("CHANNELS") == DMM_CAPS_CHANNELS(v) && raw("ADDR_BITS") == DMM_CAPS_ADDR_BITS(v));
        CHECK(raw("DESC_SIZE") == DMM_CAPS_DESC_SIZE(v) && raw("ERRATA") == DMM_CAPS_ERRATA(v));
        CHECK(raw("ERRATA.4G_WRAP") == !!(DMM_CAPS_ERRATA(v) & DMM_ERRATUM_4G_WRAP));
        CHECK(raw("ERRATA.LEN_ROUND") == !!(DMM_CAPS_ERRATA(v) & DMM_ERRATUM_LEN_ROUND));
        CHECK(raw("ERRATA.ADDR_TRUNC") == !!(DMM_CAPS_ERRATA(v) & DMM_ERRATUM_ADDR_TRUNC));
        for (uint32_t reg = DMM_REG_IRQ_STATUS; reg <= DMM_REG_IRQ_ENABLE; reg += 4) {
            CHECK(rmap_decode(m, 0, reg, 32, v, &d));
            for (unsigned c = 0; c < DMM_NUM_CHANNELS; c++) {
                char n[32];
                snprintf(n, sizeof n, "CH%u_DONE", c);
                CHECK(raw(n) == !!(v & DMM_IRQ_DONE(c)));
                snprintf(n, sizeof n, "CH%u_ERR", c);
                CHECK(raw(n) == !!(v & DMM_IRQ_ERR(c)));
            }
            CHECK(d.unknown == (v & ~DMM_IRQ_ALL));
        }
        for (unsigned c = 0; c < DMM_NUM_CHANNELS; c++) {
            CHECK(rmap_decode(m, 0, DMM_CH_BASE(c) + DMM_CH_CTRL, 32, v, &d));
            CHECK(raw("RUN") == !!(v & DMM_CTRL_RUN) && raw("RESET") == !!(v & DMM_CTRL_RESET));
            CHECK(rmap_decode(m, 0, DMM_CH_BASE(c) + DMM_CH_STATUS, 32, v, &d));
            CHECK(raw("BUSY") == !!(v & DMM_STATUS_BUSY) && raw("DONE") == !!(v & DMM_STATUS_DONE));
            CHECK(raw("ERR") == !!(v & DMM_STATUS_ERR));
            CHECK(raw("CODE") == DMM_STATUS_CODE(v) && raw("INDEX") == DMM_STATUS_INDEX(v));
        }
    }
}

static void test_errors(const rmap *m)
{
    for (uint32_t code = 0; code < 256; code++) {
        CHECK(rmap_decode(m, 0, DMM_CH_BASE(0) + DMM_CH_STATUS, 32, code << 8, &d));
        const rmap_field_value *f = field("CODE");
        const char *c = dmm_map_err_name(code);
        CHECK(f && (c ? f->enum_name && !strcmp(f->enum_name, c) : f->enum_name == NULL));
    }
}

static void test_dmm_agrees(void)
{
    rmap *m;
    rmap_error err;
    CHECK(rmap_load(RMAP_DMM_XML, NULL, &m, &err) == 0);
    if (!m)
        return;
    CHECK(rmap_domain_count(m) == 1 && rmap_domain_width(m, 0) == 8);
    test_registers(m);
    test_fields(m);
    test_errors(m);
    rmap_free(m);
}

/* The compact forms and the namer: set one-bit fields by name, zero fields
 * left out, enums by name, a delta naming each differing field; repeated
 * decodes through the cache give the same text as fresh ones, misses
 * included. */
static void test_short_forms(void)
{
    rmap *m;
    rmap_error err;
    CHECK(rmap_load(RMAP_DMM_XML, NULL, &m, &err) == 0);
    if (!m)
        return;
    static rmap_decoded a, b;
    char line[512];
    CHECK(rmap_decode(m, 0, 0x144, 32, 0x00030206, &a));
    rmap_format_short(&a, line, sizeof line);
    CHECK(!strcmp(line, "CH[1].STATUS=0x30206 {DONE, ERR, CODE=ADDR_LIMIT, INDEX=3}"));
    CHECK(rmap_decode(m, 0, 0x144, 32, 0x00000002, &b));
    rmap_format_short(&b, line, sizeof line);
    CHECK(!strcmp(line, "CH[1].STATUS=0x2 {DONE}"));
    CHECK(rmap_format_delta(&a, &b, line, sizeof line) > 0);
    CHECK(!strcmp(line, "ERR 1->0, CODE ADDR_LIMIT->NONE, INDEX 3->0"));
    CHECK(rmap_format_delta(&a, &a, line, sizeof line) == 0 && line[0] == 0);
    CHECK(rmap_decode(m, 0, 0x108, 32, 0x1000, &a));
    rmap_format_short(&a, line, sizeof line);
    CHECK(!strcmp(line, "CH[0].DESC_LO=0x1000"));

    rmap_namer *n = rmap_namer_new(m, 0);
    CHECK(n != NULL);
    for (int round = 0; n && round < 2; round++) {
        size_t len = 0;
        const char *t = rmap_namer_text(n, 0x104, 32, 0x6, &len);
        CHECK(t && !strcmp(t, "CH[0].STATUS=0x6 {DONE, ERR}"));
        CHECK(t && len == strlen(t));
        CHECK(rmap_namer_text(n, 0xFFC, 32, 0x6, NULL) == NULL);
        const char *nm = rmap_namer_name(n, 0x150, 32);
        CHECK(nm && !strcmp(nm, "CH[1].DESC_COUNT"));
        CHECK(rmap_namer_name(n, 0x151, 0) == NULL);
        /* a plain register (no fields, hex) formats any value itself */
        t = rmap_namer_text(n, 0x108, 32, 0xbc000000u, &len);
        CHECK(t && !strcmp(t, "CH[0].DESC_LO=0xbc000000"));
        CHECK(t && len == strlen(t));
        t = rmap_namer_text(n, 0x14c, 32, 0, NULL);
        CHECK(t && !strcmp(t, "CH[1].DESC_HI=0x0"));
        /* many values of one register: every slot collision decodes afresh */
        for (uint64_t v = 0; v < 10000; v++) {
            t = rmap_namer_text(n, 0x110, 32, v, NULL);
            char want[64];
            snprintf(want, sizeof want, "CH[0].DESC_COUNT=0x%llx (%llu)", (unsigned long long)v,
                     (unsigned long long)v);
            if (!t || strcmp(t, want)) {
                CHECK(!"namer text of DESC_COUNT");
                break;
            }
        }
    }
    rmap_namer_free(n);
    rmap_free(m);
}

int main(void)
{
    test_short_forms();
    test_dmm_map();
    test_full_map();
    test_list();
    test_bad_input();
    test_dmm_agrees();
    return tk_result("regmap_test");
}
