/*
 * test_hw_map.c - the driver's own view of its hardware
 * (driver/dmtmini_hw.h, which the .sys build compiles without the device
 * model) checked against the device model's published map (dmm/map.h):
 * every DMTHW_ constant at compile time, and every register offset the
 * driver defines at run time by the name the map gives it.
 *
 * Exit 0 when every check holds, 1 otherwise.
 */
#include <stdio.h>
#include <string.h>

#include "dmm/map.h"
#include "dmtmini_hw.h"

_Static_assert(DMTHW_BAR_SIZE == DMM_BAR_SIZE, "bar");
_Static_assert(DMTHW_REG_ID == DMM_REG_ID && DMTHW_REG_CAPS == DMM_REG_CAPS, "regs");
_Static_assert(DMTHW_REG_IRQ_STATUS == DMM_REG_IRQ_STATUS, "regs");
_Static_assert(DMTHW_REG_IRQ_ENABLE == DMM_REG_IRQ_ENABLE, "regs");
_Static_assert(DMTHW_REG_DEVMEM_SIZE == DMM_REG_DEVMEM_SIZE, "regs");
_Static_assert(DMTHW_CH_BASE(0) == DMM_CH_BASE(0) && DMTHW_CH_BASE(1) == DMM_CH_BASE(1), "base");
_Static_assert(DMTHW_CH_CTRL == DMM_CH_CTRL && DMTHW_CH_STATUS == DMM_CH_STATUS, "regs");
_Static_assert(DMTHW_CH_DESC_LO == DMM_CH_DESC_LO && DMTHW_CH_DESC_HI == DMM_CH_DESC_HI, "regs");
_Static_assert(DMTHW_CH_DESC_COUNT == DMM_CH_DESC_COUNT, "regs");
_Static_assert(DMTHW_CH_COMPLETED == DMM_CH_COMPLETED && DMTHW_CH_BYTES == DMM_CH_BYTES, "regs");
_Static_assert(DMTHW_ID_MASK == DMM_ID_MASK && DMTHW_ID_MAGIC == DMM_ID_MAGIC, "id");
_Static_assert(DMTHW_CTRL_RUN == DMM_CTRL_RUN && DMTHW_CTRL_RESET == DMM_CTRL_RESET, "ctrl");
_Static_assert(DMTHW_STATUS_BUSY == DMM_STATUS_BUSY && DMTHW_STATUS_DONE == DMM_STATUS_DONE &&
                   DMTHW_STATUS_ERR == DMM_STATUS_ERR,
               "status");
_Static_assert(DMTHW_IRQ_DONE(0) == DMM_IRQ_DONE(0) && DMTHW_IRQ_ERR(0) == DMM_IRQ_ERR(0) &&
                   DMTHW_IRQ_DONE(1) == DMM_IRQ_DONE(1) && DMTHW_IRQ_ERR(1) == DMM_IRQ_ERR(1),
               "irq");
_Static_assert(DMTHW_IRQ_ALL == DMM_IRQ_ALL, "irq");
_Static_assert(DMTHW_CAPS_CHANNELS(0x44332211u) == DMM_CAPS_CHANNELS(0x44332211u) &&
                   DMTHW_CAPS_ADDR_BITS(0x44332211u) == DMM_CAPS_ADDR_BITS(0x44332211u) &&
                   DMTHW_CAPS_DESC_SIZE(0x44332211u) == DMM_CAPS_DESC_SIZE(0x44332211u),
               "caps");
_Static_assert(DMTHW_MAX_DESC == DMM_MAX_DESC, "max desc");
_Static_assert(DMTHW_DESC1_SIZE == DMM_DESC1_SIZE && DMTHW_DESC1_MAGIC == DMM_DESC1_MAGIC, "d1");
_Static_assert(DMTHW_DESC2_SIZE == DMM_DESC2_SIZE && DMTHW_DESC2_MAGIC == DMM_DESC2_MAGIC, "d2");
_Static_assert(DMTHW_DESC2_MAX_LEN == DMM_DESC2_MAX_LEN, "d2");

static int failures;

static void expect_name(const char *what, uint32_t off, const char *name)
{
    dmm_map_hit h;
    if (!dmm_map_lookup(off, &h) || strcmp(h.name, name) != 0) {
        fprintf(stderr, "%s = 0x%x: the device model's map has %s there, not %s\n", what, off,
                dmm_map_lookup(off, &h) ? h.name : "no register", name);
        failures++;
    }
}

#define NAME(macro, name) expect_name(#macro, macro, name)

int main(void)
{
    NAME(DMTHW_REG_ID, "ID");
    NAME(DMTHW_REG_CAPS, "CAPS");
    NAME(DMTHW_REG_IRQ_STATUS, "IRQ_STATUS");
    NAME(DMTHW_REG_IRQ_ENABLE, "IRQ_ENABLE");
    NAME(DMTHW_REG_DEVMEM_SIZE, "DEVMEM_SIZE");
    static const char *const ch[] = {"CH0_", "CH1_"};
    static const struct {
        const char *what;
        unsigned off;
        const char *name;
    } regs[] = {{"DMTHW_CH_CTRL", DMTHW_CH_CTRL, "CTRL"},
                {"DMTHW_CH_STATUS", DMTHW_CH_STATUS, "STATUS"},
                {"DMTHW_CH_DESC_LO", DMTHW_CH_DESC_LO, "DESC_LO"},
                {"DMTHW_CH_DESC_HI", DMTHW_CH_DESC_HI, "DESC_HI"},
                {"DMTHW_CH_DESC_COUNT", DMTHW_CH_DESC_COUNT, "DESC_COUNT"},
                {"DMTHW_CH_COMPLETED", DMTHW_CH_COMPLETED, "COMPLETED"},
                {"DMTHW_CH_BYTES", DMTHW_CH_BYTES, "BYTES"}};
    for (unsigned c = 0; c < 2; c++) {
        for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++) {
            char full[32];
            snprintf(full, sizeof full, "%s%s", ch[c], regs[i].name);
            expect_name(regs[i].what, DMTHW_CH_BASE(c) + regs[i].off, full);
        }
    }
    /* The driver's BAR holds nothing past the map's BAR. */
    dmm_map_hit h;
    if (dmm_map_lookup(DMTHW_BAR_SIZE, &h)) {
        fprintf(stderr, "the map names an offset past DMTHW_BAR_SIZE\n");
        failures++;
    }
    if (failures)
        return 1;
    printf("dmtmini_hw.h agrees with the device model's map\n");
    return 0;
}
