/*
 * dmt/image.h - physical memory images: where each physical page of a
 * machine is in a file, whatever wrote the file.
 *
 * `dmatrace carve` finds rings in the memory of a machine that crashed or
 * was stopped.  That memory arrives in one of these containers, told apart
 * by content, never by file name (layouts in docs/memory-images.md):
 *
 *   raw        any file: byte N is physical address N
 *   ELF core   PT_LOAD segments map p_paddr -> p_offset (QEMU's
 *              dump-guest-memory, kdump vmcores); 32- and 64-bit
 *   Windows    kernel crash dumps "PAGE"+"DUMP" (32-bit) / "PAGE"+"DU64"
 *              (64-bit): full (type 1, a run list), kernel (type 2, a page
 *              bitmap) and Windows 8+ bitmap dumps (types 5 and 6)
 *
 * An opened image is a sorted list of runs: [phys, phys+len) is stored at
 * [file_off, file_off+len).  Runs never overlap in physical space (a file
 * whose runs overlap is refused).  Pages in no run are absent: a kernel
 * dump leaves most user memory out, and a cut file loses its tail.
 *
 * Untrusted input: every count read from the file is checked against the
 * file's size and a fixed cap before it is used; the run list is the only
 * allocation and is capped at DMT_IMAGE_MAX_RUNS entries whatever the
 * image's size, so memory stays bounded for a 64 GiB image.
 */
#ifndef DMT_IMAGE_H
#define DMT_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmt/error.h"

#define DMT_IMAGE_PAGE     4096u
#define DMT_IMAGE_MAX_RUNS (1u << 21) /* runs kept (48 MiB at most) */

enum dmt_image_format {
    DMT_IMAGE_RAW = 1,
    DMT_IMAGE_ELF32,
    DMT_IMAGE_ELF64,
    DMT_IMAGE_WINDUMP32, /* "PAGEDUMP" */
    DMT_IMAGE_WINDUMP64  /* "PAGEDU64" */
};

enum dmt_image_flags {
    /* Accept an image whose runs extend past the end of the file (a copy
     * that was cut): the missing tail is absent, dmt_image_info says how
     * much.  Without it such an image is refused. */
    DMT_IMAGE_ALLOW_CUT = 1u,
    /* Accept a Windows dump that holds no memory (DumpType 3, header only,
     * and 4, small/triage): the image has no runs at all, and only its
     * header and secondary data can be searched (the carver's locators).
     * Without it such a dump is refused with a line naming the setting a
     * test machine needs. */
    DMT_IMAGE_NO_MEMORY_OK = 2u
};

typedef struct dmt_image_run {
    uint64_t phys;     /* first physical address */
    uint64_t len;      /* bytes; > 0 */
    uint64_t file_off; /* where the first byte is in the file */
} dmt_image_run;

typedef struct dmt_image_info {
    enum dmt_image_format format;
    uint32_t dump_type;    /* Windows DumpType (1, 2, 5, 6), else 0 */
    uint64_t file_size;    /* bytes */
    uint64_t present;      /* physical bytes the file holds */
    uint64_t cut_bytes;    /* bytes the runs claim past the end of the file */
    uint32_t machine;      /* Windows MachineImageType / ELF e_machine, or 0 */
    uint32_t n_processors; /* Windows NumberProcessors, or 0 */
    uint32_t bugcheck;     /* Windows BugCheckCode, or 0 */
} dmt_image_info;

typedef struct dmt_image dmt_image;

/* Open path and work out where its pages are.  On success *out is the
 * caller's (dmt_image_close).  Errors: DMT_E_IO (unreadable), DMT_E_FORMAT /
 * DMT_E_TRUNCATED with err->offset at the header field that is wrong. */
int dmt_image_open(const char *path, unsigned flags, dmt_image **out, dmt_error *err);
void dmt_image_close(dmt_image *img); /* NULL ok */

const dmt_image_info *dmt_image_get_info(const dmt_image *img);
const char *dmt_image_format_name(enum dmt_image_format f);

/* The runs, sorted by phys (borrowed; valid until close). */
const dmt_image_run *dmt_image_runs(const dmt_image *img, size_t *n);

/* Read up to len bytes at physical address phys into dst.  Returns the
 * number of bytes copied, which stops early at the first absent byte (0 if
 * phys itself is absent), or a negative DMT_E_IO.  *next_present (may be
 * NULL) receives the next physical address >= phys + returned bytes that is
 * present, or UINT64_MAX. */
long dmt_image_read(dmt_image *img, uint64_t phys, void *dst, size_t len, uint64_t *next_present,
                    dmt_error *err);

/* Bytes of [phys, phys+len) that the image does not hold. */
uint64_t dmt_image_absent(const dmt_image *img, uint64_t phys, uint64_t len);

/* The file descriptor (borrowed) for callers that stream runs themselves
 * (the carver's scan reads runs in file order with large reads). */
int dmt_image_fd(const dmt_image *img);

#endif
