/*
 * explain.c - names and human-readable decodings for replay reports: the
 * model's registers and their bit fields (device-model/README.md), error
 * codes, errata names, divergence and limit kinds.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "rmap/regmap.h"

const char *rpl_div_kind_name(int kind)
{
    static const char *const names[] = {[RPL_DIV_REG_READ] = "reg_read",
                                        [RPL_DIV_IRQ_MISSING] = "irq_missing",
                                        [RPL_DIV_IRQ_UNEXPECTED] = "irq_unexpected",
                                        [RPL_DIV_DIGEST] = "digest",
                                        [RPL_DIV_SG] = "sg_list",
                                        [RPL_DIV_DESCRIPTOR] = "descriptor",
                                        [RPL_DIV_PROGRAM] = "program",
                                        [RPL_DIV_DRIVER] = "driver"};
    if (kind <= 0 || kind >= RPL_DIV_KIND_MAX_ || !names[kind])
        return "?";
    return names[kind];
}

const char *rpl_limit_kind_name(int kind)
{
    static const char *const names[] = {[RPL_LIMIT_LOST] = "lost",
                                        [RPL_LIMIT_UNVERIFIED] = "unverified",
                                        [RPL_LIMIT_NO_CONTENT] = "no_content",
                                        [RPL_LIMIT_UNMAPPED] = "unmapped",
                                        [RPL_LIMIT_UNKNOWN_ID] = "unknown_id",
                                        [RPL_LIMIT_DEVICE] = "device",
                                        [RPL_LIMIT_CUT] = "cut",
                                        [RPL_LIMIT_CONFIG] = "config",
                                        [RPL_LIMIT_REORDER] = "reordered",
                                        [RPL_LIMIT_NOT_VERIFIED] = "not_verified"};
    if (kind <= 0 || kind >= RPL_LIMIT_KIND_MAX_ || !names[kind])
        return "?";
    return names[kind];
}

const char *rpl_dmm_err_name(uint32_t code)
{
    const char *n = dmm_err_name(code);
    return n ? n : "?";
}

static const struct {
    const char *name;
    uint32_t bit;
} errata_names[] = {{"4g-wrap", DMM_ERRATUM_4G_WRAP},
                    {"len-round", DMM_ERRATUM_LEN_ROUND},
                    {"addr-trunc", DMM_ERRATUM_ADDR_TRUNC}};

bool rpl_parse_erratum(const char *s, uint32_t *bits)
{
    if (!s || !*s)
        return false;
    if (!strcmp(s, "all")) {
        *bits = DMM_ERRATA_ALL;
        return true;
    }
    if (!strcmp(s, "none")) {
        *bits = 0;
        return true;
    }
    for (size_t i = 0; i < sizeof errata_names / sizeof errata_names[0]; i++) {
        if (!strcmp(s, errata_names[i].name)) {
            *bits = errata_names[i].bit;
            return true;
        }
    }
    char *end;
    unsigned long v = strtoul(s, &end, 0);
    if (*end || s[0] == '-' || (v & ~(unsigned long)DMM_ERRATA_ALL) != 0)
        return false;
    *bits = (uint32_t)v;
    return true;
}

const char *rpl_errata_names(uint32_t bits, char *buf, size_t cap)
{
    rpl_sb b;
    rpl_sb_init(&b, buf, cap);
    if (!bits) {
        rpl_sb_put(&b, "none");
        return buf;
    }
    for (size_t i = 0; i < sizeof errata_names / sizeof errata_names[0]; i++)
        if (bits & errata_names[i].bit)
            rpl_sb_put(&b, "%s%s", b.n ? "," : "", errata_names[i].name);
    if (bits & ~DMM_ERRATA_ALL)
        rpl_sb_put(&b, "%s0x%x", b.n ? "," : "", bits & ~DMM_ERRATA_ALL);
    return buf;
}

/* ---- a bounded string builder ------------------------------------------ */

void rpl_sb_init(rpl_sb *b, char *buf, size_t cap)
{
    b->p = buf;
    b->cap = cap;
    b->n = 0;
    if (cap)
        buf[0] = 0;
}

void rpl_sb_put(rpl_sb *b, const char *fmt, ...)
{
    va_list ap;
    if (b->cap == 0 || b->n + 1 >= b->cap)
        return;
    va_start(ap, fmt);
    int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    b->n += (size_t)k;
    if (b->n >= b->cap)
        b->n = b->cap - 1;
}

/* ---- registers -------------------------------------------------------- */

/* The device model's names (dmm/map.h), channel registers as "CH0.STATUS". */
size_t rpl_reg_name(char *buf, size_t cap, uint32_t off)
{
    rpl_sb b;
    rpl_sb_init(&b, buf, cap);
    dmm_map_hit h;
    if (dmm_map_lookup(off, &h)) {
        if (h.channel >= 0)
            rpl_sb_put(&b, "CH%d.%s", h.channel, h.reg->name);
        else
            rpl_sb_put(&b, "%s", h.reg->name);
    }
    return b.n;
}

size_t rpl_map_name(const rpl_regmap *n, char *buf, size_t cap, uint32_t off)
{
    if (!n || !n->map)
        return rpl_reg_name(buf, cap, off);
    rmap_decoded *d = malloc(sizeof *d);
    rpl_sb b;
    rpl_sb_init(&b, buf, cap);
    if (d && rmap_decode(n->map, n->domain, off, 0, 0, d))
        rpl_sb_put(&b, "%s", d->name);
    free(d);
    return b.n;
}

size_t rpl_map_explain(const rpl_regmap *n, char *buf, size_t cap, uint32_t off, uint64_t v)
{
    if (!n || !n->map)
        return rpl_explain_reg(buf, cap, off, v);
    rmap_decoded *d = malloc(sizeof *d);
    size_t len = 0;
    if (cap)
        buf[0] = 0;
    if (d && rmap_decode(n->map, n->domain, off, 0, v, d))
        len = rmap_format_short(d, buf, cap);
    free(d);
    return len;
}

size_t rpl_map_delta(const rpl_regmap *n, char *buf, size_t cap, uint32_t off, uint64_t want,
                     uint64_t got)
{
    if (cap)
        buf[0] = 0;
    if (!n || !n->map)
        return 0;
    rmap_decoded *d = malloc(2 * sizeof *d);
    size_t len = 0;
    if (d && rmap_decode(n->map, n->domain, off, 0, want, &d[0]) &&
        rmap_decode(n->map, n->domain, off, 0, got, &d[1]))
        len = rmap_format_delta(&d[0], &d[1], buf, cap);
    free(d);
    return len;
}

static void irq_bits(rpl_sb *b, uint64_t v)
{
    bool any = false;
    for (unsigned c = 0; c < DMM_NUM_CHANNELS; c++) {
        if (v & DMM_IRQ_DONE(c)) {
            rpl_sb_put(b, "%sch%u done", any ? ", " : "", c);
            any = true;
        }
        if (v & DMM_IRQ_ERR(c)) {
            rpl_sb_put(b, "%sch%u error", any ? ", " : "", c);
            any = true;
        }
    }
    if (v & ~(uint64_t)DMM_IRQ_ALL) {
        rpl_sb_put(b, "%sundefined bits 0x%llx", any ? ", " : "",
                   (unsigned long long)(v & ~(uint64_t)DMM_IRQ_ALL));
        any = true;
    }
    if (!any)
        rpl_sb_put(b, "none");
}

size_t rpl_explain_reg(char *buf, size_t cap, uint32_t off, uint64_t v)
{
    rpl_sb b;
    rpl_sb_init(&b, buf, cap);
    char name[32];
    if (!rpl_reg_name(name, sizeof name, off))
        return 0;
    if (v == 0xFFFFFFFFull && off != DMM_REG_SCRATCH &&
        !(off >= DMM_CH_BASE(0) && off < DMM_CH_BASE(DMM_NUM_CHANNELS) &&
          (off - DMM_CH_BASE(0)) % 0x40u >= DMM_CH_DESC_LO &&
          (off - DMM_CH_BASE(0)) % 0x40u <= DMM_CH_DESC_COUNT)) {
        rpl_sb_put(&b, "%s: all ones (no device answered)", name);
        return b.n;
    }
    if (off >= DMM_CH_BASE(0) && off < DMM_CH_BASE(DMM_NUM_CHANNELS)) {
        unsigned r = (off - DMM_CH_BASE(0)) % 0x40u;
        const char *reg = strchr(name, '.') + 1;
        switch (r) {
        case DMM_CH_CTRL:
            rpl_sb_put(&b, "%s: %s", reg, (v & DMM_CTRL_RUN) ? "RUN (busy)" : "idle");
            break;
        case DMM_CH_STATUS: {
            rpl_sb_put(&b, "%s: ", reg);
            bool any = false;
            static const char *const bits[] = {"BUSY", "DONE", "ERR"};
            for (unsigned i = 0; i < 3; i++)
                if (v & (1u << i)) {
                    rpl_sb_put(&b, "%s%s", any ? "|" : "", bits[i]);
                    any = true;
                }
            if (!any)
                rpl_sb_put(&b, "idle");
            uint32_t code = DMM_STATUS_CODE((uint32_t)v);
            if (code)
                rpl_sb_put(&b, " code %u %s", code, rpl_dmm_err_name(code));
            if ((v & DMM_STATUS_ERR) || DMM_STATUS_INDEX((uint32_t)v))
                rpl_sb_put(&b, " desc %u", DMM_STATUS_INDEX((uint32_t)v));
            break;
        }
        case DMM_CH_COMPLETED:
            rpl_sb_put(&b, "%s: %llu descriptors", reg, (unsigned long long)v);
            break;
        case DMM_CH_BYTES:
        case DMM_CH_BYTES_HI:
            rpl_sb_put(&b, "%s: %llu", reg, (unsigned long long)v);
            break;
        default:
            return 0;
        }
        return b.n;
    }
    switch (off) {
    case DMM_REG_ID:
        if ((v & 0xFFFFFF00u) == DMM_ID_MAGIC)
            rpl_sb_put(&b, "ID: dmm, descriptor revision %u", (unsigned)(v & 0xFFu));
        else
            rpl_sb_put(&b, "ID: not a dmm engine");
        break;
    case DMM_REG_CAPS: {
        char e[64];
        rpl_sb_put(&b, "CAPS: %u channels, %u address bits, %u-byte descriptors, errata %s",
                   DMM_CAPS_CHANNELS((uint32_t)v), DMM_CAPS_ADDR_BITS((uint32_t)v),
                   DMM_CAPS_DESC_SIZE((uint32_t)v),
                   rpl_errata_names(DMM_CAPS_ERRATA((uint32_t)v), e, sizeof e));
        break;
    }
    case DMM_REG_IRQ_STATUS:
    case DMM_REG_IRQ_ENABLE:
        rpl_sb_put(&b, "%s: ", name);
        irq_bits(&b, v);
        break;
    case DMM_REG_DEVMEM_SIZE:
        rpl_sb_put(&b, "DEVMEM_SIZE: %llu bytes", (unsigned long long)v);
        break;
    default:
        return 0;
    }
    return b.n;
}
