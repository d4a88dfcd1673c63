/*
 * crc32c.c - CRC-32C: slicing-by-8 tables, and the SSE4.2 crc32 instruction
 * picked at first use when the CPU supports it.
 *
 * The instruction takes 3 cycles and can start every cycle, so one chain of
 * them runs at a third of what the unit can do: the hardware path cuts
 * long inputs into three blocks of BLK bytes computed side by side and
 * joins them.  The CRC register is linear in its input: the register after
 * A then B equals the register after A, multiplied by x^(8 |B|) modulo the
 * polynomial, xor the register after B started from 0 - so
 *   reg(A B C) = (reg(A) * X + reg0(B)) * X + reg0(C),  X = x^(8 BLK).
 * Polynomials are kept reflected, as the CRC is: bit 31 is x^0.
 */
#include "dmt/crc32c.h"

#include <stdbool.h>
#include <string.h>

#define POLY 0x82F63B78u

static uint32_t table[8][256];
#if defined(__x86_64__)
static bool have_hw;   /* SSE4.2 crc32 (x86-64 only; the 32-bit x86 build uses tables) */
#define BLK 4096u      /* bytes of each of the three blocks computed side by side */
static uint32_t x_blk; /* x^(8 BLK) modulo the polynomial */

/* a * b modulo the polynomial (reflected: bit 31 is x^0) */
static uint32_t mul_mod(uint32_t a, uint32_t b)
{
    uint32_t p = 0;
    for (int i = 0; i < 32; i++) {
        if (a & (0x80000000u >> i))
            p ^= b;
        b = (b & 1) ? (b >> 1) ^ POLY : b >> 1; /* b * x */
    }
    return p;
}
#endif

/* Runs before main, so readers on several threads never race on it. */
__attribute__((constructor)) static void init_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xFF];
#if defined(__x86_64__)
    __builtin_cpu_init();
    have_hw = __builtin_cpu_supports("sse4.2");
    x_blk = 0x80000000u; /* x^0 */
    for (unsigned i = 0; i < 8 * BLK; i++)
        x_blk = (x_blk & 1) ? (x_blk >> 1) ^ POLY : x_blk >> 1;
#endif
}

uint32_t dmt_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    crc = ~crc;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc;
        crc = table[7][w & 0xFF] ^ table[6][(w >> 8) & 0xFF] ^ table[5][(w >> 16) & 0xFF] ^
              table[4][(w >> 24) & 0xFF] ^ table[3][(w >> 32) & 0xFF] ^ table[2][(w >> 40) & 0xFF] ^
              table[1][(w >> 48) & 0xFF] ^ table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xFF];
    return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *data,
                                                            size_t len)
{
    const uint8_t *p = data;
    uint64_t c = ~crc;
    while (len >= 3 * BLK) {
        uint64_t c1 = 0, c2 = 0;
        for (size_t i = 0; i < BLK; i += 8) {
            uint64_t w0, w1, w2;
            memcpy(&w0, p + i, 8);
            memcpy(&w1, p + BLK + i, 8);
            memcpy(&w2, p + 2 * BLK + i, 8);
            c = __builtin_ia32_crc32di(c, w0);
            c1 = __builtin_ia32_crc32di(c1, w1);
            c2 = __builtin_ia32_crc32di(c2, w2);
        }
        c = mul_mod(mul_mod((uint32_t)c, x_blk) ^ (uint32_t)c1, x_blk) ^ (uint32_t)c2;
        p += 3 * BLK;
        len -= 3 * BLK;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}
#endif

uint32_t dmt_crc32c(uint32_t crc, const void *data, size_t len)
{
#if defined(__x86_64__)
    if (have_hw)
        return crc32c_hw(crc, data, len);
#endif
    return dmt_crc32c_sw(crc, data, len);
}
