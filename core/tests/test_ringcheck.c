/*
 * test_ringcheck.c - the drain's fast record checker against the reader:
 * for every record kind (ordinary and extreme values) and for hundreds of
 * thousands of mutations of them (byte flips, truncations, insertions,
 * special bytes) and random buffers, dmt_ring_record_check accepts exactly
 * what dmt_parse_ring_record accepts (framing kinds excluded), and reports
 * the same time field.
 */
#include <stdlib.h>
#include <string.h>

#include "dmt/testkit.h"
#include "dmt/tktrace.h"
#include "dmt/enc.h"
#include "dmt/reader.h"
#include "dmt/ringcheck.h"

static dmt_sg_elem sg_scratch[DMT_MAX_SG_ELEMENTS];
static uint64_t val_scratch[DMT_MAX_VALUES];
static unsigned long long seed = 0xfeedfacecafebeefULL;
static long agreed, accepted;

static void compare(const uint8_t *p, size_t n, const char *what)
{
    dmt_record r;
    dmt_error err;
    dmt_ring_record_info ri;
    int slow = dmt_parse_ring_record(p, n, &r, sg_scratch, val_scratch, &err) == 0 &&
               dmt_kind_info_get(r.kind) && dmt_kind_info_get(r.kind)->kclass == DMT_KC_EVENT;
    int fast = dmt_ring_record_check(p, n, &ri) == 0;
    CHECKF(slow == fast, "%s: reader %s, checker %s (%zu bytes, first 0x%02x)", what,
           slow ? "accepts" : "refuses", fast ? "accepts" : "refuses", n, n ? p[0] : 0);
    if (slow && fast) {
        CHECKF(ri.kind == r.kind && ri.time == r.ts, "%s: kind/time differ", what);
        accepted++;
    }
    agreed += slow == fast;
}

static void mutate_all(const uint8_t *rec, size_t n, const char *name)
{
    static uint8_t m[DMT_MAX_RECORD + 16];
    static const uint8_t special[] = {0x00, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x20, 0x38,
                                      0x3b, 0x40, 0x5f, 0x60, 0x7f, 0x80, 0x9b, 0x9f, 0xa0, 0xc6,
                                      0xd9, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xff};
    compare(rec, n, name);
    /* Truncations and one extra byte. */
    for (size_t k = 0; k < n && k < 64; k++)
        compare(rec, k, name);
    memcpy(m, rec, n);
    m[n] = 0x00;
    compare(m, n + 1, name);
    /* Every position of short records (a sample of long ones) x special bytes. */
    size_t step = n > 256 ? n / 64 : 1;
    for (size_t i = 0; i < n; i += step) {
        for (size_t s = 0; s < sizeof special; s++) {
            memcpy(m, rec, n);
            m[i] = special[s];
            compare(m, n, name);
        }
        memcpy(m, rec, n);
        m[i] ^= (uint8_t)(1u << (tk_rand(&seed) % 8));
        compare(m, n, name);
        /* Insert a byte. */
        memcpy(m, rec, i);
        m[i] = (uint8_t)tk_rand(&seed);
        memcpy(m + i + 1, rec + i, n - i);
        compare(m, n + 1, name);
    }
}

int main(void)
{
    static uint8_t buf[DMT_MAX_RECORD];
    for (int big = 0; big < 2; big++)
        for (uint32_t k = 1; k < DMT_K_MAX_; k++) {
            dmt_record r;
            tk_sample_record(&r, k, big, 0);
            if (k == DMT_K_LOST) {
                r.value = 1;
                r.count = 2;
            }
            int64_t t = big ? INT64_MAX : (int64_t)(tk_rand(&seed) >> 2);
            size_t n = dmt_enc_record(buf, sizeof buf, &r, t);
            if (n == 0)
                continue;
            mutate_all(buf, n, dmt_kind_name(k));
            n = dmt_enc_record(buf, sizeof buf, &r, -5);
            compare(buf, n, "negative time");
        }
    /* Trailing fields of a newer minor version. */
    {
        const uint8_t rec[] = {0x86, 0x01, 0x00, 0x01, 0x02, 0x04, 0x00};
        compare(rec, sizeof rec, "reg_write with dev");
        const uint8_t rec2[] = {0x86, 0x0a, 0x00, 0x01, 0x63, 'a', 'b', 'c', 0x82, 0x01, 0x02};
        compare(rec2, sizeof rec2, "adapter_release + text + array");
        const uint8_t rec3[] = {0x84, 0x0a, 0x00, 0x01, 0xf9, 0x3c, 0x00};
        compare(rec3, sizeof rec3, "adapter_release + half float");
    }
    /* A uint32 field (adapter_release's adapter) with an 8-byte argument:
     * accepted up to UINT32_MAX only, whichever high byte is set. */
    for (int hi = -1; hi < 8; hi++) {
        uint8_t rec[] = {0x83, 0x0a, 0x00, 0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
        if (hi >= 0)
            rec[4 + hi] |= 0x01;
        compare(rec, sizeof rec, "uint32 field, 8-byte argument");
        rec[3] = 0x1a; /* 4 bytes: always in range */
        compare(rec, 8, "uint32 field, 4-byte argument");
    }
    /* Random buffers, mostly garbage. */
    for (int i = 0; i < 200000; i++) {
        size_t n = (size_t)(tk_rand(&seed) % 40);
        for (size_t j = 0; j < n; j++)
            buf[j] = (uint8_t)tk_rand(&seed);
        if (n)
            buf[0] = (uint8_t)(0x82 + tk_rand(&seed) % 8); /* an array head */
        if (n > 1)
            buf[1] = (uint8_t)(1 + tk_rand(&seed) % 25);
        compare(buf, n, "random");
    }
    fprintf(stderr, "test_ringcheck: %ld cases agreed, %ld accepted by both\n", agreed, accepted);
    CHECK(accepted > 1000);
    return tk_result("test_ringcheck");
}
