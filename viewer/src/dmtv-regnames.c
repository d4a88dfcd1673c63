/*
 * dmtv-regnames.c - offset -> name table of the device model's registers
 * (see dmtv-regnames.h).  Built from the dmm.h macros so it follows the
 * register map.
 */
#include "dmtv-regnames.h"

#include "dmm/dmm.h"

typedef struct {
    uint32_t off;
    const char *name, *doc;
} reg_entry;

#define CH(c, r, n, d)                                                                             \
    {                                                                                              \
        DMM_CH_BASE(c) + (r), "CH" #c "_" n, "channel " #c ": " d                                  \
    }
#define CHANNEL(c)                                                                                 \
    CH(c, DMM_CH_CTRL, "CTRL", "control (bit0 RUN doorbell, bit2 RESET)"),                         \
        CH(c, DMM_CH_STATUS, "STATUS", "status (BUSY, DONE, ERR, code, index)"),                   \
        CH(c, DMM_CH_DESC_LO, "DESC_LO", "descriptor ring address 31:0"),                          \
        CH(c, DMM_CH_DESC_HI, "DESC_HI", "descriptor ring address 63:32"),                         \
        CH(c, DMM_CH_DESC_COUNT, "DESC_COUNT", "descriptors in the ring"),                         \
        CH(c, DMM_CH_COMPLETED, "COMPLETED", "descriptors completed by the last run"),             \
        CH(c, DMM_CH_BYTES, "BYTES", "bytes moved by the last run 31:0"),                          \
        CH(c, DMM_CH_BYTES_HI, "BYTES_HI", "bytes moved by the last run 63:32"),                   \
        CH(c, DMM_CH_ERR_ADDR_LO, "ERR_ADDR_LO", "faulting address 31:0"),                         \
        CH(c, DMM_CH_ERR_ADDR_HI, "ERR_ADDR_HI", "faulting address 63:32"),                        \
        CH(c, DMM_CH_DIGEST_LO, "DIGEST_LO", "digest of the last run 31:0"),                       \
        CH(c, DMM_CH_DIGEST_HI, "DIGEST_HI", "digest of the last run 63:32")

static const reg_entry regs[] = {
    {DMM_REG_ID, "ID", "device id and revision"},
    {DMM_REG_CAPS, "CAPS", "capabilities: channels, address bits, descriptor size"},
    {DMM_REG_IRQ_STATUS, "IRQ_STATUS", "interrupt status (write 1 to clear)"},
    {DMM_REG_IRQ_ENABLE, "IRQ_ENABLE", "interrupt enable"},
    {DMM_REG_DEVMEM_SIZE, "DEVMEM_SIZE", "device memory bytes"},
    {DMM_REG_SCRATCH, "SCRATCH", "scratch register"},
    CHANNEL(0),
    CHANNEL(1),
};

_Static_assert(DMM_NUM_CHANNELS == 2, "regnames lists two channels");

static const reg_entry *find(uint64_t off)
{
    for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++)
        if (regs[i].off == off)
            return &regs[i];
    return NULL;
}

const char *dmtv_reg_name(uint64_t off)
{
    const reg_entry *e = find(off);
    return e ? e->name : NULL;
}

const char *dmtv_reg_doc(uint64_t off)
{
    const reg_entry *e = find(off);
    return e ? e->doc : NULL;
}
