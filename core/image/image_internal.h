/*
 * image_internal.h - what the image readers (image.c, windump.c) share:
 * the image object, little-endian field reads, bounded reads and the run
 * list builder.  Private to core/image/.
 */
#ifndef DMT_IMAGE_INTERNAL_H
#define DMT_IMAGE_INTERNAL_H

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "dmt/image.h"

struct dmt_image {
    int fd;
    unsigned flags; /* enum dmt_image_flags */
    dmt_image_info info;
    dmt_image_run *runs; /* sorted by phys after open (invariant 1, image.c) */
    size_t n_runs, cap_runs;
    uint64_t hdr_where; /* header offset named by errors found after parsing */
};

static inline uint16_t img_rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t img_rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v; /* little-endian hosts only (x86, arm64) */
}
static inline uint64_t img_rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* pread exactly len bytes at off; DMT_E_TRUNCATED if the file ends first. */
int img_pread(dmt_image *img, void *dst, size_t len, uint64_t off, dmt_error *err);
/* DMT_E_TRUNCATED naming `what` unless [off, off+size) is inside the file. */
int img_need(const dmt_image *img, uint64_t off, uint64_t size, const char *what, dmt_error *err);
/* Append a run (clipped at the end of the file with DMT_IMAGE_ALLOW_CUT,
 * refused without it); `where` is the header offset errors name. */
int img_add_run(dmt_image *img, uint64_t phys, uint64_t len, uint64_t file_off, uint64_t where,
                dmt_error *err);

/* Windows crash dumps (windump.c), after "PAGEDUMP" / "PAGEDU64". */
int img_open_windump(dmt_image *img, bool is64, dmt_error *err);

#endif
