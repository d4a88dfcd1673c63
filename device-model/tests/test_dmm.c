/*
 * test_dmm.c - tests of the device model (libdmm): dmm_phys edge cases, every
 * register, both DMA directions, every error code with its descriptor index
 * and ERR_ADDR, the interrupt line, deferred completion, determinism,
 * revision 2, each erratum, hostile programming and a register fuzz loop,
 * plus a multi-threaded smoke test (label "threads").
 *
 * Exit 0 when every CHECK holds, 1 otherwise.
 */
#include "dmm/dmm.h"
#include "dmt/digest.h"
#include "dmt/testkit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- fixtures ---------------------------------------------------------------- */

#define RING  0x10000ull  /* owned, 64 KiB: descriptor rings */
#define HOSTA 0x100000ull /* owned, 64 KiB: data */
#define G4    0x100000000ull

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state = dmt_splitmix64(rng_state);
    return rng_state;
}

static dmm_dev *mkdev(dmm_phys *pm, uint32_t rev, uint32_t errata, uint32_t bits, uint32_t flags)
{
    dmm_config cfg;
    dmm_config_default(&cfg);
    cfg.revision = rev;
    cfg.errata = errata;
    cfg.addr_bits = bits;
    cfg.devmem_size = 1u << 20;
    cfg.flags = flags;
    dmm_dev *d = dmm_dev_new(&cfg, pm);
    if (!d) {
        fprintf(stderr, "dmm_dev_new failed\n");
        exit(1);
    }
    return d;
}

static dmm_phys *mkphys(void)
{
    dmm_phys *pm = dmm_phys_new();
    if (!pm || dmm_phys_alloc(pm, RING, 0x10000) != DMM_OK ||
        dmm_phys_alloc(pm, HOSTA, 0x10000) != DMM_OK) {
        fprintf(stderr, "phys setup failed\n");
        exit(1);
    }
    return pm;
}

static uint32_t rd(dmm_dev *d, unsigned c, uint32_t r)
{
    return dmm_reg_read(d, DMM_CH_BASE(c) + r);
}

static void wr(dmm_dev *d, unsigned c, uint32_t r, uint32_t v)
{
    dmm_reg_write(d, DMM_CH_BASE(c) + r, v);
}

static void go(dmm_dev *d, unsigned c, uint64_t ring, uint32_t count)
{
    wr(d, c, DMM_CH_DESC_LO, (uint32_t)ring);
    wr(d, c, DMM_CH_DESC_HI, (uint32_t)(ring >> 32));
    wr(d, c, DMM_CH_DESC_COUNT, count);
    wr(d, c, DMM_CH_CTRL, DMM_CTRL_RUN);
}

/* Write descriptor i of revision rev at ring. */
static void put_desc(dmm_phys *pm, uint32_t rev, uint64_t ring, uint32_t i, uint64_t host,
                     uint32_t len, uint64_t dev)
{
    uint8_t b[32];
    size_t n = dmm_desc_encode(rev, b, host, len, dev);
    CHECK(n == dmm_desc_size(rev));
    CHECK_EQ(dmm_phys_write(pm, ring + (uint64_t)i * n, b, n), DMM_OK);
}

static uint64_t u64of(dmm_dev *d, unsigned c, uint32_t lo)
{
    return (uint64_t)rd(d, c, lo) | (uint64_t)rd(d, c, lo + 4) << 32;
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
    dmt_pattern_fill(p, seed, 0, n);
}

static uint64_t cost(const uint64_t *lens, unsigned n)
{
    uint64_t c = DMM_CYC_RUN;
    for (unsigned i = 0; i < n; i++)
        c += DMM_CYC_DESC + (lens[i] + DMM_BYTES_PER_CYC - 1) / DMM_BYTES_PER_CYC;
    return c;
}

/* Expect STATUS.ERR with code/index, and ERR_ADDR. */
static void expect_err(dmm_dev *d, unsigned c, uint32_t code, uint32_t index, uint64_t addr,
                       int line)
{
    uint32_t st = rd(d, c, DMM_CH_STATUS);
    uint64_t ea = u64of(d, c, DMM_CH_ERR_ADDR_LO);
    tk_checks++;
    if (!(st & DMM_STATUS_ERR) || (st & (DMM_STATUS_DONE | DMM_STATUS_BUSY)) ||
        DMM_STATUS_CODE(st) != code || DMM_STATUS_INDEX(st) != index || ea != addr) {
        tk_failures++;
        fprintf(stderr,
                "line %d: expected err %u idx %u addr 0x%llx, got status 0x%08x addr 0x%llx\n",
                line, code, index, (unsigned long long)addr, st, (unsigned long long)ea);
    }
    CHECK(dmm_reg_read(d, DMM_REG_IRQ_STATUS) & DMM_IRQ_ERR(c));
    dmm_run_info ri;
    CHECK_EQ(dmm_ch_last_run(d, c, &ri), DMM_OK);
    CHECK_EQ(ri.err, code);
    CHECK_EQ(ri.err_index, index);
    CHECK_EQ(ri.err_addr, addr);
}
#define EXPECT_ERR(d, c, code, idx, addr) expect_err(d, c, code, idx, addr, __LINE__)

/* ---- dmm_phys ------------------------------------------------------------------ */

static void test_phys_basic(void)
{
    dmm_phys *pm = dmm_phys_new();
    CHECK(pm != NULL);
    uint8_t buf[64];
    memset(buf, 0xAB, sizeof(buf));

    CHECK_EQ(dmm_phys_alloc(pm, 0x1000, 0x1000), DMM_OK);
    CHECK_EQ(dmm_phys_map(pm, 0x2000, sizeof(buf), buf), DMM_OK); /* adjacent: fine */
    /* overlaps of every shape */
    CHECK_EQ(dmm_phys_alloc(pm, 0x1000, 0x1000), DMM_EINVAL);
    CHECK_EQ(dmm_phys_alloc(pm, 0x0800, 0x0801), DMM_EINVAL); /* tail touches 0x1000 */
    CHECK_EQ(dmm_phys_alloc(pm, 0x1FFF, 1), DMM_EINVAL);
    CHECK_EQ(dmm_phys_alloc(pm, 0x1800, 0x10), DMM_EINVAL);    /* inside */
    CHECK_EQ(dmm_phys_alloc(pm, 0x0000, 0x10000), DMM_EINVAL); /* covers both */
    CHECK_EQ(dmm_phys_map(pm, 0x203F, 1, buf), DMM_EINVAL);
    CHECK_EQ(dmm_phys_alloc(pm, 0x0800, 0x0800), DMM_OK); /* ends at 0xFFF */
    CHECK_EQ(dmm_phys_region_count(pm), 3);
    /* bad arguments */
    CHECK_EQ(dmm_phys_alloc(pm, 0x9000, 0), DMM_EINVAL);
    CHECK_EQ(dmm_phys_map(pm, 0x9000, 16, NULL), DMM_EINVAL);
    CHECK_EQ(dmm_phys_alloc(pm, UINT64_MAX - 3, 5), DMM_EINVAL); /* wraps */
    CHECK_EQ(dmm_phys_alloc(pm, UINT64_MAX - 3, 4), DMM_OK);     /* ends at 2^64 */
    CHECK_EQ(dmm_phys_alloc(pm, UINT64_MAX, 1), DMM_EINVAL);     /* overlaps it */
    CHECK_EQ(dmm_phys_owned_bytes(pm), 0x1000 + 0x800 + 4);

    /* read/write across adjacent regions (owned 0x800.., owned 0x1000.., borrowed 0x2000..) */
    uint8_t src[0x1900], dst[0x1900];
    fill(src, sizeof(src), 1);
    CHECK_EQ(dmm_phys_write(pm, 0x800 + 0x10, src, 0x1800 + 0x30), DMM_OK);
    memset(dst, 0, sizeof(dst));
    CHECK_EQ(dmm_phys_read(pm, 0x810, dst, 0x1830), DMM_OK);
    CHECK(memcmp(src, dst, 0x1830) == 0);
    CHECK(memcmp(buf, src + (0x2000 - 0x810), 0x40) == 0); /* the borrowed bytes */
    CHECK(dmm_phys_is_mapped(pm, 0x800, 0x1840));
    CHECK(!dmm_phys_is_mapped(pm, 0x800, 0x1841));
    CHECK(dmm_phys_is_mapped(pm, 0x123456789, 0)); /* len 0 */

    /* partial mapping: fails, copies nothing */
    memset(dst, 0x5A, sizeof(dst));
    CHECK_EQ(dmm_phys_read(pm, 0x2000, dst, 0x41), DMM_EFAULT);
    CHECK_EQ(dmm_phys_read(pm, 0x7FF, dst, 2), DMM_EFAULT);
    for (size_t i = 0; i < sizeof(dst); i++)
        if (dst[i] != 0x5A) {
            CHECK(!"partial read copied bytes");
            break;
        }
    uint8_t before[0x40];
    memcpy(before, buf, sizeof(before));
    uint8_t ones[0x80];
    memset(ones, 0xEE, sizeof(ones));
    CHECK_EQ(dmm_phys_write(pm, 0x2000, ones, 0x41), DMM_EFAULT);
    CHECK(memcmp(before, buf, sizeof(before)) == 0);
    CHECK_EQ(dmm_phys_read(pm, 0x5000, dst, 0), DMM_OK);
    CHECK_EQ(dmm_phys_read(pm, UINT64_MAX - 3, dst, 4), DMM_OK);
    CHECK_EQ(dmm_phys_read(pm, UINT64_MAX - 3, dst, 5), DMM_EFAULT); /* wraps */
    CHECK_EQ(dmm_phys_read(pm, UINT64_MAX, dst, UINT64_MAX), DMM_EFAULT);
    CHECK(!dmm_phys_is_mapped(pm, UINT64_MAX, 2));

    /* unmap: exact start only */
    CHECK_EQ(dmm_phys_unmap(pm, 0x1001), DMM_EINVAL);
    CHECK_EQ(dmm_phys_unmap(pm, 0x1000), DMM_OK);
    CHECK_EQ(dmm_phys_unmap(pm, 0x1000), DMM_EINVAL);
    CHECK_EQ(dmm_phys_read(pm, 0x1000, dst, 1), DMM_EFAULT);
    CHECK_EQ(dmm_phys_read(pm, 0x810, dst, 0x1830), DMM_EFAULT);
    CHECK_EQ(dmm_phys_owned_bytes(pm), 0x800 + 4);
    CHECK_EQ(dmm_phys_alloc(pm, 0x1000, 0x1000), DMM_OK); /* freshly zeroed */
    CHECK_EQ(dmm_phys_read(pm, 0x1000, dst, 16), DMM_OK);
    CHECK(dst[0] == 0 && dst[15] == 0);
    CHECK_EQ(dmm_phys_unmap(pm, 0x2000), DMM_OK); /* borrowed: buf is ours again */

    /* limits */
    CHECK_EQ(dmm_phys_set_limits(pm, 1, 1 << 20), DMM_EINVAL); /* below use */
    CHECK_EQ(dmm_phys_set_limits(pm, 4, 0x2000), DMM_OK);
    CHECK_EQ(dmm_phys_alloc(pm, 0x10000, 0x1000), DMM_ENOMEM); /* owned bytes */
    CHECK_EQ(dmm_phys_map(pm, 0x10000, 16, buf), DMM_OK);
    CHECK_EQ(dmm_phys_map(pm, 0x20000, 16, buf), DMM_ENOMEM); /* regions */
    CHECK_EQ(dmm_phys_alloc(pm, 0x30000, 1ull << 40), DMM_ENOMEM);
    CHECK_EQ(dmm_phys_set_limits(pm, DMM_PHYS_MAX_REGIONS, DMM_PHYS_MAX_OWNED), DMM_OK);
    CHECK_EQ(dmm_phys_alloc(pm, 0x30000, 8ull << 30), DMM_ENOMEM); /* > 4 GiB default */
    dmm_phys_free(pm);
    dmm_phys_free(NULL);
}

/* Many regions in descending / shuffled order: exercises chunk splits. */
static void test_phys_many(void)
{
    enum { N = 3000 };
    dmm_phys *pm = dmm_phys_new();
    static uint64_t order[N];
    for (unsigned i = 0; i < N; i++)
        order[i] = i;
    rng_state = 42;
    for (unsigned i = N - 1; i > 0; i--) {
        unsigned j = (unsigned)(rnd() % (i + 1));
        uint64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    /* descending, every other slot */
    for (int i = N - 1; i >= 0; i--)
        CHECK_EQ(dmm_phys_alloc(pm, (uint64_t)i * 0x100, 0x80), DMM_OK);
    /* the gaps in shuffled order, borrowed, making the space contiguous */
    static uint8_t back[N][0x80];
    for (unsigned k = 0; k < N; k++) {
        uint64_t i = order[k];
        memset(back[i], (int)(i & 0xFF), 0x80);
        CHECK_EQ(dmm_phys_map(pm, i * 0x100 + 0x80, 0x80, back[i]), DMM_OK);
    }
    CHECK_EQ(dmm_phys_region_count(pm), 2 * N);
    CHECK(dmm_phys_is_mapped(pm, 0, (uint64_t)N * 0x100));
    uint8_t b[0x100];
    for (unsigned i = 0; i < N; i += 97) {
        CHECK_EQ(dmm_phys_read(pm, (uint64_t)i * 0x100 + 0x7F, b, 2), DMM_OK);
        CHECK(b[0] == 0 && b[1] == (uint8_t)i);
    }
    /* overlap still detected everywhere */
    for (unsigned i = 0; i < N; i += 101)
        CHECK_EQ(dmm_phys_alloc(pm, (uint64_t)i * 0x100 + 0x40, 0x80), DMM_EINVAL);
    /* remove the borrowed ones in shuffled order; owned ones stay */
    for (unsigned k = 0; k < N; k++)
        CHECK_EQ(dmm_phys_unmap(pm, order[k] * 0x100 + 0x80), DMM_OK);
    CHECK_EQ(dmm_phys_region_count(pm), N);
    CHECK(!dmm_phys_is_mapped(pm, 0x80, 1));
    CHECK(dmm_phys_is_mapped(pm, 0x100, 0x80));
    for (unsigned k = 0; k < N; k++)
        CHECK_EQ(dmm_phys_unmap(pm, order[k] * 0x100), DMM_OK);
    CHECK_EQ(dmm_phys_region_count(pm), 0);
    CHECK_EQ(dmm_phys_owned_bytes(pm), 0);
    CHECK(!dmm_phys_is_mapped(pm, 0, 1));
    dmm_phys_free(pm);
}

/* Insert into a full chunk at every interesting position (chunk split edges). */
static void test_phys_split(void)
{
    static const unsigned posv[] = {0, 1, 2, 127, 128, 129, 130, 254, 255, 256};
    for (unsigned k = 0; k < sizeof(posv) / sizeof(posv[0]); k++) {
        dmm_phys *pm = dmm_phys_new();
        static uint8_t mem[600];
        for (unsigned i = 0; i < 600; i++)
            mem[i] = (uint8_t)(i * 7 + 1);
        /* 256 regions at even slots (one full chunk, ascending), then one odd slot */
        for (unsigned i = 0; i < 256; i++)
            CHECK_EQ(dmm_phys_map(pm, 0x1000 + 2 * i, 1, &mem[2 * i]), DMM_OK);
        unsigned odd = posv[k] == 0 ? 0 : 2 * posv[k] - 1; /* slot before region posv[k] */
        if (posv[k] == 0)
            CHECK_EQ(dmm_phys_map(pm, 0xFFF, 1, &mem[599]), DMM_OK);
        else
            CHECK_EQ(dmm_phys_map(pm, 0x1000 + odd, 1, &mem[odd]), DMM_OK);
        /* a few more around it to stress the neighbours */
        for (unsigned j = 1; j < 6; j += 2) {
            unsigned o = odd + j * 2;
            if (posv[k] != 0 && o < 511)
                CHECK_EQ(dmm_phys_map(pm, 0x1000 + o, 1, &mem[o]), DMM_OK);
        }
        for (unsigned i = 0; i < 256; i++) {
            uint8_t b = 0;
            CHECK_EQ(dmm_phys_read(pm, 0x1000 + 2 * i, &b, 1), DMM_OK);
            CHECK_EQ(b, mem[2 * i]);
            CHECK_EQ(dmm_phys_alloc(pm, 0x1000 + 2 * i, 1), DMM_EINVAL);
        }
        if (posv[k] != 0) {
            uint8_t b[3];
            unsigned n = odd + 1 <= 510 ? 3 : 2; /* slot 511 is the last one mapped */
            CHECK_EQ(dmm_phys_read(pm, 0x1000 + odd - 1, b, n), DMM_OK);
            CHECK(b[0] == mem[odd - 1] && b[1] == mem[odd] && (n == 2 || b[2] == mem[odd + 1]));
            CHECK_EQ(dmm_phys_read(pm, 0x1000 + 512, b, 1), DMM_EFAULT);
        } else {
            uint8_t b[2];
            CHECK_EQ(dmm_phys_read(pm, 0xFFF, b, 2), DMM_OK);
            CHECK(b[0] == mem[599] && b[1] == mem[0]);
        }
        /* unmap everything in a scattered order */
        uint64_t n = dmm_phys_region_count(pm);
        for (unsigned i = 0; i < 600; i++) {
            unsigned slot = (i * 257u) % 600u;
            if (dmm_phys_unmap(pm, 0xFFF + slot) == DMM_OK)
                n--;
        }
        CHECK_EQ(n, 0);
        CHECK_EQ(dmm_phys_region_count(pm), 0);
        dmm_phys_free(pm);
    }
}

/* ---- registers ------------------------------------------------------------------ */

static void test_config(void)
{
    dmm_phys *pm = dmm_phys_new();
    dmm_config cfg;
    dmm_config_default(&cfg);
    CHECK_EQ(cfg.revision, 1);
    CHECK_EQ(cfg.addr_bits, 64);
    CHECK_EQ(cfg.devmem_size, 16u << 20);
    CHECK_EQ(cfg.errata, 0);
    CHECK_EQ(cfg.flags, 0);
    dmm_config bad = cfg;
    bad.revision = 3;
    CHECK(dmm_dev_new(&bad, pm) == NULL);
    bad = cfg;
    bad.addr_bits = 31;
    CHECK(dmm_dev_new(&bad, pm) == NULL);
    bad.addr_bits = 65;
    CHECK(dmm_dev_new(&bad, pm) == NULL);
    bad = cfg;
    bad.devmem_size = 0;
    CHECK(dmm_dev_new(&bad, pm) == NULL);
    bad.devmem_size = DMM_DEVMEM_MAX + 1;
    CHECK(dmm_dev_new(&bad, pm) == NULL);
    bad = cfg;
    bad.errata = 0x8;
    CHECK(dmm_dev_new(&bad, pm) == NULL);
    bad = cfg;
    bad.flags = 0x2;
    CHECK(dmm_dev_new(&bad, pm) == NULL);
    CHECK(dmm_dev_new(&cfg, NULL) == NULL);
    dmm_dev *d = dmm_dev_new(NULL, pm); /* NULL = defaults */
    CHECK(d != NULL);
    dmm_config got;
    dmm_dev_get_config(d, &got);
    CHECK_EQ(got.devmem_size, 16u << 20);
    dmm_dev_free(d);
    dmm_dev_free(NULL);
    dmm_phys_free(pm);
}

static void test_registers(void)
{
    dmm_phys *pm = mkphys();
    dmm_dev *d = mkdev(pm, 1, DMM_ERRATUM_LEN_ROUND, 48, 0);
    dmm_stats st;

    CHECK_EQ(dmm_reg_read(d, DMM_REG_ID), 0x444D4101u);
    uint32_t caps = dmm_reg_read(d, DMM_REG_CAPS);
    CHECK_EQ(DMM_CAPS_CHANNELS(caps), 2);
    CHECK_EQ(DMM_CAPS_ADDR_BITS(caps), 48);
    CHECK_EQ(DMM_CAPS_DESC_SIZE(caps), 32);
    CHECK_EQ(DMM_CAPS_ERRATA(caps), DMM_ERRATUM_LEN_ROUND);
    CHECK_EQ(dmm_reg_read(d, DMM_REG_DEVMEM_SIZE), 1u << 20);

    /* RO writes ignored and counted */
    dmm_reg_write(d, DMM_REG_ID, 0);
    dmm_reg_write(d, DMM_REG_CAPS, 0);
    dmm_reg_write(d, DMM_REG_DEVMEM_SIZE, 0);
    static const uint32_t ro[] = {DMM_CH_COMPLETED,   DMM_CH_BYTES,       DMM_CH_BYTES_HI,
                                  DMM_CH_ERR_ADDR_LO, DMM_CH_ERR_ADDR_HI, DMM_CH_DIGEST_LO,
                                  DMM_CH_DIGEST_HI};
    uint32_t ro_before[2][7];
    for (unsigned c = 0; c < 2; c++)
        for (unsigned i = 0; i < 7; i++)
            ro_before[c][i] = rd(d, c, ro[i]);
    for (unsigned c = 0; c < 2; c++)
        for (unsigned i = 0; i < 7; i++)
            wr(d, c, ro[i], 0x12345678);
    for (unsigned c = 0; c < 2; c++)
        for (unsigned i = 0; i < 7; i++)
            CHECK_EQ(rd(d, c, ro[i]), ro_before[c][i]);
    CHECK_EQ(dmm_reg_read(d, DMM_REG_ID), 0x444D4101u);
    CHECK_EQ(dmm_reg_read(d, DMM_REG_DEVMEM_SIZE), 1u << 20);
    dmm_get_stats(d, &st);
    CHECK_EQ(st.ro_writes, 3 + 14);
    CHECK_EQ(st.bad_accesses, 0);
    /* digest of nothing before any run */
    CHECK_EQ(u64of(d, 0, DMM_CH_DIGEST_LO), dmt64("", 0));
    CHECK_EQ(dmm_ch_last_digest(d, 0), dmt64("", 0));

    /* scratch */
    CHECK_EQ(dmm_reg_read(d, DMM_REG_SCRATCH), 0);
    dmm_reg_write(d, DMM_REG_SCRATCH, 0xDEADBEEF);
    CHECK_EQ(dmm_reg_read(d, DMM_REG_SCRATCH), 0xDEADBEEF);
    /* IRQ_ENABLE keeps bits 3:0 */
    dmm_reg_write(d, DMM_REG_IRQ_ENABLE, 0xFFFFFFFF);
    CHECK_EQ(dmm_reg_read(d, DMM_REG_IRQ_ENABLE), 0xF);
    dmm_reg_write(d, DMM_REG_IRQ_ENABLE, 0);
    /* IRQ_STATUS: writes of 1 to clear bits that are 0 do nothing */
    dmm_reg_write(d, DMM_REG_IRQ_STATUS, 0xFFFFFFFF);
    CHECK_EQ(dmm_reg_read(d, DMM_REG_IRQ_STATUS), 0);

    /* descriptor registers RW, CTRL reads 0 when idle */
    for (unsigned c = 0; c < 2; c++) {
        wr(d, c, DMM_CH_DESC_LO, 0x11111110u + c);
        wr(d, c, DMM_CH_DESC_HI, 0x22222220u + c);
        wr(d, c, DMM_CH_DESC_COUNT, 0x33u + c);
        CHECK_EQ(rd(d, c, DMM_CH_DESC_LO), 0x11111110u + c);
        CHECK_EQ(rd(d, c, DMM_CH_DESC_HI), 0x22222220u + c);
        CHECK_EQ(rd(d, c, DMM_CH_DESC_COUNT), 0x33u + c);
        CHECK_EQ(rd(d, c, DMM_CH_CTRL), 0);
        CHECK_EQ(rd(d, c, DMM_CH_STATUS), 0);
    }
    /* STATUS writes with only RO bits do nothing; CTRL with neither bit does nothing */
    wr(d, 0, DMM_CH_STATUS, 0xFFFFFFF9u);
    wr(d, 0, DMM_CH_CTRL, 0xFFFFFFFAu);
    CHECK_EQ(rd(d, 0, DMM_CH_STATUS), 0);
    dmm_get_stats(d, &st);
    CHECK_EQ(st.runs[0], 0);

    /* unknown / unaligned / out-of-BAR offsets */
    static const uint32_t badoff[] = {0x018, 0x0FC,  0x130,      0x13C, 0x170, 0x180,
                                      0xFFC, 0x1000, 0xFFFFFFFC, 0x001, 0x102, 0x143};
    unsigned nbad = sizeof(badoff) / sizeof(badoff[0]);
    for (unsigned i = 0; i < nbad; i++) {
        CHECK_EQ(dmm_reg_read(d, badoff[i]), 0xFFFFFFFFu);
        dmm_reg_write(d, badoff[i], 0);
    }
    dmm_get_stats(d, &st);
    CHECK_EQ(st.bad_accesses, 2 * nbad);
    CHECK_EQ(dmm_reg_read(d, DMM_REG_SCRATCH), 0xDEADBEEF);
    CHECK_EQ(rd(d, 1, DMM_CH_DESC_LO), 0x11111111u);

    /* a failing run, then W1C of STATUS and IRQ_STATUS, then RESET */
    go(d, 0, RING, 0); /* DESC_COUNT 0 */
    EXPECT_ERR(d, 0, DMM_ERR_DESC_COUNT, 0, RING);
    wr(d, 0, DMM_CH_STATUS, DMM_STATUS_DONE); /* DONE is not set: no change */
    CHECK(rd(d, 0, DMM_CH_STATUS) & DMM_STATUS_ERR);
    wr(d, 0, DMM_CH_STATUS, DMM_STATUS_ERR);
    CHECK_EQ(rd(d, 0, DMM_CH_STATUS), 0);                          /* code and index go with ERR */
    CHECK_EQ(u64of(d, 0, DMM_CH_ERR_ADDR_LO), RING);               /* ERR_ADDR stays */
    CHECK_EQ(dmm_reg_read(d, DMM_REG_IRQ_STATUS), DMM_IRQ_ERR(0)); /* independent */
    dmm_reg_write(d, DMM_REG_IRQ_STATUS, DMM_IRQ_DONE(0));
    CHECK_EQ(dmm_reg_read(d, DMM_REG_IRQ_STATUS), DMM_IRQ_ERR(0));
    dmm_reg_write(d, DMM_REG_IRQ_STATUS, DMM_IRQ_ERR(0));
    CHECK_EQ(dmm_reg_read(d, DMM_REG_IRQ_STATUS), 0);

    /* a good H2C run on both channels then reset channel 0 only */
    put_desc(pm, 1, RING, 0, HOSTA, 64, 0);
    go(d, 0, RING, 1);
    go(d, 1, RING, 1);
    CHECK_EQ(rd(d, 0, DMM_CH_STATUS), DMM_STATUS_DONE);
    CHECK_EQ(rd(d, 0, DMM_CH_COMPLETED), 1);
    CHECK_EQ(rd(d, 0, DMM_CH_BYTES), 64);
    CHECK_EQ(dmm_reg_read(d, DMM_REG_IRQ_STATUS), DMM_IRQ_DONE(0) | DMM_IRQ_DONE(1));
    wr(d, 0, DMM_CH_CTRL, DMM_CTRL_RESET | DMM_CTRL_RUN); /* RESET wins */
    dmm_get_stats(d, &st);
    CHECK_EQ(st.runs[0], 2);
    for (uint32_t r = 0; r < 0x30; r += 4)
        if (r != DMM_CH_DIGEST_LO && r != DMM_CH_DIGEST_HI)
            CHECK_EQ(rd(d, 0, r), 0);
    CHECK_EQ(u64of(d, 0, DMM_CH_DIGEST_LO), dmt64("", 0));
    CHECK_EQ(dmm_reg_read(d, DMM_REG_IRQ_STATUS), DMM_IRQ_DONE(1));
    CHECK_EQ(rd(d, 1, DMM_CH_STATUS), DMM_STATUS_DONE);
    CHECK_EQ(rd(d, 1, DMM_CH_DESC_COUNT), 1);
    CHECK_EQ(dmm_ch_fetched(d, 0, NULL, 0), 0);
    CHECK_EQ(dmm_ch_fetched(d, 1, NULL, 0), 32);
    wr(d, 0, DMM_CH_STATUS, DMM_STATUS_DONE);
    wr(d, 1, DMM_CH_STATUS, DMM_STATUS_DONE);
    CHECK_EQ(rd(d, 1, DMM_CH_STATUS), 0);
    CHECK_EQ(dmm_reg_read(d, DMM_REG_SCRATCH), 0xDEADBEEF); /* RESET is per channel */
    dmm_run_info ri;
    CHECK_EQ(dmm_ch_last_run(d, 2, &ri), DMM_EINVAL);
    CHECK_EQ(dmm_ch_last_digest(d, 7), 0);
    dmm_dev_free(d);
    dmm_phys_free(pm);
}

/* ---- data movement ------------------------------------------------------------------ */

static void test_h2c_c2h(void)
{
    dmm_phys *pm = mkphys();
    /* a borrowed buffer with guard bytes on both sides */
    static uint8_t big[0x3000];
    memset(big, 0xC5, sizeof(big));
    uint8_t *buf = big + 0x1000;
    fill(buf, 0x1000, 7);
    CHECK_EQ(dmm_phys_map(pm, 0x7000123, 0x1000, buf), DMM_OK); /* starts mid-page */
    dmm_dev *d = mkdev(pm, 1, 0, 64, 0);
    uint8_t hosta[0x800];
    fill(hosta, sizeof(hosta), 8);
    CHECK_EQ(dmm_phys_write(pm, HOSTA, hosta, sizeof(hosta)), DMM_OK);

    /* H2C: three SG elements of odd lengths to odd device offsets */
    uint64_t lens[3] = {0x1000, 0x123, 5};
    put_desc(pm, 1, RING, 0, 0x7000123, 0x1000, 0x10001);
    put_desc(pm, 1, RING, 1, HOSTA + 3, 0x123, 0x20000);
    put_desc(pm, 1, RING, 2, HOSTA + 0x7FB, 5, 0x11001);
    uint64_t c0 = dmm_cycles(d);
    go(d, DMM_CH_H2C, RING, 3);
    CHECK_EQ(rd(d, 0, DMM_CH_STATUS), DMM_STATUS_DONE);
    CHECK_EQ(rd(d, 0, DMM_CH_COMPLETED), 3);
    CHECK_EQ(rd(d, 0, DMM_CH_BYTES), 0x1000 + 0x123 + 5);
    CHECK_EQ(rd(d, 0, DMM_CH_BYTES_HI), 0);
    CHECK_EQ(dmm_cycles(d) - c0, cost(lens, 3));
    uint8_t dm[0x1200];
    CHECK_EQ(dmm_devmem_read(d, 0x10000, dm, 0x1200), DMM_OK);
    CHECK(dm[0] == 0);
    CHECK(memcmp(dm + 1, buf, 0x1000) == 0);
    CHECK(memcmp(dm + 0x1001, hosta + 0x7FB, 5) == 0);
    CHECK(dm[0x1006] == 0);
    CHECK_EQ(dmm_devmem_read(d, 0x20000, dm, 0x124), DMM_OK);
    CHECK(memcmp(dm, hosta + 3, 0x123) == 0 && dm[0x123] == 0);
    /* digest of the moved bytes in descriptor order, any split */
    dmt64_state s;
    dmt64_init(&s);
    dmt64_update(&s, buf, 0x1000);
    dmt64_update(&s, hosta + 3, 0x123);
    dmt64_update(&s, hosta + 0x7FB, 5);
    uint64_t want = dmt64_final(&s);
    CHECK_EQ(dmm_ch_last_digest(d, 0), want);
    CHECK_EQ(u64of(d, 0, DMM_CH_DIGEST_LO), want);
    CHECK_EQ(dmm_ch_last_bytes(d, 0), 0x1128);
    dmm_run_info ri;
    dmm_ch_last_run(d, 0, &ri);
    CHECK_EQ(ri.seq, 1);
    CHECK_EQ(ri.desc_addr, RING);
    CHECK_EQ(ri.desc_count, 3);
    CHECK_EQ(ri.end_cycle - ri.start_cycle, cost(lens, 3));
    /* the fetched snapshot is the ring */
    uint8_t snap[96], ringb[96];
    CHECK_EQ(dmm_ch_fetched(d, 0, snap, sizeof(snap)), 96);
    dmm_phys_read(pm, RING, ringb, 96);
    CHECK(memcmp(snap, ringb, 96) == 0);
    CHECK_EQ(dmm_ch_fetched(d, 0, snap, 10), 96);

    /* C2H: device pattern into the borrowed buffer, two elements */
    uint8_t pat[0x300];
    fill(pat, sizeof(pat), 9);
    CHECK_EQ(dmm_devmem_write(d, 0x40000, pat, sizeof(pat)), DMM_OK);
    put_desc(pm, 1, RING + 0x100, 0, 0x7000123 + 0xF00, 0x100, 0x40000);
    put_desc(pm, 1, RING + 0x100, 1, 0x7000123 + 1, 0x200, 0x40100);
    go(d, DMM_CH_C2H, RING + 0x100, 2);
    CHECK_EQ(rd(d, 1, DMM_CH_STATUS), DMM_STATUS_DONE);
    CHECK_EQ(rd(d, 1, DMM_CH_BYTES), 0x300);
    CHECK(memcmp(buf + 0xF00, pat, 0x100) == 0);
    CHECK(memcmp(buf + 1, pat + 0x100, 0x200) == 0);
    CHECK_EQ(dmm_ch_last_digest(d, 1), dmt64(pat, 0x300));
    /* guards untouched */
    for (size_t i = 0; i < 0x1000; i++)
        if (big[i] != 0xC5 || big[0x2000 + i] != 0xC5) {
            CHECK(!"guard byte changed");
            break;
        }
    dmm_stats st;
    dmm_get_stats(d, &st);
    CHECK_EQ(st.runs[0], 1);
    CHECK_EQ(st.runs[1], 1);
    CHECK_EQ(st.descs[0], 3);
    CHECK_EQ(st.bytes[1], 0x300);
    CHECK_EQ(st.run_errors[0] + st.run_errors[1], 0);
    /* devmem API bounds */
    CHECK_EQ(dmm_devmem_read(d, (1u << 20) - 4, dm, 4), DMM_OK);
    CHECK_EQ(dmm_devmem_read(d, (1u << 20) - 4, dm, 5), DMM_EFAULT);
    CHECK_EQ(dmm_devmem_read(d, UINT64_MAX, dm, 2), DMM_EFAULT);
    CHECK_EQ(dmm_devmem_write(d, 1u << 20, dm, 0), DMM_OK);
    CHECK_EQ(dmm_devmem_write(d, 4, dm, UINT64_MAX), DMM_EFAULT);
    dmm_dev_free(d);
    dmm_phys_free(pm);
}

/* ---- errors ------------------------------------------------------------------------ */

static void test_errors(void)
{
    dmm_phys *pm = mkphys();
    dmm_dev *d = mkdev(pm, 1, 0, 64, 0);
    uint8_t dm[64];
    uint8_t b[32];

    /* UNMAPPED at index 1: descriptor 0's bytes stay moved; index 1 moves none
     * (its range is half mapped); ERR_ADDR = first unmapped byte */
    put_desc(pm, 1, RING, 0, HOSTA, 16, 0x100);
    put_desc(pm, 1, RING, 1, HOSTA + 0x10000 - 8, 16, 0x200);
    put_desc(pm, 1, RING, 2, HOSTA, 16, 0x300);
    uint8_t pat[16];
    fill(pat, 16, 3);
    dmm_phys_write(pm, HOSTA, pat, 16);
    dmm_phys_write(pm, HOSTA + 0x10000 - 8, pat, 8);
    uint64_t c0 = dmm_cycles(d);
    go(d, 0, RING, 3);
    EXPECT_ERR(d, 0, DMM_ERR_UNMAPPED, 1, HOSTA + 0x10000);
    CHECK_EQ(rd(d, 0, DMM_CH_COMPLETED), 1);
    CHECK_EQ(rd(d, 0, DMM_CH_BYTES), 16);
    CHECK_EQ(dmm_ch_last_digest(d, 0), dmt64(pat, 16));
    uint64_t l1[1] = {16};
    CHECK_EQ(dmm_cycles(d) - c0, cost(l1, 1) + DMM_CYC_DESC);
    dmm_devmem_read(d, 0x100, dm, 16);
    CHECK(memcmp(dm, pat, 16) == 0);
    dmm_devmem_read(d, 0x200, dm, 16);
    CHECK(dm[0] == 0 && dm[7] == 0 && dm[15] == 0);
    /* the same on C2H: nothing of the faulting descriptor is written */
    uint8_t ff[16];
    memset(ff, 0xFF, 16);
    dmm_devmem_write(d, 0x200, ff, 16);
    go(d, 1, RING, 3);
    EXPECT_ERR(d, 1, DMM_ERR_UNMAPPED, 1, HOSTA + 0x10000);
    dmm_phys_read(pm, HOSTA + 0x10000 - 8, dm, 8);
    CHECK(memcmp(dm, pat, 8) == 0);

    /* ZERO_LEN at index 2: ERR_ADDR = descriptor address */
    put_desc(pm, 1, RING, 1, HOSTA, 16, 0x200);
    put_desc(pm, 1, RING, 2, HOSTA, 0, 0x300);
    go(d, 0, RING, 3);
    EXPECT_ERR(d, 0, DMM_ERR_ZERO_LEN, 2, RING + 64);
    CHECK_EQ(rd(d, 0, DMM_CH_COMPLETED), 2);

    /* MAGIC at index 1 */
    dmm_desc_encode(1, b, HOSTA, 16, 0);
    b[3] ^= 0x80;
    dmm_phys_write(pm, RING + 32, b, 32);
    go(d, 0, RING, 3);
    EXPECT_ERR(d, 0, DMM_ERR_MAGIC, 1, RING + 32);

    /* DEVMEM: end past devmem, dev_off past devmem, dev_off near 2^64 */
    put_desc(pm, 1, RING, 1, HOSTA, 17, (1u << 20) - 16);
    go(d, 0, RING, 2);
    EXPECT_ERR(d, 0, DMM_ERR_DEVMEM, 1, (1u << 20) - 16);
    put_desc(pm, 1, RING, 0, HOSTA, 16, (1u << 20) - 16); /* exactly fits */
    put_desc(pm, 1, RING, 1, HOSTA, 1, UINT64_MAX);
    go(d, 0, RING, 2);
    EXPECT_ERR(d, 0, DMM_ERR_DEVMEM, 1, UINT64_MAX);
    CHECK_EQ(rd(d, 0, DMM_CH_COMPLETED), 1);
    put_desc(pm, 1, RING, 0, HOSTA, 0xFFFFFFFFu, 0);
    go(d, 0, RING, 1);
    EXPECT_ERR(d, 0, DMM_ERR_DEVMEM, 0, 0);

    /* ALIGN: ring not 32-byte aligned */
    put_desc(pm, 1, RING, 0, HOSTA, 16, 0);
    go(d, 0, RING + 16, 1);
    EXPECT_ERR(d, 0, DMM_ERR_ALIGN, 0, RING + 16);
    CHECK_EQ(rd(d, 0, DMM_CH_COMPLETED), 0);
    CHECK_EQ(dmm_ch_fetched(d, 0, NULL, 0), 0);

    /* DESC_COUNT: 0 and above DMM_MAX_DESC; cost is the run overhead only */
    c0 = dmm_cycles(d);
    go(d, 0, RING, DMM_MAX_DESC + 1);
    EXPECT_ERR(d, 0, DMM_ERR_DESC_COUNT, 0, RING);
    CHECK_EQ(dmm_cycles(d) - c0, DMM_CYC_RUN);
    go(d, 0, 0xFFFFFFFFFFFFFFE0ull, 0xFFFFFFFFu);
    EXPECT_ERR(d, 0, DMM_ERR_DESC_COUNT, 0, 0xFFFFFFFFFFFFFFE0ull);

    /* DESC_FETCH: the ring runs off the end of its region at index 3 */
    uint64_t tail = RING + 0x10000 - 3 * 32;
    for (uint32_t i = 0; i < 3; i++)
        put_desc(pm, 1, tail, i, HOSTA, 8, 8u * i);
    go(d, 0, tail, 5);
    EXPECT_ERR(d, 0, DMM_ERR_DESC_FETCH, 3, RING + 0x10000);
    CHECK_EQ(rd(d, 0, DMM_CH_COMPLETED), 3);
    CHECK_EQ(dmm_ch_fetched(d, 0, NULL, 0), 96);
    /* a descriptor whose second half is unmapped: first unmapped byte */
    static uint8_t half[16];
    CHECK_EQ(dmm_phys_map(pm, 0x5000000, 16, half), DMM_OK);
    go(d, 0, 0x5000000, 1);
    EXPECT_ERR(d, 0, DMM_ERR_DESC_FETCH, 0, 0x5000010);

    /* ADDR_LIMIT on a 32-bit device: host >= 4 GiB, and a range crossing 4 GiB */
    dmm_dev *d32 = mkdev(pm, 1, 0, 32, 0);
    CHECK_EQ(dmm_phys_alloc(pm, G4 - 0x1000, 0x2000), DMM_OK);
    put_desc(pm, 1, RING, 0, HOSTA, 8, 0);
    put_desc(pm, 1, RING, 1, G4, 8, 0);
    go(d32, 0, RING, 2);
    EXPECT_ERR(d32, 0, DMM_ERR_ADDR_LIMIT, 1, G4);
    put_desc(pm, 1, RING, 1, G4 - 8, 16, 0);
    go(d32, 0, RING, 2);
    EXPECT_ERR(d32, 0, DMM_ERR_ADDR_LIMIT, 1, G4 - 8);
    put_desc(pm, 1, RING, 1, G4 - 16, 16, 0); /* ends exactly at 4 GiB: fine */
    go(d32, 0, RING, 2);
    CHECK_EQ(rd(d32, 0, DMM_CH_STATUS), DMM_STATUS_DONE);
    /* and the 64-bit device accepts the crossing range */
    put_desc(pm, 1, RING, 1, G4 - 8, 16, 0);
    go(d, 0, RING, 2);
    CHECK_EQ(rd(d, 0, DMM_CH_STATUS), DMM_STATUS_DONE);
    /* a ring above 4 GiB on the 32-bit device */
    put_desc(pm, 1, G4 - 32, 0, HOSTA, 8, 0);
    put_desc(pm, 1, G4, 0, HOSTA, 8, 0);
    go(d32, 0, G4 - 32, 2);
    EXPECT_ERR(d32, 0, DMM_ERR_ADDR_LIMIT, 1, G4);
    /* 64-bit device: a range wrapping past 2^64 */
    CHECK_EQ(dmm_phys_alloc(pm, UINT64_MAX - 0xFFF, 0x1000), DMM_OK);
    put_desc(pm, 1, RING, 0, UINT64_MAX - 7, 16, 0);
    go(d, 0, RING, 1);
    EXPECT_ERR(d, 0, DMM_ERR_ADDR_LIMIT, 0, UINT64_MAX - 7);
    put_desc(pm, 1, RING, 0, UINT64_MAX - 7, 8, 0); /* last byte of the space: fine */
    go(d, 0, RING, 1);
    CHECK_EQ(rd(d, 0, DMM_CH_STATUS), DMM_STATUS_DONE);
    /* a ring at the top of the space that would continue past 2^64 */
    put_desc(pm, 1, UINT64_MAX - 31, 0, HOSTA, 8, 0);
    go(d, 0, UINT64_MAX - 31, 2);
    EXPECT_ERR(d, 0, DMM_ERR_ADDR_LIMIT, 1, 0);
    CHECK_EQ(rd(d, 0, DMM_CH_COMPLETED), 1);

    dmm_stats st;
    dmm_get_stats(d, &st);
    CHECK(st.run_errors[0] >= 12);
    dmm_dev_free(d32);
    dmm_dev_free(d);
    dmm_phys_free(pm);
}

/* ---- interrupts ------------------------------------------------------------------ */

typedef struct irqctx {
    dmm_dev *d;
    int calls;
    uint32_t seen_status;
    bool ack;
} irqctx;

static void on_irq(void *p)
{
    irqctx *x = p;
    x->calls++;
    /* the device lock is not held: registers are accessible */
    x->seen_status = dmm_reg_read(x->d, DMM_REG_IRQ_STATUS);
    if (x->ack)
        dmm_reg_write(x->d, DMM_REG_IRQ_STATUS, x->seen_status);
}

static void test_irq(void)
{
    dmm_phys *pm = mkphys();
    dmm_dev *d = mkdev(pm, 1, 0, 64, 0);
    irqctx x = {.d = d};
    dmm_dev_set_irq(d, on_irq, &x);
    put_desc(pm, 1, RING, 0, HOSTA, 8, 0);

    /* disabled: status set, no line, no call */
    go(d, 0, RING, 1);
    CHECK_EQ(dmm_reg_read(d, DMM_REG_IRQ_STATUS), DMM_IRQ_DONE(0));
    CHECK(!dmm_irq_line(d));
    CHECK_EQ(x.calls, 0);
    /* enabling a different bit: still low */
    dmm_reg_write(d, DMM_REG_IRQ_ENABLE, DMM_IRQ_ERR(0));
    CHECK_EQ(x.calls, 0);
    /* enabling the pending bit raises the line: one call */
    dmm_reg_write(d, DMM_REG_IRQ_ENABLE, DMM_IRQ_ALL);
    CHECK_EQ(x.calls, 1);
    CHECK(dmm_irq_line(d));
    CHECK_EQ(x.seen_status, DMM_IRQ_DONE(0));
    /* line already high: another completion is no edge */
    go(d, 1, RING, 1);
    CHECK_EQ(x.calls, 1);
    CHECK_EQ(dmm_reg_read(d, DMM_REG_IRQ_STATUS), DMM_IRQ_DONE(0) | DMM_IRQ_DONE(1));
    /* clear one: still high; clear the other: low */
    dmm_reg_write(d, DMM_REG_IRQ_STATUS, DMM_IRQ_DONE(0));
    CHECK(dmm_irq_line(d));
    dmm_reg_write(d, DMM_REG_IRQ_STATUS, DMM_IRQ_DONE(1));
    CHECK(!dmm_irq_line(d));
    /* masking then unmasking while pending */
    dmm_reg_write(d, DMM_REG_IRQ_ENABLE, 0);
    go(d, 0, RING, 0); /* error */
    CHECK_EQ(x.calls, 1);
    dmm_reg_write(d, DMM_REG_IRQ_ENABLE, DMM_IRQ_DONE(0));
    CHECK_EQ(x.calls, 1); /* error bit is masked */
    dmm_reg_write(d, DMM_REG_IRQ_ENABLE, DMM_IRQ_ERR(0));
    CHECK_EQ(x.calls, 2);
    CHECK_EQ(x.seen_status, DMM_IRQ_ERR(0));
    /* disabling lowers the line (no call), re-enabling raises it again */
    dmm_reg_write(d, DMM_REG_IRQ_ENABLE, 0);
    CHECK(!dmm_irq_line(d));
    dmm_reg_write(d, DMM_REG_IRQ_ENABLE, DMM_IRQ_ALL);
    CHECK_EQ(x.calls, 3);
    /* RESET of the channel lowers the line */
    wr(d, 0, DMM_CH_CTRL, DMM_CTRL_RESET);
    CHECK(!dmm_irq_line(d));
    CHECK_EQ(x.calls, 3);
    /* an ISR that acknowledges: every completion is a new edge */
    x.ack = true;
    for (int i = 0; i < 5; i++)
        go(d, i & 1, RING, 1);
    CHECK_EQ(x.calls, 8);
    CHECK(!dmm_irq_line(d));
    dmm_stats st;
    dmm_get_stats(d, &st);
    CHECK_EQ(st.irq_edges, 8);
    /* no callback: edges are still counted */
    dmm_dev_set_irq(d, NULL, NULL);
    go(d, 0, RING, 1);
    CHECK(dmm_irq_line(d));
    CHECK_EQ(x.calls, 8);
    dmm_get_stats(d, &st);
    CHECK_EQ(st.irq_edges, 9);
    dmm_dev_free(d);
    dmm_phys_free(pm);
}

/* ---- deferred completion and BUSY ------------------------------------------------- */

static void test_deferred(void)
{
    dmm_phys *pm = mkphys();
    dmm_dev *d = mkdev(pm, 1, 0, 64, DMM_CFG_DEFERRED);
    irqctx x = {.d = d};
    dmm_dev_set_irq(d, on_irq, &x);
    dmm_reg_write(d, DMM_REG_IRQ_ENABLE, DMM_IRQ_ALL);
    uint8_t pat[256];
    fill(pat, sizeof(pat), 5);
    dmm_phys_write(pm, HOSTA, pat, sizeof(pat));
    put_desc(pm, 1, RING, 0, HOSTA, 256, 0);
    uint64_t lens[1] = {256};
    CHECK_EQ(dmm_next_completion(d), UINT64_MAX);
    dmm_advance(d, 1000);
    CHECK_EQ(dmm_cycles(d), 1000);
    go(d, 0, RING, 1);
    CHECK_EQ(dmm_cycles(d), 1000); /* the doorbell does not move time */
    CHECK_EQ(rd(d, 0, DMM_CH_STATUS), DMM_STATUS_BUSY);
    CHECK_EQ(rd(d, 0, DMM_CH_CTRL), DMM_CTRL_RUN);
    CHECK_EQ(rd(d, 0, DMM_CH_COMPLETED), 0);
    CHECK_EQ(dmm_next_completion(d), 1000 + cost(lens, 1));
    uint8_t dm[256];
    dmm_devmem_read(d, 0, dm, 256); /* the bytes already moved */
    CHECK(memcmp(dm, pat, 256) == 0);
    CHECK_EQ(x.calls, 0);

    /* doorbell while BUSY: ERR_BUSY, the running run continues */
    wr(d, 0, DMM_CH_DESC_LO, (uint32_t)RING + 0x40);
    wr(d, 0, DMM_CH_CTRL, DMM_CTRL_RUN);
    uint32_t s = rd(d, 0, DMM_CH_STATUS);
    CHECK_EQ(s & 7, DMM_STATUS_BUSY | DMM_STATUS_ERR);
    CHECK_EQ(DMM_STATUS_CODE(s), DMM_ERR_BUSY);
    CHECK_EQ(DMM_STATUS_INDEX(s), 0);
    CHECK_EQ(u64of(d, 0, DMM_CH_ERR_ADDR_LO), RING + 0x40);
    CHECK_EQ(x.calls, 1); /* error interrupt */
    CHECK_EQ(x.seen_status, DMM_IRQ_ERR(0));
    dmm_reg_write(d, DMM_REG_IRQ_STATUS, DMM_IRQ_ALL);
    dmm_stats st;
    dmm_get_stats(d, &st);
    CHECK_EQ(st.busy_rejects[0], 1);
    CHECK_EQ(st.runs[0], 1);

    dmm_advance(d, cost(lens, 1) - 1);
    CHECK(rd(d, 0, DMM_CH_STATUS) & DMM_STATUS_BUSY);
    CHECK_EQ(x.calls, 1);
    dmm_advance(d, 1);
    s = rd(d, 0, DMM_CH_STATUS);
    CHECK_EQ(s & 7, DMM_STATUS_DONE | DMM_STATUS_ERR); /* BUSY error stays until W1C */
    CHECK_EQ(DMM_STATUS_CODE(s), DMM_ERR_BUSY);
    CHECK_EQ(rd(d, 0, DMM_CH_COMPLETED), 1);
    CHECK_EQ(dmm_ch_last_digest(d, 0), dmt64(pat, 256));
    CHECK_EQ(x.calls, 2);
    CHECK_EQ(x.seen_status, DMM_IRQ_DONE(0));
    CHECK_EQ(dmm_next_completion(d), UINT64_MAX);
    dmm_run_info ri;
    dmm_ch_last_run(d, 0, &ri);
    CHECK_EQ(ri.start_cycle, 1000);
    CHECK_EQ(ri.end_cycle, 1000 + cost(lens, 1));

    /* both channels at once; the earlier one completes first */
    dmm_reg_write(d, DMM_REG_IRQ_STATUS, DMM_IRQ_ALL);
    put_desc(pm, 1, RING + 0x100, 0, HOSTA, 8, 0);
    go(d, 1, RING + 0x100, 1); /* cost 64+16+1 */
    go(d, 0, RING, 1);         /* cost 64+16+32 */
    CHECK_EQ(dmm_next_completion(d), dmm_cycles(d) + 81);
    dmm_advance(d, 81);
    CHECK_EQ(rd(d, 1, DMM_CH_STATUS), DMM_STATUS_DONE);
    CHECK(rd(d, 0, DMM_CH_STATUS) & DMM_STATUS_BUSY);
    dmm_advance(d, UINT64_MAX); /* saturates */
    CHECK_EQ(dmm_cycles(d), UINT64_MAX);
    CHECK_EQ(rd(d, 0, DMM_CH_STATUS) & 7, DMM_STATUS_DONE);

    /* RESET abandons a pending run: no completion, no interrupt */
    dmm_dev_free(d);
    d = mkdev(pm, 1, 0, 64, DMM_CFG_DEFERRED);
    x.d = d;
    x.calls = 0;
    dmm_dev_set_irq(d, on_irq, &x);
    dmm_reg_write(d, DMM_REG_IRQ_ENABLE, DMM_IRQ_ALL);
    go(d, 0, RING, 1);
    wr(d, 0, DMM_CH_CTRL, DMM_CTRL_RESET);
    CHECK_EQ(rd(d, 0, DMM_CH_STATUS), 0);
    CHECK_EQ(dmm_next_completion(d), UINT64_MAX);
    dmm_advance(d, 100000);
    CHECK_EQ(rd(d, 0, DMM_CH_STATUS), 0);
    CHECK_EQ(x.calls, 0);
    /* an erroring deferred run */
    go(d, 0, RING, 0);
    CHECK_EQ(rd(d, 0, DMM_CH_STATUS), DMM_STATUS_BUSY);
    dmm_advance(d, DMM_CYC_RUN);
    EXPECT_ERR(d, 0, DMM_ERR_DESC_COUNT, 0, RING);
    CHECK_EQ(x.calls, 1);
    dmm_dev_free(d);
    dmm_phys_free(pm);
}

/* ---- revision 2 and errata ----------------------------------------------------------- */

static void test_rev2(void)
{
    uint8_t b[32];
    dmm_desc ds;
    CHECK_EQ(dmm_desc_size(2), 16);
    CHECK_EQ(dmm_desc_size(9), 0);
    CHECK_EQ(dmm_desc_encode(2, b, 0x123456789ull, 0x1000, 0x2004), 16);
    CHECK_EQ(b[11], 0xD2); /* magic in len bits 31:24 */
    CHECK_EQ(b[12], 0x01); /* dev offset in dwords: 0x2004/4 = 0x801 */
    CHECK_EQ(b[13], 0x08);
    CHECK_EQ(dmm_desc_decode(2, b, &ds), DMM_OK);
    CHECK(ds.magic_ok && ds.host_addr == 0x123456789ull && ds.len == 0x1000 &&
          ds.dev_off == 0x2004);
    CHECK_EQ(dmm_desc_encode(2, b, 0, 0x1000000, 0), 0); /* len too big */
    CHECK_EQ(dmm_desc_encode(2, b, 0, 1, 2), 0);         /* dev_off not dword */
    CHECK_EQ(dmm_desc_encode(2, b, 0, 1, 1ull << 34), 0);
    CHECK_EQ(dmm_desc_encode(7, b, 0, 1, 0), 0);
    CHECK_EQ(dmm_desc_decode(7, b, &ds), DMM_EINVAL);
    CHECK_EQ(dmm_desc_encode(1, b, 0xAABBCCDDEEFF0011ull, 77, 0x99), 32);
    CHECK_EQ(dmm_desc_decode(1, b, &ds), DMM_OK);
    CHECK(ds.magic_ok && ds.host_addr == 0xAABBCCDDEEFF0011ull && ds.len == 77 &&
          ds.dev_off == 0x99);
    CHECK(b[2] == 0xC1 && b[3] == 0xD5);

    dmm_phys *pm = mkphys();
    dmm_dev *d = mkdev(pm, 2, 0, 64, 0);
    CHECK_EQ(dmm_reg_read(d, DMM_REG_ID), 0x444D4102u);
    CHECK_EQ(DMM_CAPS_DESC_SIZE(dmm_reg_read(d, DMM_REG_CAPS)), 16);
    uint8_t pat[0x40];
    fill(pat, sizeof(pat), 11);
    dmm_phys_write(pm, HOSTA, pat, sizeof(pat));
    put_desc(pm, 2, RING, 0, HOSTA, 0x20, 0x100);
    put_desc(pm, 2, RING, 1, HOSTA + 0x20, 0x13, 0x204);
    uint64_t lens[2] = {0x20, 0x13};
    uint64_t c0 = dmm_cycles(d);
    go(d, 0, RING, 2);
    CHECK_EQ(rd(d, 0, DMM_CH_STATUS), DMM_STATUS_DONE);
    CHECK_EQ(dmm_cycles(d) - c0, cost(lens, 2));
    uint8_t dm[0x40];
    dmm_devmem_read(d, 0x100, dm, 0x20);
    CHECK(memcmp(dm, pat, 0x20) == 0);
    dmm_devmem_read(d, 0x204, dm, 0x13);
    CHECK(memcmp(dm, pat + 0x20, 0x13) == 0);
    CHECK_EQ(dmm_ch_last_digest(d, 0), dmt64(pat, 0x33));
    /* 16-byte ring alignment is enough in rev 2, not in rev 1 */
    put_desc(pm, 2, RING + 0x10, 0, HOSTA, 4, 0);
    go(d, 0, RING + 0x10, 1);
    CHECK_EQ(rd(d, 0, DMM_CH_STATUS), DMM_STATUS_DONE);
    go(d, 0, RING + 0x8, 1);
    EXPECT_ERR(d, 0, DMM_ERR_ALIGN, 0, RING + 8);
    /* a revision-1 ring replayed on the revision-2 model diverges visibly */
    put_desc(pm, 1, RING, 0, HOSTA, 0x20, 0x100);
    go(d, 0, RING, 1);
    EXPECT_ERR(d, 0, DMM_ERR_MAGIC, 0, RING);
    /* ... and a revision-2 ring on the revision-1 model */
    dmm_dev *d1 = mkdev(pm, 1, 0, 64, 0);
    put_desc(pm, 2, RING, 0, HOSTA, 0x20, 0x100);
    put_desc(pm, 2, RING, 1, HOSTA, 0x20, 0x100);
    go(d1, 0, RING, 1);
    EXPECT_ERR(d1, 0, DMM_ERR_MAGIC, 0, RING);
    /* rev 2 device range check uses dev_dw * 4 */
    put_desc(pm, 2, RING, 0, HOSTA, 8, (1u << 20) - 4);
    go(d, 0, RING, 1);
    EXPECT_ERR(d, 0, DMM_ERR_DEVMEM, 0, (1u << 20) - 4);
    dmm_dev_free(d1);
    dmm_dev_free(d);
    dmm_phys_free(pm);
}

static void test_errata(void)
{
    dmm_phys *pm = mkphys();
    /* memory around the 4 GiB boundary of the 4..8 GiB window and of 0..4 GiB */
    CHECK_EQ(dmm_phys_alloc(pm, 0x1FFFFF000ull, 0x1000), DMM_OK); /* end of window 1 */
    CHECK_EQ(dmm_phys_alloc(pm, 0x100000000ull, 0x1000), DMM_OK); /* start of window 1 */
    CHECK_EQ(dmm_phys_alloc(pm, 0x200000000ull, 0x1000), DMM_OK); /* start of window 2 */
    CHECK_EQ(dmm_phys_alloc(pm, 0xFFFFF000ull, 0x1000), DMM_OK);  /* end of window 0 */
    CHECK_EQ(dmm_phys_alloc(pm, 0, 0x1000), DMM_OK);              /* start of window 0 */
    uint8_t pat[0x2000], got[0x2000];
    fill(pat, sizeof(pat), 21);

    /* no erratum: a crossing descriptor continues linearly into window 2 */
    dmm_dev *d = mkdev(pm, 1, 0, 64, 0);
    dmm_devmem_write(d, 0, pat, 0x2000);
    put_desc(pm, 1, RING, 0, 0x1FFFFF800ull, 0x1000, 0);
    go(d, 1, RING, 1);
    CHECK_EQ(rd(d, 1, DMM_CH_STATUS), DMM_STATUS_DONE);
    dmm_phys_read(pm, 0x200000000ull, got, 0x800);
    CHECK(memcmp(got, pat + 0x800, 0x800) == 0);
    dmm_dev_free(d);

    /* 4G_WRAP: the same descriptor wraps to the start of window 1 */
    d = mkdev(pm, 1, DMM_ERRATUM_4G_WRAP, 64, 0);
    dmm_devmem_write(d, 0, pat + 0x1000, 0x1000);
    go(d, 1, RING, 1);
    CHECK_EQ(rd(d, 1, DMM_CH_STATUS), DMM_STATUS_DONE);
    CHECK_EQ(rd(d, 1, DMM_CH_BYTES), 0x1000);
    dmm_phys_read(pm, 0x1FFFFF800ull, got, 0x800);
    CHECK(memcmp(got, pat + 0x1000, 0x800) == 0);
    dmm_phys_read(pm, 0x100000000ull, got, 0x800);
    CHECK(memcmp(got, pat + 0x1800, 0x800) == 0);
    dmm_phys_read(pm, 0x200000000ull, got, 0x800); /* window 2 untouched */
    CHECK(memcmp(got, pat + 0x800, 0x800) == 0);
    CHECK_EQ(dmm_ch_last_digest(d, 1), dmt64(pat + 0x1000, 0x1000));
    /* H2C reads the wrapped bytes back in order */
    go(d, 0, RING, 1);
    dmm_devmem_read(d, 0, got, 0x1000);
    CHECK(memcmp(got, pat + 0x1000, 0x1000) == 0);
    /* the wrapped part unmapped: ERR_ADDR is the wrapped address */
    put_desc(pm, 1, RING, 0, 0x1FFFFF800ull, 0x1801, 0);
    go(d, 1, RING, 1);
    EXPECT_ERR(d, 1, DMM_ERR_UNMAPPED, 0, 0x100001000ull);
    /* wrap inside the top window of the space: no overflow, no ADDR_LIMIT */
    CHECK_EQ(dmm_phys_alloc(pm, 0xFFFFFFFF00000000ull, 0x1000), DMM_OK);
    CHECK_EQ(dmm_phys_alloc(pm, UINT64_MAX - 0xFFF, 0x1000), DMM_OK);
    put_desc(pm, 1, RING, 0, UINT64_MAX - 7, 16, 0);
    dmm_devmem_write(d, 0, pat, 16);
    go(d, 1, RING, 1);
    CHECK_EQ(rd(d, 1, DMM_CH_STATUS), DMM_STATUS_DONE);
    dmm_phys_read(pm, 0xFFFFFFFF00000000ull, got, 8);
    CHECK(memcmp(got, pat + 8, 8) == 0);
    dmm_dev_free(d);

    /* 4G_WRAP on a 32-bit device: crossing 4 GiB wraps to 0 instead of ADDR_LIMIT */
    d = mkdev(pm, 1, DMM_ERRATUM_4G_WRAP, 32, 0);
    put_desc(pm, 1, RING, 0, 0xFFFFFFF8ull, 16, 0);
    dmm_devmem_write(d, 0, pat, 16);
    go(d, 1, RING, 1);
    CHECK_EQ(rd(d, 1, DMM_CH_STATUS), DMM_STATUS_DONE);
    dmm_phys_read(pm, 0, got, 8);
    CHECK(memcmp(got, pat + 8, 8) == 0);
    put_desc(pm, 1, RING, 0, 0x100000000ull, 16, 0); /* above 4 GiB: still an error */
    go(d, 1, RING, 1);
    EXPECT_ERR(d, 1, DMM_ERR_ADDR_LIMIT, 0, 0x100000000ull);
    dmm_dev_free(d);

    /* ADDR_TRUNC on a 32-bit device: high bits dropped */
    d = mkdev(pm, 1, DMM_ERRATUM_ADDR_TRUNC, 32, 0);
    CHECK_EQ(DMM_CAPS_ERRATA(dmm_reg_read(d, DMM_REG_CAPS)), DMM_ERRATUM_ADDR_TRUNC);
    put_desc(pm, 1, RING, 0, 0x700000100ull, 16, 0);
    dmm_devmem_write(d, 0, pat + 0x100, 16);
    go(d, 1, RING, 1);
    CHECK_EQ(rd(d, 1, DMM_CH_STATUS), DMM_STATUS_DONE);
    dmm_phys_read(pm, 0x100, got, 16);
    CHECK(memcmp(got, pat + 0x100, 16) == 0);
    /* crossing 4 GiB continues at 0 */
    put_desc(pm, 1, RING, 0, 0xFFFFFFF8ull, 16, 0);
    dmm_devmem_write(d, 0, pat + 0x200, 16);
    go(d, 1, RING, 1);
    dmm_phys_read(pm, 0, got, 8);
    CHECK(memcmp(got, pat + 0x208, 8) == 0);
    /* the ring address is truncated too */
    go(d, 1, 0x500000000ull + RING, 1);
    CHECK_EQ(rd(d, 1, DMM_CH_STATUS), DMM_STATUS_DONE);
    dmm_run_info ri;
    dmm_ch_last_run(d, 1, &ri);
    CHECK_EQ(ri.desc_addr, 0x500000000ull + RING);
    dmm_dev_free(d);

    /* LEN_ROUND: lengths rounded down to a multiple of 4; 1..3 moves nothing */
    d = mkdev(pm, 1, DMM_ERRATUM_LEN_ROUND, 64, 0);
    dmm_phys_write(pm, HOSTA, pat, 64);
    uint8_t z[64] = {0};
    dmm_devmem_write(d, 0, z, 64);
    put_desc(pm, 1, RING, 0, HOSTA, 7, 0);
    put_desc(pm, 1, RING, 1, HOSTA + 8, 3, 16);
    put_desc(pm, 1, RING, 2, HOSTA + 16, 9, 32);
    uint64_t lens[3] = {4, 0, 8};
    uint64_t c0 = dmm_cycles(d);
    go(d, 0, RING, 3);
    CHECK_EQ(rd(d, 0, DMM_CH_STATUS), DMM_STATUS_DONE);
    CHECK_EQ(rd(d, 0, DMM_CH_COMPLETED), 3);
    CHECK_EQ(rd(d, 0, DMM_CH_BYTES), 12);
    CHECK_EQ(dmm_cycles(d) - c0, cost(lens, 3));
    dmm_devmem_read(d, 0, got, 48);
    CHECK(memcmp(got, pat, 4) == 0 && got[4] == 0);
    CHECK(got[16] == 0);
    CHECK(memcmp(got + 32, pat + 16, 8) == 0 && got[40] == 0);
    dmt64_state s;
    dmt64_init(&s);
    dmt64_update(&s, pat, 4);
    dmt64_update(&s, pat + 16, 8);
    CHECK_EQ(dmm_ch_last_digest(d, 0), dmt64_final(&s));
    /* the rounded-to-zero descriptor is not even address-checked */
    put_desc(pm, 1, RING, 0, 0xDEAD00000000ull, 2, UINT64_MAX);
    go(d, 0, RING, 1);
    CHECK_EQ(rd(d, 0, DMM_CH_STATUS), DMM_STATUS_DONE);
    /* but a real zero length is still an error */
    put_desc(pm, 1, RING, 0, HOSTA, 0, 0);
    go(d, 0, RING, 1);
    EXPECT_ERR(d, 0, DMM_ERR_ZERO_LEN, 0, RING);
    dmm_dev_free(d);
    /* without the erratum, 7 bytes are 7 bytes */
    d = mkdev(pm, 1, 0, 64, 0);
    put_desc(pm, 1, RING, 0, HOSTA, 7, 0);
    go(d, 0, RING, 1);
    CHECK_EQ(rd(d, 0, DMM_CH_BYTES), 7);
    dmm_dev_free(d);
    dmm_phys_free(pm);
}

/* ---- hostile programming ------------------------------------------------------------- */

static void test_self_ref(void)
{
    dmm_phys *pm = mkphys();
    dmm_dev *d = mkdev(pm, 1, 0, 64, 0);
    /* C2H descriptor 0 overwrites the whole ring (including descriptor 1)
     * with garbage; descriptor 1 still runs as fetched */
    uint8_t garbage[64];
    memset(garbage, 0xA5, sizeof(garbage));
    dmm_devmem_write(d, 0x1000, garbage, 64);
    uint8_t pat[16];
    fill(pat, 16, 33);
    dmm_devmem_write(d, 0x2000, pat, 16);
    put_desc(pm, 1, RING, 0, RING, 64, 0x1000);
    put_desc(pm, 1, RING, 1, HOSTA, 16, 0x2000);
    uint8_t ring_before[64];
    dmm_phys_read(pm, RING, ring_before, 64);
    go(d, 1, RING, 2);
    CHECK_EQ(rd(d, 1, DMM_CH_STATUS), DMM_STATUS_DONE);
    CHECK_EQ(rd(d, 1, DMM_CH_COMPLETED), 2);
    uint8_t got[64];
    dmm_phys_read(pm, HOSTA, got, 16);
    CHECK(memcmp(got, pat, 16) == 0);
    dmm_phys_read(pm, RING, got, 64);
    CHECK(memcmp(got, garbage, 64) == 0);
    /* the snapshot shows what was fetched, not what is there now */
    CHECK_EQ(dmm_ch_fetched(d, 1, got, 64), 64);
    CHECK(memcmp(got, ring_before, 64) == 0);
    /* the next doorbell fetches the garbage */
    go(d, 1, RING, 2);
    EXPECT_ERR(d, 1, DMM_ERR_MAGIC, 0, RING);
    /* H2C reading its own ring: the digest is of the ring bytes */
    put_desc(pm, 1, RING, 0, RING, 32, 0);
    dmm_phys_read(pm, RING, ring_before, 32);
    go(d, 0, RING, 1);
    CHECK_EQ(dmm_ch_last_digest(d, 0), dmt64(ring_before, 32));
    /* a ring of 4096 identical self-overwriting descriptors (max count) */
    CHECK_EQ(dmm_phys_alloc(pm, 0x400000, DMM_MAX_DESC * 32), DMM_OK);
    for (uint32_t i = 0; i < DMM_MAX_DESC; i++)
        put_desc(pm, 1, 0x400000, i, 0x400000, DMM_MAX_DESC * 32, 0);
    go(d, 1, 0x400000, DMM_MAX_DESC);
    CHECK_EQ(rd(d, 1, DMM_CH_STATUS), DMM_STATUS_DONE);
    CHECK_EQ(rd(d, 1, DMM_CH_COMPLETED), DMM_MAX_DESC);
    CHECK_EQ(dmm_ch_last_bytes(d, 1), (uint64_t)DMM_MAX_DESC * DMM_MAX_DESC * 32);
    CHECK_EQ(rd(d, 1, DMM_CH_BYTES_HI), ((uint64_t)DMM_MAX_DESC * DMM_MAX_DESC * 32) >> 32);
    dmm_dev_free(d);
    dmm_phys_free(pm);
}

/* Everything near 2^64 and lengths that wrap. */
static void test_hostile_addresses(void)
{
    dmm_phys *pm = mkphys();
    CHECK_EQ(dmm_phys_alloc(pm, UINT64_MAX - 0xFFF, 0x1000), DMM_OK);
    static const uint32_t errata[] = {0, DMM_ERRATUM_4G_WRAP, DMM_ERRATUM_ADDR_TRUNC,
                                      DMM_ERRATA_ALL};
    static const uint64_t hosts[] = {UINT64_MAX,
                                     UINT64_MAX - 1,
                                     UINT64_MAX - 0xFFF,
                                     UINT64_MAX - 15,
                                     0xFFFFFFFF00000000ull,
                                     0xFFFFFFFFull,
                                     0,
                                     HOSTA + 0xFFFF};
    static const uint32_t lens[] = {1, 2, 15, 16, 0x1000, 0x1001, 0xFFFFFFFFu, 0x80000000u};
    static const uint64_t devs[] = {0, 0xFFFFF, 0x100000, UINT64_MAX, UINT64_MAX - 3};
    for (unsigned e = 0; e < 4; e++)
        for (unsigned bits = 32; bits <= 64; bits += 16) {
            dmm_dev *d = mkdev(pm, 1, errata[e], bits, 0);
            for (unsigned h = 0; h < 8; h++)
                for (unsigned l = 0; l < 8; l++)
                    for (unsigned v = 0; v < 5; v++)
                        for (unsigned c = 0; c < 2; c++) {
                            put_desc(pm, 1, RING, 0, hosts[h], lens[l], devs[v]);
                            go(d, c, RING, 1);
                            uint32_t s = rd(d, c, DMM_CH_STATUS);
                            CHECK((s & 7) == DMM_STATUS_DONE || (s & 7) == DMM_STATUS_ERR);
                            CHECK(DMM_STATUS_CODE(s) <= DMM_ERR_BUSY);
                            if (s & DMM_STATUS_DONE)
                                CHECK_EQ(rd(d, c, DMM_CH_BYTES), (errata[e] & DMM_ERRATUM_LEN_ROUND)
                                                                     ? lens[l] & ~3u
                                                                     : lens[l]);
                        }
            /* rings at the top of the space */
            for (uint64_t r = UINT64_MAX - 0x1F; r > UINT64_MAX - 0x200; r -= 0x20) {
                go(d, 0, r, DMM_MAX_DESC);
                CHECK(rd(d, 0, DMM_CH_STATUS) & DMM_STATUS_ERR);
            }
            dmm_dev_free(d);
        }
    /* 32-bit device given each address above 4 GiB: ADDR_LIMIT, never truncated */
    dmm_dev *d = mkdev(pm, 1, 0, 32, 0);
    CHECK_EQ(dmm_phys_alloc(pm, 0x100001000ull, 0x1000), DMM_OK);
    uint8_t z[16] = {0}, got[16], ones[16];
    memset(ones, 0xFF, sizeof(ones));
    dmm_devmem_write(d, 0, ones, 16);
    put_desc(pm, 1, RING, 0, 0x100001000ull, 16, 0);
    go(d, 1, RING, 1);
    EXPECT_ERR(d, 1, DMM_ERR_ADDR_LIMIT, 0, 0x100001000ull);
    dmm_phys_read(pm, 0x100001000ull, got, 16);
    CHECK(memcmp(got, z, 16) == 0);
    dmm_dev_free(d);
    dmm_phys_free(pm);
}

/* Random register writes over random descriptor memory. */
typedef struct fuzz_out {
    uint64_t digest; /* of registers, memories, cycles, stats */
} fuzz_out;

static uint64_t fuzz_run(uint64_t seed, unsigned iters, uint32_t rev, uint32_t errata,
                         uint32_t bits, uint32_t flags)
{
    rng_state = seed;
    dmm_phys *pm = dmm_phys_new();
    /* guard-banded borrowed region */
    static uint8_t big[3 * 0x2000];
    memset(big, 0x3C, sizeof(big));
    uint8_t *win = big + 0x2000;
    CHECK_EQ(dmm_phys_alloc(pm, 0, 0x4000), DMM_OK); /* rings + data */
    CHECK_EQ(dmm_phys_map(pm, 0x4000, 0x2000, win), DMM_OK);
    CHECK_EQ(dmm_phys_alloc(pm, 0xFFFFF000ull, 0x2000), DMM_OK); /* spans 4 GiB */
    CHECK_EQ(dmm_phys_alloc(pm, UINT64_MAX - 0x1FFF, 0x2000), DMM_OK);
    dmm_config cfg;
    dmm_config_default(&cfg);
    cfg.revision = rev;
    cfg.errata = errata;
    cfg.addr_bits = bits;
    cfg.devmem_size = 0x10000;
    cfg.flags = flags;
    dmm_dev *d = dmm_dev_new(&cfg, pm);
    CHECK(d != NULL);
    irqctx x = {.d = d, .ack = true};
    dmm_dev_set_irq(d, on_irq, &x);
    static const uint64_t bases[] = {0, 0x4000, 0xFFFFF000ull, UINT64_MAX - 0x1FFF};
    const size_t dsz = dmm_desc_size(rev);

    for (unsigned it = 0; it < iters; it++) {
        uint64_t r = rnd();
        unsigned op = (unsigned)(r % 16);
        unsigned c = (unsigned)((r >> 8) & 1);
        if (op < 4) {
            /* scribble plausible or random descriptors somewhere */
            uint64_t at = bases[(r >> 16) % 4] + (rnd() % 0x2000);
            for (unsigned k = 0; k < 8; k++) {
                uint8_t b[32];
                uint64_t q = rnd();
                if (q & 1) {
                    for (unsigned i = 0; i < 32; i++)
                        b[i] = (uint8_t)rnd();
                } else {
                    uint64_t host = bases[(q >> 1) % 4] + (rnd() % 0x2400);
                    if ((q >> 5) % 8 == 0)
                        host = rnd();
                    uint32_t len = (uint32_t)(rnd() % 0x900);
                    if ((q >> 9) % 16 == 0)
                        len = (uint32_t)rnd();
                    uint64_t dev = rnd() % 0x10400;
                    if (rev == 2)
                        dev &= ~3ull;
                    if ((q >> 13) % 16 == 0)
                        dev = rnd();
                    if (!dmm_desc_encode(rev, b, host, len & (rev == 2 ? 0xFFFFFFu : ~0u),
                                         rev == 2 ? dev & 0x3FFFFFFFCull : dev))
                        continue;
                }
                dmm_phys_write(pm, at + k * dsz, b, dsz); /* may fail: fine */
            }
        } else if (op < 8) {
            /* point the ring somewhere, mostly aligned into memory */
            uint64_t ring = bases[(r >> 16) % 4] + ((rnd() % 0x2000) & ~(uint64_t)(dsz - 1));
            if ((r >> 20) % 8 == 0)
                ring = rnd();
            uint32_t cnt = (uint32_t)(rnd() % 24);
            if ((r >> 24) % 32 == 0)
                cnt = (uint32_t)rnd();
            wr(d, c, DMM_CH_DESC_LO, (uint32_t)ring);
            wr(d, c, DMM_CH_DESC_HI, (uint32_t)(ring >> 32));
            wr(d, c, DMM_CH_DESC_COUNT, cnt);
        } else if (op < 11) {
            wr(d, c, DMM_CH_CTRL, (r >> 32) % 8 == 0 ? DMM_CTRL_RESET : DMM_CTRL_RUN);
        } else if (op < 14) {
            /* any register, any value */
            uint32_t off = (uint32_t)(rnd() % 0x1100);
            if ((r >> 40) & 1)
                off &= ~3u;
            dmm_reg_write(d, off, (uint32_t)rnd());
        } else if (op == 14) {
            dmm_advance(d, rnd() % 2000);
        } else {
            /* the host side pokes device memory too */
            uint8_t b[16];
            for (unsigned i = 0; i < 16; i++)
                b[i] = (uint8_t)rnd();
            dmm_devmem_write(d, rnd() % 0x10000, b, 16);
        }
        /* invariants */
        for (unsigned k = 0; k < 2; k++) {
            uint32_t s = rd(d, k, DMM_CH_STATUS);
            if (DMM_STATUS_CODE(s) > DMM_ERR_BUSY || DMM_STATUS_INDEX(s) > DMM_MAX_DESC ||
                (s & 0xF8u) != 0 || rd(d, k, DMM_CH_COMPLETED) > DMM_MAX_DESC) {
                CHECK(!"fuzz: status invariant");
                it = iters;
            }
        }
    }
    for (size_t i = 0; i < 0x2000; i++)
        if (big[i] != 0x3C || big[0x4000 + i] != 0x3C) {
            CHECK(!"fuzz: guard bytes changed");
            break;
        }
    /* fold the whole observable state into one value */
    dmt64_state s;
    dmt64_init(&s);
    for (uint32_t off = 0; off < 0x180; off += 4) {
        uint32_t v = dmm_reg_read(d, off);
        dmt64_update(&s, &v, 4);
    }
    static uint8_t mem[0x10000];
    dmm_devmem_read(d, 0, mem, 0x10000);
    dmt64_update(&s, mem, 0x10000);
    for (unsigned b = 0; b < 4; b++) {
        CHECK_EQ(dmm_phys_read(pm, bases[b], mem, 0x2000), DMM_OK);
        dmt64_update(&s, mem, 0x2000);
    }
    dmm_phys_read(pm, 0x2000, mem, 0x2000);
    dmt64_update(&s, mem, 0x2000);
    uint64_t cyc = dmm_cycles(d);
    dmt64_update(&s, &cyc, 8);
    dmm_stats st;
    dmm_get_stats(d, &st);
    dmt64_update(&s, &st, sizeof(st));
    for (unsigned k = 0; k < 2; k++) {
        dmm_run_info ri;
        dmm_ch_last_run(d, k, &ri);
        dmt64_update(&s, &ri, sizeof(ri));
    }
    dmt64_update(&s, &x.calls, sizeof(x.calls));
    CHECK(st.runs[0] + st.runs[1] > 100);
    dmm_dev_free(d);
    dmm_phys_free(pm);
    return dmt64_final(&s);
}

static void test_fuzz(void)
{
    /* 100k random operations per configuration, each run twice: same result */
    static const struct {
        uint32_t rev, errata, bits, flags;
    } cf[] = {{1, 0, 64, 0},
              {2, DMM_ERRATA_ALL, 32, 0},
              {1, DMM_ERRATUM_4G_WRAP, 32, DMM_CFG_DEFERRED},
              {2, DMM_ERRATUM_ADDR_TRUNC | DMM_ERRATUM_LEN_ROUND, 40, DMM_CFG_DEFERRED}};
    for (unsigned i = 0; i < 4; i++) {
        uint64_t a = fuzz_run(1000 + i, 100000, cf[i].rev, cf[i].errata, cf[i].bits, cf[i].flags);
        uint64_t b = fuzz_run(1000 + i, 100000, cf[i].rev, cf[i].errata, cf[i].bits, cf[i].flags);
        CHECK_EQ(a, b);
        if (i == 0)
            CHECK(a != fuzz_run(999, 100000, cf[i].rev, cf[i].errata, cf[i].bits, cf[i].flags));
    }
}

/* ---- determinism ----------------------------------------------------------------- */

typedef struct snap {
    uint8_t devmem[0x20000];
    uint8_t host[0x10000];
    uint8_t ring[0x1000];
    uint32_t regs[0x180 / 4];
    uint64_t cycles, dig[2];
    dmm_stats st;
} snap;

static void scripted(snap *out)
{
    dmm_phys *pm = mkphys();
    dmm_dev *d = mkdev(pm, 1, DMM_ERRATUM_LEN_ROUND, 64, 0);
    irqctx x = {.d = d, .ack = true};
    dmm_dev_set_irq(d, on_irq, &x);
    dmm_reg_write(d, DMM_REG_IRQ_ENABLE, DMM_IRQ_ALL);
    rng_state = 77;
    uint8_t pat[0x10000];
    fill(pat, sizeof(pat), 77);
    dmm_phys_write(pm, HOSTA, pat, sizeof(pat));
    for (unsigned round = 0; round < 200; round++) {
        unsigned n = 1 + (unsigned)(rnd() % 16);
        for (unsigned i = 0; i < n; i++)
            put_desc(pm, 1, RING, i, HOSTA + rnd() % 0xF000, (uint32_t)(1 + rnd() % 0x1000),
                     rnd() % 0x1F000);
        if (round % 17 == 0) /* a bad one now and then */
            put_desc(pm, 1, RING, n / 2, 0x9999999999ull, 16, 0);
        go(d, round & 1, RING, n);
    }
    dmm_devmem_read(d, 0, out->devmem, sizeof(out->devmem));
    dmm_phys_read(pm, HOSTA, out->host, sizeof(out->host));
    dmm_phys_read(pm, RING, out->ring, sizeof(out->ring));
    for (uint32_t i = 0; i < 0x180 / 4; i++)
        out->regs[i] = dmm_reg_read(d, i * 4);
    out->cycles = dmm_cycles(d);
    out->dig[0] = dmm_ch_last_digest(d, 0);
    out->dig[1] = dmm_ch_last_digest(d, 1);
    dmm_get_stats(d, &out->st);
    CHECK(x.calls > 100);
    dmm_dev_free(d);
    dmm_phys_free(pm);
}

static void test_determinism(void)
{
    static snap a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0x55, sizeof(b));
    scripted(&a);
    scripted(&b);
    CHECK(memcmp(a.devmem, b.devmem, sizeof(a.devmem)) == 0);
    CHECK(memcmp(a.host, b.host, sizeof(a.host)) == 0);
    CHECK(memcmp(a.ring, b.ring, sizeof(a.ring)) == 0);
    CHECK(memcmp(a.regs, b.regs, sizeof(a.regs)) == 0);
    CHECK_EQ(a.cycles, b.cycles);
    CHECK_EQ(a.dig[0], b.dig[0]);
    CHECK_EQ(a.dig[1], b.dig[1]);
    CHECK(memcmp(&a.st, &b.st, sizeof(a.st)) == 0);
    CHECK(a.st.run_errors[0] + a.st.run_errors[1] > 0);
    CHECK(a.cycles > 200 * DMM_CYC_RUN);
}

static void test_names(void)
{
    CHECK(strcmp(dmm_reg_name(DMM_REG_IRQ_STATUS), "IRQ_STATUS") == 0);
    CHECK(strcmp(dmm_reg_name(DMM_CH_BASE(1) + DMM_CH_DESC_LO), "CH1_DESC_LO") == 0);
    CHECK(strcmp(dmm_reg_name(DMM_CH_BASE(0) + DMM_CH_DIGEST_HI), "CH0_DIGEST_HI") == 0);
    CHECK(dmm_reg_doc(DMM_CH_BASE(0) + DMM_CH_CTRL) != NULL);
    /* exactly the decoded offsets have names */
    dmm_phys *pm = dmm_phys_new();
    dmm_dev *d = mkdev(pm, 1, 0, 64, 0);
    unsigned named = 0;
    for (uint32_t off = 0; off < DMM_BAR_SIZE + 8; off++) {
        dmm_stats a, b;
        dmm_get_stats(d, &a);
        (void)dmm_reg_read(d, off);
        dmm_get_stats(d, &b);
        bool decoded = b.bad_accesses == a.bad_accesses;
        CHECK_EQ(decoded, dmm_reg_name(off) != NULL);
        CHECK_EQ(decoded, dmm_reg_doc(off) != NULL);
        named += decoded;
    }
    CHECK_EQ(named, 6 + 2 * 12);
    dmm_dev_free(d);
    dmm_phys_free(pm);
    CHECK(strcmp(dmm_err_name(DMM_ERR_NONE), "NONE") == 0);
    CHECK(strcmp(dmm_err_name(DMM_ERR_DESC_FETCH), "DESC_FETCH") == 0);
    CHECK(strcmp(dmm_err_name(DMM_ERR_BUSY), "BUSY") == 0);
    CHECK(dmm_err_name(10) == NULL);
}

/* ---- threads ------------------------------------------------------------------------ */

typedef struct thr {
    dmm_phys *pm;
    dmm_dev *d;
    unsigned id;
    int bad;
} thr;

static void *phys_worker(void *p)
{
    thr *t = p;
    uint64_t base = 0x10000000ull * (t->id + 1);
    uint8_t w[256], r[256];
    for (unsigned i = 0; i < 2000; i++) {
        uint64_t a = base + (uint64_t)(i % 64) * 0x1000;
        if (dmm_phys_alloc(t->pm, a, 256) != DMM_OK) {
            t->bad++;
            continue;
        }
        memset(w, (int)(i + t->id), sizeof(w));
        if (dmm_phys_write(t->pm, a, w, 256) != DMM_OK || dmm_phys_read(t->pm, a, r, 256) != 0 ||
            memcmp(w, r, 256) != 0)
            t->bad++;
        if (dmm_phys_unmap(t->pm, a) != DMM_OK)
            t->bad++;
    }
    return NULL;
}

static void *dev_worker(void *p)
{
    thr *t = p;
    for (unsigned i = 0; i < 2000; i++) {
        go(t->d, t->id & 1, RING + 0x100 * (t->id & 1), 1);
        (void)dmm_reg_read(t->d, DMM_REG_IRQ_STATUS);
        dmm_reg_write(t->d, DMM_REG_IRQ_STATUS, DMM_IRQ_ALL);
    }
    return NULL;
}

static void test_threads(void)
{
    dmm_phys *pm = mkphys();
    dmm_dev *d = mkdev(pm, 1, 0, 64, 0);
    put_desc(pm, 1, RING, 0, HOSTA, 64, 0);
    put_desc(pm, 1, RING + 0x100, 0, HOSTA + 0x100, 64, 0x100);
    thr t[4];
    pthread_t th[4];
    for (unsigned i = 0; i < 4; i++) {
        t[i] = (thr){.pm = pm, .d = d, .id = i};
        pthread_create(&th[i], NULL, i < 2 ? phys_worker : dev_worker, &t[i]);
    }
    for (unsigned i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(t[0].bad + t[1].bad, 0);
    dmm_stats st;
    dmm_get_stats(d, &st);
    CHECK_EQ(st.runs[0] + st.runs[1], 4000);
    CHECK_EQ(st.bytes[0] + st.bytes[1], 4000 * 64);
    CHECK_EQ(dmm_cycles(d), 4000ull * (DMM_CYC_RUN + DMM_CYC_DESC + 8));
    CHECK_EQ(dmm_phys_region_count(pm), 2);
    dmm_dev_free(d);
    dmm_phys_free(pm);
}

/* The digest register is computed when read, not during the run (dev.c):
 * it is still the digest of the bytes the run moved when device memory is
 * written over them before the read - by the host, by a later descriptor of
 * the same run, by the other channel; dmm_ch_last_run_lazy / run_digest
 * give it as long as the run is the channel's newest, and not after. */
static void test_lazy_digest(void)
{
    dmm_phys *pm = mkphys();
    dmm_dev *d = mkdev(pm, 1, 0, 64, 0);
    uint8_t a[0x400], b[0x400], z[0x400];
    fill(a, sizeof a, 21);
    fill(b, sizeof b, 22);
    memset(z, 0x5A, sizeof z);
    CHECK_EQ(dmm_phys_write(pm, HOSTA, a, sizeof a), DMM_OK);
    CHECK_EQ(dmm_phys_write(pm, HOSTA + 0x400, b, sizeof b), DMM_OK);

    /* H2C a -> devmem 0; the host overwrites it before DIGEST is read */
    put_desc(pm, 1, RING, 0, HOSTA, 0x400, 0);
    go(d, DMM_CH_H2C, RING, 1);
    dmm_run_info ri;
    bool later = false;
    CHECK_EQ(dmm_ch_last_run_lazy(d, 0, &ri, &later), DMM_OK);
    CHECK(later);
    CHECK_EQ(ri.bytes, 0x400);
    CHECK_EQ(dmm_devmem_write(d, 0x100, z, 0x10), DMM_OK);
    CHECK_EQ(u64of(d, 0, DMM_CH_DIGEST_LO), dmt64(a, 0x400));
    uint64_t v = 0;
    CHECK_EQ(dmm_ch_run_digest(d, 0, ri.seq, &v), DMM_OK);
    CHECK_EQ(v, dmt64(a, 0x400));
    CHECK_EQ(dmm_ch_last_run_lazy(d, 0, &ri, &later), DMM_OK);
    CHECK(!later);
    CHECK_EQ(ri.digest, dmt64(a, 0x400));

    /* two descriptors onto the same device memory: a, then b over it */
    put_desc(pm, 1, RING, 0, HOSTA, 0x400, 0x1000);
    put_desc(pm, 1, RING, 1, HOSTA + 0x400, 0x400, 0x1000);
    go(d, DMM_CH_H2C, RING, 2);
    dmt64_state s;
    dmt64_init(&s);
    dmt64_update(&s, a, 0x400);
    dmt64_update(&s, b, 0x400);
    CHECK_EQ(dmm_ch_last_digest(d, 0), dmt64_final(&s));

    /* C2H reads devmem 0x2000 (b); H2C then writes a over it: the C2H
     * digest stays b's, and the replaced H2C run's digest is gone */
    CHECK_EQ(dmm_devmem_write(d, 0x2000, b, 0x400), DMM_OK);
    put_desc(pm, 1, RING + 0x100, 0, HOSTA + 0x800, 0x400, 0x2000);
    go(d, DMM_CH_C2H, RING + 0x100, 1);
    dmm_run_info rc;
    CHECK_EQ(dmm_ch_last_run_lazy(d, 1, &rc, &later), DMM_OK);
    CHECK(later);
    CHECK_EQ(dmm_ch_last_run_lazy(d, 0, &ri, &later), DMM_OK);
    put_desc(pm, 1, RING, 0, HOSTA, 0x400, 0x2000);
    go(d, DMM_CH_H2C, RING, 1);
    CHECK_EQ(dmm_ch_run_digest(d, 0, ri.seq, &v), DMM_EINVAL);
    CHECK_EQ(dmm_ch_run_digest(d, 1, rc.seq, &v), DMM_OK);
    CHECK_EQ(v, dmt64(b, 0x400));
    CHECK_EQ(u64of(d, 1, DMM_CH_DIGEST_LO), dmt64(b, 0x400));
    CHECK_EQ(u64of(d, 0, DMM_CH_DIGEST_LO), dmt64(a, 0x400));

    /* RESET: back to the empty digest */
    go(d, DMM_CH_H2C, RING, 1);
    wr(d, 0, DMM_CH_CTRL, DMM_CTRL_RESET);
    CHECK_EQ(u64of(d, 0, DMM_CH_DIGEST_LO), dmt64("", 0));
    CHECK_EQ(dmm_ch_last_run_lazy(d, 0, &ri, &later), DMM_OK);
    CHECK(!later);

    /* deferred: pending until completion, then the digest of the bytes moved */
    dmm_dev_free(d);
    d = mkdev(pm, 1, 0, 64, DMM_CFG_DEFERRED);
    put_desc(pm, 1, RING, 0, HOSTA, 0x400, 0x3000);
    go(d, DMM_CH_H2C, RING, 1);
    CHECK_EQ(dmm_ch_last_run_lazy(d, 0, &ri, &later), DMM_OK);
    CHECK_EQ(dmm_ch_run_digest(d, 0, ri.seq, &v), DMM_EINVAL); /* still running */
    CHECK_EQ(dmm_devmem_write(d, 0x3000, z, 0x400), DMM_OK);
    dmm_advance(d, 1u << 20);
    CHECK_EQ(dmm_ch_last_run_lazy(d, 0, &ri, &later), DMM_OK);
    CHECK_EQ(dmm_ch_run_digest(d, 0, ri.seq, &v), DMM_OK);
    CHECK_EQ(v, dmt64(a, 0x400));
    dmm_dev_free(d);
    dmm_phys_free(pm);
}

/* The model keeps the last digest it computed with its ranges: a run over
 * the same ranges, device memory unchanged, reuses it - and only then.  A
 * C2H run reading back what an H2C run wrote gets the H2C digest; after any
 * write over the ranges (host, another run, one byte at the edge) the digest
 * is computed again from the bytes; other ranges never match it. */
static void test_digest_reuse(void)
{
    dmm_phys *pm = mkphys();
    dmm_dev *d = mkdev(pm, 1, 0, 64, 0);
    uint8_t a[0x800], z = 0x77;
    fill(a, sizeof a, 31);
    CHECK_EQ(dmm_phys_write(pm, HOSTA, a, sizeof a), DMM_OK);
    /* H2C a -> devmem 0x4000 in two descriptors (one range), digested */
    put_desc(pm, 1, RING, 0, HOSTA, 0x400, 0x4000);
    put_desc(pm, 1, RING, 1, HOSTA + 0x400, 0x400, 0x4400);
    go(d, DMM_CH_H2C, RING, 2);
    CHECK_EQ(dmm_ch_last_digest(d, 0), dmt64(a, 0x800));
    /* C2H reads it back in one descriptor: the same digest */
    put_desc(pm, 1, RING + 0x100, 0, HOSTA + 0x1000, 0x800, 0x4000);
    go(d, DMM_CH_C2H, RING + 0x100, 1);
    CHECK_EQ(dmm_ch_last_digest(d, 1), dmt64(a, 0x800));
    /* the last byte of the range changes: computed again */
    CHECK_EQ(dmm_devmem_write(d, 0x47FF, &z, 1), DMM_OK);
    go(d, DMM_CH_C2H, RING + 0x100, 1);
    uint8_t b[0x800];
    memcpy(b, a, sizeof b);
    b[0x7FF] = z;
    CHECK_EQ(dmm_ch_last_digest(d, 1), dmt64(b, 0x800));
    /* an H2C run over the first byte changes it too */
    uint8_t c = 0x11;
    CHECK_EQ(dmm_phys_write(pm, HOSTA + 0x2000, &c, 1), DMM_OK);
    put_desc(pm, 1, RING, 0, HOSTA + 0x2000, 1, 0x4000);
    go(d, DMM_CH_H2C, RING, 1);
    CHECK_EQ(dmm_ch_last_digest(d, 0), dmt64(&c, 1));
    b[0] = c;
    go(d, DMM_CH_C2H, RING + 0x100, 1);
    CHECK_EQ(dmm_ch_last_digest(d, 1), dmt64(b, 0x800));
    uint8_t got[0x800];
    CHECK_EQ(dmm_phys_read(pm, HOSTA + 0x1000, got, sizeof got), DMM_OK);
    CHECK(memcmp(got, b, sizeof b) == 0);
    /* a shorter range over the same bytes is not the same digest */
    put_desc(pm, 1, RING + 0x100, 0, HOSTA + 0x1000, 0x400, 0x4000);
    go(d, DMM_CH_C2H, RING + 0x100, 1);
    CHECK_EQ(dmm_ch_last_digest(d, 1), dmt64(b, 0x400));
    dmm_dev_free(d);
    dmm_phys_free(pm);
}

/* Lazy patterns (dmm_phys_set_pattern, dev.c "lazy device memory"): two
 * models are fed the same random session - one with buffers holding
 * patterns lazily, one with the same bytes written into them - and must
 * agree on every digest, every byte of device memory and of every buffer,
 * read through the model and, after dmm_phys_materialise, directly.  Runs
 * whole-page and unaligned, whole-region and partial, both channels,
 * interleaved with host writes of device memory and of buffers. */
#define LZ_NREG 6
#define LZ_DEVW 0x10000u
static void test_lazy_pattern(void)
{
    static uint8_t mem[2][LZ_NREG][3 * 4096 + 100];
    static const uint64_t len[LZ_NREG] = {4096, 2 * 4096, 3 * 4096, 3 * 4096 + 100, 300, 4096};
    dmm_phys *pm[2];
    dmm_dev *d[2];
    for (int m = 0; m < 2; m++) {
        pm[m] = mkphys();
        d[m] = mkdev(pm[m], 1, 0, 64, 0);
        for (unsigned k = 0; k < LZ_NREG; k++)
            CHECK_EQ(dmm_phys_map(pm[m], 0x200000ull + k * 0x10000ull, len[k], mem[m][k]), DMM_OK);
    }
    uint8_t a[LZ_DEVW], b[LZ_DEVW];
    rng_state = 77;
    for (unsigned step = 0; step < 3000; step++) {
        uint64_t op = rnd() % 10, k = rnd() % LZ_NREG, base = 0x200000ull + k * 0x10000ull;
        if (op < 2) { /* a buffer gets a pattern: lazily, or its bytes */
            uint64_t seed = rnd() % 4, at = rnd() % 3 * 4096 + (rnd() % 2 ? 0 : rnd() % 64);
            CHECK_EQ(dmm_phys_set_pattern(pm[0], base, seed, at), DMM_OK);
            uint8_t tmp[sizeof mem[0][0]];
            dmt_pattern_fill(tmp, seed, at, (size_t)len[k]);
            CHECK_EQ(dmm_phys_write(pm[1], base, tmp, len[k]), DMM_OK);
        } else if (op < 3) { /* the host writes a few bytes of a buffer or of device memory */
            uint8_t v[8];
            uint64_t n = 1 + rnd() % 8, o = rnd() % (len[k] - n + 1), dev = rnd() % (LZ_DEVW - 8);
            fill(v, sizeof v, rnd());
            for (int m = 0; m < 2; m++) {
                CHECK_EQ(dmm_phys_write(pm[m], base + o, v, n), DMM_OK);
                CHECK_EQ(dmm_devmem_write(d[m], dev, v, n), DMM_OK);
            }
        } else { /* a run of 1..3 descriptors */
            unsigned c = (unsigned)(rnd() % 2), nd = 1 + (unsigned)(rnd() % 3);
            uint64_t host[3], dev[3];
            uint32_t l[3];
            for (unsigned i = 0; i < nd; i++) {
                uint64_t kk = rnd() % LZ_NREG, hb = 0x200000ull + kk * 0x10000ull;
                bool whole = rnd() % 2 == 0, paged = rnd() % 2 == 0;
                uint64_t o = whole ? 0 : rnd() % len[kk];
                l[i] = (uint32_t)(whole ? len[kk] : 1 + rnd() % (len[kk] - o));
                host[i] = hb + o;
                dev[i] = paged ? rnd() % 12 * 4096 : rnd() % (LZ_DEVW - 4 * 4096);
            }
            for (int m = 0; m < 2; m++) {
                for (unsigned i = 0; i < nd; i++)
                    put_desc(pm[m], 1, RING, i, host[i], l[i], dev[i]);
                go(d[m], c, RING, nd);
            }
            if (rnd() % 2)
                CHECK_EQ(dmm_ch_last_digest(d[0], c), dmm_ch_last_digest(d[1], c));
        }
        if (step % 50 == 49 || tk_failures) {
            for (unsigned c = 0; c < 2; c++)
                CHECK_EQ(dmm_ch_last_digest(d[0], c), dmm_ch_last_digest(d[1], c));
            CHECK_EQ(dmm_devmem_read(d[0], 0, a, LZ_DEVW), DMM_OK);
            CHECK_EQ(dmm_devmem_read(d[1], 0, b, LZ_DEVW), DMM_OK);
            CHECK(memcmp(a, b, LZ_DEVW) == 0);
            for (unsigned kk = 0; kk < LZ_NREG; kk++) {
                uint64_t hb = 0x200000ull + kk * 0x10000ull;
                CHECK_EQ(dmm_phys_read(pm[0], hb, a, len[kk]), DMM_OK);
                CHECK(memcmp(a, mem[1][kk], (size_t)len[kk]) == 0);
            }
            if (tk_failures) {
                fprintf(stderr, "lazy pattern: differs after step %u\n", step);
                break;
            }
        }
    }
    for (unsigned k = 0; k < LZ_NREG; k++) {
        CHECK_EQ(dmm_phys_materialise(pm[0], 0x200000ull + k * 0x10000ull), DMM_OK);
        CHECK(memcmp(mem[0][k], mem[1][k], (size_t)len[k]) == 0);
    }
    CHECK_EQ(dmm_phys_materialise(pm[0], 0x200001ull), DMM_EINVAL);
    CHECK_EQ(dmm_phys_set_pattern(pm[0], 0x200001ull, 1, 0), DMM_EINVAL);
    for (int m = 0; m < 2; m++) {
        dmm_dev_free(d[m]);
        dmm_phys_free(pm[m]);
    }
}

int main(void)
{
    test_phys_basic();
    test_phys_many();
    test_phys_split();
    test_config();
    test_registers();
    test_h2c_c2h();
    test_errors();
    test_irq();
    test_deferred();
    test_rev2();
    test_errata();
    test_self_ref();
    test_lazy_digest();
    test_digest_reuse();
    test_lazy_pattern();
    test_hostile_addresses();
    test_determinism();
    test_names();
    test_threads();
    test_fuzz();
    return tk_result("dmm_test");
}
