/*
 * names.c - register and error-code names of the device model, for the
 * viewer's waveform lanes, the replayer's divergence reports and dumps.
 * Pure functions over static tables; no state, no locking.
 */
#include "dmm/dmm.h"

#include <stddef.h>

typedef struct reg_entry {
    uint32_t off;
    const char *name;
    const char *doc;
} reg_entry;

static const reg_entry global_regs[] = {
    {DMM_REG_ID, "ID", "device id 0x444D41 and descriptor revision (RO)"},
    {DMM_REG_CAPS, "CAPS", "channels, address bits, descriptor size, errata (RO)"},
    {DMM_REG_IRQ_STATUS, "IRQ_STATUS", "interrupt status: bit 2c done, 2c+1 error (W1C)"},
    {DMM_REG_IRQ_ENABLE, "IRQ_ENABLE", "interrupt enable, same bits as IRQ_STATUS (RW)"},
    {DMM_REG_DEVMEM_SIZE, "DEVMEM_SIZE", "device memory size in bytes (RO)"},
    {DMM_REG_SCRATCH, "SCRATCH", "scratch register (RW)"},
};

/* Names and descriptions of the channel registers, per channel. */
#define CH_REGS(c)                                                                                 \
    {DMM_CH_BASE(c) + DMM_CH_CTRL, "CH" #c "_CTRL",                                                \
     "channel " #c " control: bit0 RUN doorbell, bit2 RESET"},                                     \
        {DMM_CH_BASE(c) + DMM_CH_STATUS, "CH" #c "_STATUS",                                        \
         "channel " #c " status: BUSY, DONE, ERR, code 15:8, index 31:16"},                        \
        {DMM_CH_BASE(c) + DMM_CH_DESC_LO, "CH" #c "_DESC_LO",                                      \
         "channel " #c " descriptor ring address, bits 31:0"},                                     \
        {DMM_CH_BASE(c) + DMM_CH_DESC_HI, "CH" #c "_DESC_HI",                                      \
         "channel " #c " descriptor ring address, bits 63:32"},                                    \
        {DMM_CH_BASE(c) + DMM_CH_DESC_COUNT, "CH" #c "_DESC_COUNT",                                \
         "channel " #c " number of descriptors"},                                                  \
        {DMM_CH_BASE(c) + DMM_CH_COMPLETED, "CH" #c "_COMPLETED",                                  \
         "channel " #c " descriptors completed by the last run (RO)"},                             \
        {DMM_CH_BASE(c) + DMM_CH_BYTES, "CH" #c "_BYTES",                                          \
         "channel " #c " bytes moved by the last run, bits 31:0 (RO)"},                            \
        {DMM_CH_BASE(c) + DMM_CH_BYTES_HI, "CH" #c "_BYTES_HI",                                    \
         "channel " #c " bytes moved by the last run, bits 63:32 (RO)"},                           \
        {DMM_CH_BASE(c) + DMM_CH_ERR_ADDR_LO, "CH" #c "_ERR_ADDR_LO",                              \
         "channel " #c " error address, bits 31:0 (RO)"},                                          \
        {DMM_CH_BASE(c) + DMM_CH_ERR_ADDR_HI, "CH" #c "_ERR_ADDR_HI",                              \
         "channel " #c " error address, bits 63:32 (RO)"},                                         \
        {DMM_CH_BASE(c) + DMM_CH_DIGEST_LO, "CH" #c "_DIGEST_LO",                                  \
         "channel " #c " DMT64 digest of the last run's bytes, bits 31:0 (RO)"},                   \
    {                                                                                              \
        DMM_CH_BASE(c) + DMM_CH_DIGEST_HI, "CH" #c "_DIGEST_HI",                                   \
            "channel " #c " DMT64 digest of the last run's bytes, bits 63:32 (RO)"                 \
    }

static const reg_entry ch_regs[] = {CH_REGS(0), CH_REGS(1)};

static const reg_entry *find_reg(uint32_t off)
{
    for (size_t i = 0; i < sizeof(global_regs) / sizeof(global_regs[0]); i++)
        if (global_regs[i].off == off)
            return &global_regs[i];
    for (size_t i = 0; i < sizeof(ch_regs) / sizeof(ch_regs[0]); i++)
        if (ch_regs[i].off == off)
            return &ch_regs[i];
    return NULL;
}

const char *dmm_reg_name(uint32_t off)
{
    const reg_entry *e = find_reg(off);
    return e ? e->name : NULL;
}

const char *dmm_reg_doc(uint32_t off)
{
    const reg_entry *e = find_reg(off);
    return e ? e->doc : NULL;
}

const char *dmm_err_name(uint32_t code)
{
    static const char *const names[] = {"NONE",  "UNMAPPED", "ADDR_LIMIT", "ZERO_LEN",   "DEVMEM",
                                        "ALIGN", "MAGIC",    "DESC_FETCH", "DESC_COUNT", "BUSY"};
    return code < sizeof(names) / sizeof(names[0]) ? names[code] : NULL;
}
