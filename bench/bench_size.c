/*
 * bench_size.c - bytes per record in real trace files: the average encoded
 * size of each record kind (the distance between consecutive record
 * offsets), the bytes per scatter/gather element (an EXECUTE_DMA record's
 * bytes over its elements), and the whole file's bytes per record.
 * usage: bench_size FILE.dmat...
 */
#include <stdio.h>
#include <string.h>

#include "dmt/enc.h"
#include "dmt/reader.h"

int main(int argc, char **argv)
{
    for (int a = 1; a < argc; a++) {
        dmt_reader *rd;
        dmt_error err;
        if (dmt_reader_open(argv[a], DMT_READ_FRAMING, &rd, &err)) {
            fprintf(stderr, "bench_size: %s: %s\n", argv[a], err.msg);
            return 2;
        }
        uint64_t bytes[DMT_K_MAX_] = {0}, count[DMT_K_MAX_] = {0}, sg_bytes = 0, sg_el = 0;
        uint64_t sg_marginal = 0;
        static uint8_t scratch[DMT_MAX_RECORD];
        uint64_t prev_pos = 0, all = 0;
        uint32_t prev_kind = 0;
        uint32_t prev_nsg = 0;
        dmt_record r;
        int rc;
        while ((rc = dmt_reader_next(rd, &r, &err)) == 1) {
            if (prev_kind) {
                bytes[prev_kind] += r.pos - prev_pos;
                count[prev_kind]++;
                if (prev_kind == DMT_K_EXECUTE_DMA) {
                    sg_bytes += r.pos - prev_pos;
                    sg_el += prev_nsg;
                }
            }
            if (r.kind == DMT_K_EXECUTE_DMA && r.n_sg) {
                /* The list's own bytes: the record minus the same record
                 * with an empty list. */
                dmt_record e = r;
                size_t full = dmt_enc_record(scratch, sizeof scratch, &r, 0);
                e.n_sg = 0;
                size_t none = dmt_enc_record(scratch, sizeof scratch, &e, 0);
                sg_marginal += full - none;
            }
            prev_kind = r.kind;
            prev_pos = r.pos;
            prev_nsg = r.n_sg;
            all++;
        }
        uint64_t end = dmt_reader_offset(rd);
        dmt_reader_close(rd);
        printf("%s: %llu bytes, %llu records, %.1f bytes/record\n", argv[a],
               (unsigned long long)end, (unsigned long long)all, (double)end / (double)all);
        for (uint32_t k = 1; k < DMT_K_MAX_; k++)
            if (count[k])
                printf("  %-16s %9llu records %6.1f bytes each\n", dmt_kind_name(k),
                       (unsigned long long)count[k], (double)bytes[k] / (double)count[k]);
        if (count[DMT_K_REG_WRITE])
            printf("RESULT\tbytes per register write (%s)\t%.1f B\t<= 12 B\t-\t-\n",
                   strrchr(argv[a], '/') ? strrchr(argv[a], '/') + 1 : argv[a],
                   (double)bytes[DMT_K_REG_WRITE] / (double)count[DMT_K_REG_WRITE]);
        if (sg_el) {
            printf("  SG elements: %llu, %.1f bytes each in the list, %.1f bytes each with the "
                   "record's fixed fields\n",
                   (unsigned long long)sg_el, (double)sg_marginal / (double)sg_el,
                   (double)sg_bytes / (double)sg_el);
            printf("RESULT\tbytes per SG element (%s)\t%.1f B\t<= 10 B\t24 B raw element\t%.2f\n",
                   strrchr(argv[a], '/') ? strrchr(argv[a], '/') + 1 : argv[a],
                   (double)sg_marginal / (double)sg_el, (double)sg_marginal / (double)sg_el / 24.0);
        }
    }
    return 0;
}
