/*
 * dmtmini_hw.h - the register map and descriptor formats of the dmm
 * bus-master DMA engine, as the dmtmini miniport sees its hardware.
 *
 * A driver carries its own copy of the hardware interface (it does not link
 * the device model); the values equal device-model/include/dmm/dmm.h and
 * device-model/README.md, which tests/test_hw_map.c checks against the
 * device model's published map (dmm/map.h).
 *
 *   BAR0 (4 KiB, 32-bit accesses only)
 *   0x000 ID          RO  0x444D4100 | descriptor revision
 *   0x004 CAPS        RO  7:0 channels, 15:8 address bits, 23:16 descriptor bytes, 31:24 errata
 *   0x008 IRQ_STATUS  W1C bit 2c: channel c done, bit 2c+1: channel c error
 *   0x00C IRQ_ENABLE  RW  same bits
 *   0x010 DEVMEM_SIZE RO
 *   0x100 + 0x40*c    channel c: CTRL, STATUS, DESC_LO/HI, DESC_COUNT, ...
 */
#ifndef DMTMINI_HW_H
#define DMTMINI_HW_H

#define DMTHW_BAR_SIZE        0x1000u
#define DMTHW_REG_ID          0x000u
#define DMTHW_REG_CAPS        0x004u
#define DMTHW_REG_IRQ_STATUS  0x008u
#define DMTHW_REG_IRQ_ENABLE  0x00Cu
#define DMTHW_REG_DEVMEM_SIZE 0x010u
#define DMTHW_CH_BASE(c)      (0x100u + (c)*0x40u)
#define DMTHW_CH_CTRL         0x00u
#define DMTHW_CH_STATUS       0x04u
#define DMTHW_CH_DESC_LO      0x08u
#define DMTHW_CH_DESC_HI      0x0Cu
#define DMTHW_CH_DESC_COUNT   0x10u
#define DMTHW_CH_COMPLETED    0x14u
#define DMTHW_CH_BYTES        0x18u

#define DMTHW_ID_MASK     0xFFFFFF00u
#define DMTHW_ID_MAGIC    0x444D4100u
#define DMTHW_CTRL_RUN    0x1u
#define DMTHW_CTRL_RESET  0x4u
#define DMTHW_STATUS_BUSY 0x1u
#define DMTHW_STATUS_DONE 0x2u
#define DMTHW_STATUS_ERR  0x4u
#define DMTHW_IRQ_DONE(c) (1u << (2u * (c)))
#define DMTHW_IRQ_ERR(c)  (2u << (2u * (c)))
#define DMTHW_IRQ_ALL     0xFu

#define DMTHW_CAPS_CHANNELS(v)  ((v)&0xFFu)
#define DMTHW_CAPS_ADDR_BITS(v) (((v) >> 8) & 0xFFu)
#define DMTHW_CAPS_DESC_SIZE(v) (((v) >> 16) & 0xFFu)

#define DMTHW_MAX_DESC 4096u

/* Revision 1: 32 bytes { u32 ctl (magic in 31:16); u32 len; u64 host_addr;
 * u64 dev_off; u64 reserved }. */
#define DMTHW_DESC1_SIZE  32u
#define DMTHW_DESC1_MAGIC 0xD5C1u
/* Revision 2: 16 bytes { u64 host_addr; u32 len (23:0) | magic << 24;
 * u32 dev_off / 4 }. */
#define DMTHW_DESC2_SIZE    16u
#define DMTHW_DESC2_MAGIC   0xD2u
#define DMTHW_DESC2_MAX_LEN 0xFFFFFFu

#endif
