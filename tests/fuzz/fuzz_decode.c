/*
 * fuzz_decode.c - fuzz target: the table-driven record decoder against the
 * libcbor reference (dmt/decode.h), over arbitrary bytes.
 *
 * Per input:
 *  1. The two decoders at every offset of the input (the first 4096): a
 *     record the fast decoder accepts, the reference accepts with the same
 *     length and the same fields (every dmt_record member), and vice versa.
 *  2. The input as a trace, in strict, allow-cut and allow-cut+framing
 *     modes: the reader and the reader with DMT_READ_REFERENCE return the
 *     same header, the same records (offsets, sequence numbers, members)
 *     and the same end: clean, cut at the same offset, or the same error
 *     (code, byte offset, record index, message).
 * The regression test runs it over every fuzz corpus (traces, ring regions,
 * replay and import inputs).
 */
#include "dmt/reader.h"
#include "dmt/tk_record.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    size_t offsets = size < 4096 ? size : 4096;
    for (size_t i = 0; i < offsets; i++) {
        size_t n = size - i;
        if (n > DMT_MAX_RECORD + 16)
            n = DMT_MAX_RECORD + 16;
        FZ_CHECK(tk_decoders_agree(data + i, n, NULL, why, sizeof why), "at byte %zu: %s", i, why);
    }
    static const unsigned modes[] = {0, DMT_READ_ALLOW_CUT, DMT_READ_ALLOW_CUT | DMT_READ_FRAMING};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++)
        FZ_CHECK(tk_readers_agree(data, size, modes[m], why, sizeof why), "reader mode %u: %s",
                 modes[m], why);
    return 0;
}
