/*
 * test-units.c - unit tests of dmtv-units (time/size formatting and
 * parsing, ruler steps) and dmtv-regnames (names from the dmm register map).
 */
#include <stdio.h>
#include <string.h>

#include "dmt/testkit.h"
#include "dmm/dmm.h"
#include "dmtv-regnames.h"
#include "dmtv-units.h"

#define CHECK_STR(a, b) CHECKF(strcmp((a), (b)) == 0, "\"%s\" != \"%s\"", (a), (b))

int main(void)
{
    char b[64];
    dmtv_format_duration(b, sizeof b, 999, 4);
    CHECK_STR(b, "999 ns");
    dmtv_format_duration(b, sizeof b, 1500, 4);
    CHECK_STR(b, "1.5 µs");
    dmtv_format_duration(b, sizeof b, 20000000, 4);
    CHECK_STR(b, "20 ms");
    dmtv_format_duration(b, sizeof b, 1234567890, 4);
    CHECK_STR(b, "1.235 s");

    CHECK(dmtv_tick_step(1) == 1);
    CHECK(dmtv_tick_step(3) == 5);
    CHECK(dmtv_tick_step(11) == 20);
    CHECK(dmtv_tick_step(4100) == 5000);
    CHECK(dmtv_tick_step(150000000) == 200000000);

    dmtv_format_tick(b, sizeof b, 2000000, 1000000, 9000000);
    CHECK_STR(b, "2 ms");
    dmtv_format_tick(b, sizeof b, 2500000, 500000, 9000000);
    CHECK_STR(b, "2.5 ms");
    dmtv_format_tick(b, sizeof b, 1500000000, 500000000, 3000000000);
    CHECK_STR(b, "1.5 s");
    dmtv_format_tick(b, sizeof b, 120, 20, 900);
    CHECK_STR(b, "120 ns");
    dmtv_format_tick(b, sizeof b, 1000020, 20, 1000100);
    CHECK_STR(b, "1.00002 ms");

    dmtv_format_cursor(b, sizeof b, 1234567891);
    CHECK_STR(b, "1.234 567 891 s");

    dmtv_format_bytes(b, sizeof b, 17);
    CHECK_STR(b, "17 B");
    dmtv_format_bytes(b, sizeof b, 65536);
    CHECK_STR(b, "64 KiB");
    dmtv_format_bytes(b, sizeof b, 1536 * 1024);
    CHECK_STR(b, "1.50 MiB");

    dmtv_format_addr(b, sizeof b, 0x1000);
    CHECK_STR(b, "0x1000");
    dmtv_format_addr(b, sizeof b, 0x120000000ull);
    CHECK_STR(b, "0x1_20000000");

    int64_t t;
    CHECK(dmtv_parse_time("2.5ms", &t) == 0 && t == 2500000);
    CHECK(dmtv_parse_time("120us", &t) == 0 && t == 120000);
    CHECK(dmtv_parse_time("1 s", &t) == 0 && t == 1000000000);
    CHECK(dmtv_parse_time("42", &t) == 0 && t == 42);
    CHECK(dmtv_parse_time("3 parsecs", &t) != 0);
    CHECK(dmtv_parse_time("", &t) != 0);
    uint64_t v;
    CHECK(dmtv_parse_size("4k", &v) == 0 && v == 4096);
    CHECK(dmtv_parse_size("0x1000", &v) == 0 && v == 4096);
    CHECK(dmtv_parse_size("2MiB", &v) == 0 && v == 2097152);
    CHECK(dmtv_parse_size("-1", &v) != 0);
    CHECK(dmtv_parse_size("99999999999999999999", &v) != 0);

    CHECK(dmtv_reg_name(DMM_REG_IRQ_STATUS) &&
          !strcmp(dmtv_reg_name(DMM_REG_IRQ_STATUS), "IRQ_STATUS"));
    CHECK(!strcmp(dmtv_reg_name(DMM_CH_BASE(1) + DMM_CH_DESC_LO), "CH[1].DESC_LO"));
    CHECK(!strcmp(dmtv_reg_name(DMM_CH_BASE(0) + DMM_CH_CTRL), "CH[0].CTRL"));
    CHECK(dmtv_reg_name(0xFFC) == NULL);
    CHECK(dmtv_reg_doc(DMM_REG_ID) != NULL);
    /* values decoded by the map, fields by name */
    const char *dec = dmtv_reg_decode(DMM_CH_BASE(0) + DMM_CH_STATUS, 0x6);
    CHECK(dec && !strcmp(dec, "CH[0].STATUS=0x6 {DONE, ERR}"));
    return tk_result("viewer_units");
}
