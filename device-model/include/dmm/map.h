/*
 * dmm/map.h - the device model's hardware interface, published once: the
 * register map (offsets, bits, names, access, one-line descriptions), the
 * error codes and their names, and the two descriptor layouts with their
 * encoder and decoder.  Everything that needs to know how the dmm engine is
 * programmed - the model itself, the audit's device plug-in, the replayer,
 * the viewer, the synthetic trace generator - takes it from here.
 *
 * Header-only on purpose: libdmt (core/audit/audit_dmm.c) and bench tools
 * decode the device's programming without linking libdmm, so the layering
 * stays core <- device model at link time with no cycle (libdmm itself only
 * includes core's header-only digest).  Link the CMake target `dmm_map`
 * (an interface library: include path only).  Only <stdbool.h>,
 * <stddef.h> and <stdint.h> are used.
 *
 * The register table is plain data (one row per register, channel
 * registers once with their offset inside the channel window), so it can be
 * generated from or checked against a register-map file; the names and
 * descriptions appear nowhere else in the product.  Tables live in static
 * inline functions: a translation unit that does not look a name up carries
 * no copy.  device-model/README.md is the prose manual of the same map.
 */
#ifndef DMM_MAP_H
#define DMM_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the register file ---------------------------------------------------- */
#define DMM_NUM_CHANNELS 2
#define DMM_CH_H2C       0 /* host memory -> device memory (WriteToDevice = TRUE) */
#define DMM_CH_C2H       1 /* device memory -> host memory */
#define DMM_BAR_SIZE     0x1000u

/* Register offsets (see README.md for bits). */
#define DMM_REG_ID          0x000u /* RO  0x444D4100 | revision */
#define DMM_REG_CAPS        0x004u /* RO  channels, address bits */
#define DMM_REG_IRQ_STATUS  0x008u /* W1C bit 2c: ch c done, bit 2c+1: ch c error */
#define DMM_REG_IRQ_ENABLE  0x00Cu /* RW  same bits */
#define DMM_REG_DEVMEM_SIZE 0x010u /* RO  device memory bytes */
#define DMM_REG_SCRATCH     0x014u /* RW */
#define DMM_CH_WINDOW       0x40u  /* bytes of registers per channel */
#define DMM_CH_BASE(c)      (0x100u + (uint32_t)(c)*DMM_CH_WINDOW)
#define DMM_CH_CTRL         0x00u /* RW  bit0 RUN (doorbell), bit2 RESET (self-clearing) */
#define DMM_CH_STATUS                                                                              \
    0x04u /* bit0 BUSY RO, bit1 DONE W1C, bit2 ERR W1C, 15:8 code, 31:16 desc index */
#define DMM_CH_DESC_LO     0x08u
#define DMM_CH_DESC_HI     0x0Cu
#define DMM_CH_DESC_COUNT  0x10u
#define DMM_CH_COMPLETED   0x14u /* RO descriptors completed by the last run */
#define DMM_CH_BYTES       0x18u /* RO bytes moved by the last run (bits 31:0) */
#define DMM_CH_BYTES_HI    0x1Cu /* RO bytes moved by the last run (bits 63:32) */
#define DMM_CH_ERR_ADDR_LO 0x20u /* RO address that faulted */
#define DMM_CH_ERR_ADDR_HI 0x24u
#define DMM_CH_DIGEST_LO   0x28u /* RO DMT64 digest of the last run's bytes, 31:0 */
#define DMM_CH_DIGEST_HI   0x2Cu /* RO same, 63:32 */

#define DMM_ID_MAGIC        0x444D4100u /* "DMA\0"; low byte = revision */
#define DMM_ID_MASK         0xFFFFFF00u /* the magic's bits */
#define DMM_ID_REVISION(v)  ((v)&0xFFu)
#define DMM_CTRL_RUN        0x1u
#define DMM_CTRL_RESET      0x4u
#define DMM_STATUS_BUSY     0x1u
#define DMM_STATUS_DONE     0x2u
#define DMM_STATUS_ERR      0x4u
#define DMM_STATUS_CODE(s)  (((s) >> 8) & 0xFFu)
#define DMM_STATUS_INDEX(s) (((s) >> 16) & 0xFFFFu)
#define DMM_IRQ_DONE(c)     (1u << (2u * (unsigned)(c)))
#define DMM_IRQ_ERR(c)      (2u << (2u * (unsigned)(c)))
#define DMM_IRQ_ALL         0xFu
/* CAPS fields */
#define DMM_CAPS_CHANNELS(v)  ((v)&0xFFu)
#define DMM_CAPS_ADDR_BITS(v) (((v) >> 8) & 0xFFu)
#define DMM_CAPS_DESC_SIZE(v) (((v) >> 16) & 0xFFu)
#define DMM_CAPS_ERRATA(v)    (((v) >> 24) & 0xFFu)

/* Errata (dmm_config.errata, CAPS 31:24); README.md has the details. */
#define DMM_ERRATUM_4G_WRAP    0x1u /* host address counter carries only in bits 31:0 */
#define DMM_ERRATUM_LEN_ROUND  0x2u /* lengths rounded down to a multiple of 4 */
#define DMM_ERRATUM_ADDR_TRUNC 0x4u /* bus addresses taken mod 2^addr_bits, no ADDR_LIMIT */
#define DMM_ERRATA_ALL         0x7u

/* Error codes in STATUS bits 15:8. */
enum dmm_err {
    DMM_ERR_NONE = 0,
    DMM_ERR_UNMAPPED = 1,   /* a descriptor's host range is not mapped memory */
    DMM_ERR_ADDR_LIMIT = 2, /* a host address beyond the device's address bits */
    DMM_ERR_ZERO_LEN = 3,   /* a descriptor with length 0 */
    DMM_ERR_DEVMEM = 4,     /* device memory range overrun */
    DMM_ERR_ALIGN = 5,      /* misalignment the engine cannot do */
    DMM_ERR_MAGIC = 6,      /* descriptor magic wrong */
    DMM_ERR_DESC_FETCH = 7, /* descriptor ring itself not readable */
    DMM_ERR_DESC_COUNT = 8, /* DESC_COUNT 0 or above DMM_MAX_DESC */
    DMM_ERR_BUSY = 9        /* doorbell rung while the channel was busy */
};
#define DMM_MAX_DESC 4096u

/* ---- descriptors ---------------------------------------------------------- */
/* Revision 1: 32 bytes, little-endian, ring 32-byte aligned.
 * struct { u32 ctl; u32 len; u64 host_addr; u64 dev_off; u64 reserved; }
 *   ctl: bits 31:16 DMM_DESC1_MAGIC, 15:0 ignored */
#define DMM_DESC1_SIZE        32u
#define DMM_DESC1_MAGIC       0xD5C1u /* in ctl bits 31:16 */
#define DMM_DESC1_MAGIC_SHIFT 16u
#define DMM_DESC1_CTL         0u /* byte offsets of the fields */
#define DMM_DESC1_LEN         4u
#define DMM_DESC1_HOST        8u
#define DMM_DESC1_DEV         16u
#define DMM_DESC1_RESERVED    24u

/* Revision 2: 16 bytes, little-endian, ring 16-byte aligned.
 * struct { u64 host_addr; u32 len_magic; u32 dev_dw; }
 *   len_magic: bits 23:0 length in bytes, bits 31:24 DMM_DESC2_MAGIC
 *   dev_dw:    device offset in 32-bit words (device offset = dev_dw * 4) */
#define DMM_DESC2_SIZE        16u
#define DMM_DESC2_MAGIC       0xD2u
#define DMM_DESC2_MAGIC_SHIFT 24u
#define DMM_DESC2_MAX_LEN     0xFFFFFFu
#define DMM_DESC2_HOST        0u
#define DMM_DESC2_LEN_MAGIC   8u
#define DMM_DESC2_DEV_DW      12u

typedef struct dmm_desc {
    uint64_t host_addr;
    uint64_t dev_off;
    uint32_t len;
    bool magic_ok;
} dmm_desc;

/* Bytes of one descriptor of a revision (0 if unknown revision). */
static inline size_t dmm_map_desc_size(uint32_t revision)
{
    return revision == 1 ? DMM_DESC1_SIZE : revision == 2 ? DMM_DESC2_SIZE : 0;
}

static inline uint32_t dmm_map_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t dmm_map_le64(const uint8_t *p)
{
    return (uint64_t)dmm_map_le32(p) | (uint64_t)dmm_map_le32(p + 4) << 32;
}

static inline void dmm_map_put32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void dmm_map_put64(uint8_t *p, uint64_t v)
{
    dmm_map_put32(p, (uint32_t)v);
    dmm_map_put32(p + 4, (uint32_t)(v >> 32));
}

/* Encode one descriptor into out (dmm_map_desc_size(revision) bytes);
 * returns that size, or 0 (nothing written) if the revision is unknown or
 * the fields do not fit (rev 2: len > DMM_DESC2_MAX_LEN, dev_off not a
 * multiple of 4 or >= 2^34). */
static inline size_t dmm_map_desc_encode(uint32_t revision, uint8_t *out, uint64_t host_addr,
                                         uint32_t len, uint64_t dev_off)
{
    if (revision == 1) {
        dmm_map_put32(out + DMM_DESC1_CTL, (uint32_t)DMM_DESC1_MAGIC << DMM_DESC1_MAGIC_SHIFT);
        dmm_map_put32(out + DMM_DESC1_LEN, len);
        dmm_map_put64(out + DMM_DESC1_HOST, host_addr);
        dmm_map_put64(out + DMM_DESC1_DEV, dev_off);
        dmm_map_put64(out + DMM_DESC1_RESERVED, 0);
        return DMM_DESC1_SIZE;
    }
    if (revision == 2) {
        if (len > DMM_DESC2_MAX_LEN || (dev_off & 3u) != 0 || (dev_off >> 2) > UINT32_MAX)
            return 0;
        dmm_map_put64(out + DMM_DESC2_HOST, host_addr);
        dmm_map_put32(out + DMM_DESC2_LEN_MAGIC,
                      (uint32_t)DMM_DESC2_MAGIC << DMM_DESC2_MAGIC_SHIFT | len);
        dmm_map_put32(out + DMM_DESC2_DEV_DW, (uint32_t)(dev_off >> 2));
        return DMM_DESC2_SIZE;
    }
    return 0;
}

/* Decode dmm_map_desc_size(revision) bytes at in; false (out untouched) for
 * an unknown revision.  A wrong magic is reported in out->magic_ok. */
static inline bool dmm_map_desc_decode(uint32_t revision, const uint8_t *in, dmm_desc *out)
{
    if (revision == 1) {
        uint32_t ctl = dmm_map_le32(in + DMM_DESC1_CTL);
        out->magic_ok = (ctl >> DMM_DESC1_MAGIC_SHIFT) == DMM_DESC1_MAGIC;
        out->len = dmm_map_le32(in + DMM_DESC1_LEN);
        out->host_addr = dmm_map_le64(in + DMM_DESC1_HOST);
        out->dev_off = dmm_map_le64(in + DMM_DESC1_DEV);
        return true;
    }
    if (revision == 2) {
        uint32_t lm = dmm_map_le32(in + DMM_DESC2_LEN_MAGIC);
        out->host_addr = dmm_map_le64(in + DMM_DESC2_HOST);
        out->magic_ok = (lm >> DMM_DESC2_MAGIC_SHIFT) == DMM_DESC2_MAGIC;
        out->len = lm & DMM_DESC2_MAX_LEN;
        out->dev_off = (uint64_t)dmm_map_le32(in + DMM_DESC2_DEV_DW) * 4u;
        return true;
    }
    return false;
}

/* ---- names ---------------------------------------------------------------- */
/* One register of the map.  Global registers carry their BAR offset and
 * name; channel registers appear once, with their offset inside the channel
 * window, their own name ("DESC_LO") and the full name of each channel's
 * copy ("CH0_DESC_LO", "CH1_DESC_LO").  Static strings. */
typedef struct dmm_map_reg {
    uint32_t off;
    const char *name;
    const char *chan_name[DMM_NUM_CHANNELS]; /* NULL for a global register */
    const char *access;                      /* "RO", "RW", "W1C", "RW/W1C" */
    const char *doc;                         /* one line */
} dmm_map_reg;

_Static_assert(DMM_NUM_CHANNELS == 2, "dmm_map_channel_regs names two channels");
#define DMM_MAP_CH_(off, n, acc, doc)                                                              \
    {                                                                                              \
        (off), n, {"CH0_" n, "CH1_" n}, acc, doc                                                   \
    }

/* The global registers, in offset order. */
static inline const dmm_map_reg *dmm_map_global_regs(size_t *n)
{
    static const dmm_map_reg regs[] = {
        {DMM_REG_ID, "ID", {NULL, NULL}, "RO", "device id 0x444D41 and descriptor revision"},
        {DMM_REG_CAPS,
         "CAPS",
         {NULL, NULL},
         "RO",
         "channels, address bits, descriptor size, errata"},
        {DMM_REG_IRQ_STATUS,
         "IRQ_STATUS",
         {NULL, NULL},
         "W1C",
         "interrupt status: bit 2c done, 2c+1 error"},
        {DMM_REG_IRQ_ENABLE,
         "IRQ_ENABLE",
         {NULL, NULL},
         "RW",
         "interrupt enable, same bits as IRQ_STATUS"},
        {DMM_REG_DEVMEM_SIZE, "DEVMEM_SIZE", {NULL, NULL}, "RO", "device memory size in bytes"},
        {DMM_REG_SCRATCH, "SCRATCH", {NULL, NULL}, "RW", "scratch register"},
    };
    *n = sizeof regs / sizeof regs[0];
    return regs;
}

/* The registers of one channel window (channel c at DMM_CH_BASE(c)), in
 * offset order. */
static inline const dmm_map_reg *dmm_map_channel_regs(size_t *n)
{
    static const dmm_map_reg regs[] = {
        DMM_MAP_CH_(DMM_CH_CTRL, "CTRL", "RW", "channel control: bit0 RUN doorbell, bit2 RESET"),
        DMM_MAP_CH_(DMM_CH_STATUS, "STATUS", "RW/W1C",
                    "channel status: BUSY, DONE, ERR, code 15:8, index 31:16"),
        DMM_MAP_CH_(DMM_CH_DESC_LO, "DESC_LO", "RW", "descriptor ring address, bits 31:0"),
        DMM_MAP_CH_(DMM_CH_DESC_HI, "DESC_HI", "RW", "descriptor ring address, bits 63:32"),
        DMM_MAP_CH_(DMM_CH_DESC_COUNT, "DESC_COUNT", "RW", "number of descriptors in the ring"),
        DMM_MAP_CH_(DMM_CH_COMPLETED, "COMPLETED", "RO", "descriptors completed by the last run"),
        DMM_MAP_CH_(DMM_CH_BYTES, "BYTES", "RO", "bytes moved by the last run, bits 31:0"),
        DMM_MAP_CH_(DMM_CH_BYTES_HI, "BYTES_HI", "RO", "bytes moved by the last run, bits 63:32"),
        DMM_MAP_CH_(DMM_CH_ERR_ADDR_LO, "ERR_ADDR_LO", "RO", "error address, bits 31:0"),
        DMM_MAP_CH_(DMM_CH_ERR_ADDR_HI, "ERR_ADDR_HI", "RO", "error address, bits 63:32"),
        DMM_MAP_CH_(DMM_CH_DIGEST_LO, "DIGEST_LO", "RO",
                    "DMT64 digest of the last run's bytes, bits 31:0"),
        DMM_MAP_CH_(DMM_CH_DIGEST_HI, "DIGEST_HI", "RO",
                    "DMT64 digest of the last run's bytes, bits 63:32"),
    };
    *n = sizeof regs / sizeof regs[0];
    return regs;
}

/* Where a BAR offset lands in the map. */
typedef struct dmm_map_hit {
    const dmm_map_reg *reg;
    int channel;      /* 0..DMM_NUM_CHANNELS-1, or -1 for a global register */
    const char *name; /* full name: "IRQ_STATUS", "CH1_DESC_LO" */
} dmm_map_hit;

/* Look a BAR offset up; false (and *out untouched) when no register is there
 * (unaligned, out of the BAR, a hole in the map). */
static inline bool dmm_map_lookup(uint64_t off, dmm_map_hit *out)
{
    size_t n;
    const dmm_map_reg *t;
    int channel = -1;
    if (off >= DMM_CH_BASE(0) && off < DMM_CH_BASE(DMM_NUM_CHANNELS)) {
        channel = (int)((off - DMM_CH_BASE(0)) / DMM_CH_WINDOW);
        off = (off - DMM_CH_BASE(0)) % DMM_CH_WINDOW;
        t = dmm_map_channel_regs(&n);
    } else {
        t = dmm_map_global_regs(&n);
    }
    for (size_t i = 0; i < n; i++) {
        if (t[i].off == off) {
            out->reg = &t[i];
            out->channel = channel;
            out->name = channel < 0 ? t[i].name : t[i].chan_name[channel];
            return true;
        }
    }
    return false;
}

/* "NONE", "UNMAPPED", ... "BUSY" for enum dmm_err values, NULL otherwise. */
static inline const char *dmm_map_err_name(uint32_t code)
{
    static const char *const names[] = {[DMM_ERR_NONE] = "NONE",
                                        [DMM_ERR_UNMAPPED] = "UNMAPPED",
                                        [DMM_ERR_ADDR_LIMIT] = "ADDR_LIMIT",
                                        [DMM_ERR_ZERO_LEN] = "ZERO_LEN",
                                        [DMM_ERR_DEVMEM] = "DEVMEM",
                                        [DMM_ERR_ALIGN] = "ALIGN",
                                        [DMM_ERR_MAGIC] = "MAGIC",
                                        [DMM_ERR_DESC_FETCH] = "DESC_FETCH",
                                        [DMM_ERR_DESC_COUNT] = "DESC_COUNT",
                                        [DMM_ERR_BUSY] = "BUSY"};
    return code < sizeof names / sizeof names[0] ? names[code] : NULL;
}

#endif
