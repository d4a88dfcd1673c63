/*
 * windump.c - Windows kernel crash dumps as a run list (dmt/image.h).
 *
 *   file    +0       "PAGE" "DUMP" (32-bit, header 0x1000 bytes)
 *                    "PAGE" "DU64" (64-bit, header 0x2000 bytes)
 *           header   MachineImageType, NumberProcessors, BugCheckCode,
 *                    PhysicalMemoryBlockBuffer (run list), DumpType
 *           ...      page data, laid out by DumpType:
 *
 *   type 1 (full, XP..7)     pages of run 0, run 1, ... right after the header
 *   type 2 (kernel, XP..7)   "SDMP" "DUMP" sub-header after the main header:
 *                            HeaderSize = file offset of the first page,
 *                            BitmapSize = bits, then a PFN bitmap; present
 *                            pages stored densely in PFN order
 *   types 5, 6 (Win8+)       "FDMP"/"SDMP" "DUMP" sub-header after the main
 *                            header: FirstPage (file offset), present-page
 *                            count, bit count, PFN bitmap; pages as type 2
 *
 * Field offsets are in docs/memory-images.md with what each was checked
 * against.  Every count is checked against hard limits and the file size
 * before use; bitmaps are streamed in fixed chunks.
 */
#include "image_internal.h"

#define MAX_PAGES_LOG2 40 /* 2^40 pages = 4 PiB: beyond any real machine */
#define BITMAP_CHUNK   65536u

typedef struct layout {
    uint64_t hdr_size, machine, nproc, bugcheck, pmd, dump_type;
    uint32_t max_runs;
    uint64_t sum_bitmap; /* type-2 bitmap offset inside the sub-header */
} layout;

static const layout L32 = {0x1000, 0x20, 0x24, 0x28, 0x64, 0xF88, 86, 0x20};
static const layout L64 = {0x2000, 0x30, 0x34, 0x38, 0x88, 0xF98, 43, 0x28};

static int rd_field(dmt_image *img, uint64_t off, unsigned size, const char *what, uint64_t *v,
                    dmt_error *err)
{
    uint8_t b[8];
    int rc = img_need(img, off, size, what, err);
    if (rc == 0)
        rc = img_pread(img, b, size, off, err);
    if (rc)
        return rc;
    *v = size == 4 ? img_rd32(b) : img_rd64(b);
    return 0;
}

/* Type 1: the run list of PhysicalMemoryBlockBuffer, pages from hdr_size on. */
static int full_dump(dmt_image *img, const layout *l, bool is64, dmt_error *err)
{
    uint64_t nruns, npages;
    int rc = rd_field(img, l->pmd, 4, "NumberOfRuns", &nruns, err);
    if (rc == 0)
        rc = rd_field(img, l->pmd + (is64 ? 8 : 4), is64 ? 8 : 4, "NumberOfPages", &npages, err);
    if (rc)
        return rc;
    if (nruns == 0 || nruns > l->max_runs)
        return dmt_error_set(err, DMT_E_FORMAT, l->pmd, DMT_NO_INDEX,
                             "NumberOfRuns %" PRIu64 " (1 to %u in this header)", nruns,
                             l->max_runs);
    if (npages >> MAX_PAGES_LOG2)
        return dmt_error_set(err, DMT_E_FORMAT, l->pmd + (is64 ? 8 : 4), DMT_NO_INDEX,
                             "NumberOfPages %" PRIu64 " is beyond any machine", npages);
    uint64_t file_off = l->hdr_size, sum = 0;
    for (uint64_t i = 0; i < nruns; i++) {
        const uint64_t at = l->pmd + (is64 ? 0x10 + 16 * i : 8 + 8 * i);
        uint64_t base, count;
        if ((rc = rd_field(img, at, is64 ? 8 : 4, "Run.BasePage", &base, err)) ||
            (rc = rd_field(img, at + (is64 ? 8 : 4), is64 ? 8 : 4, "Run.PageCount", &count, err)))
            return rc;
        if ((base >> (64 - 12)) || (count >> MAX_PAGES_LOG2) || ((base + count) >> (64 - 12)))
            return dmt_error_set(err, DMT_E_FORMAT, at, DMT_NO_INDEX,
                                 "run %" PRIu64 " (base page 0x%" PRIx64 ", %" PRIu64
                                 " pages) is beyond any machine",
                                 i, base, count);
        sum += count;
        if (sum > npages)
            return dmt_error_set(err, DMT_E_FORMAT, at, DMT_NO_INDEX,
                                 "the runs hold more than NumberOfPages (%" PRIu64 ")", npages);
        if ((rc = img_add_run(img, base * DMT_IMAGE_PAGE, count * DMT_IMAGE_PAGE, file_off, at,
                              err)))
            return rc;
        file_off += count * DMT_IMAGE_PAGE;
    }
    if (sum != npages)
        return dmt_error_set(err, DMT_E_FORMAT, l->pmd, DMT_NO_INDEX,
                             "the runs hold %" PRIu64 " pages, NumberOfPages says %" PRIu64, sum,
                             npages);
    img->hdr_where = l->pmd;
    return 0;
}

/* Present pages stored densely in PFN order from data_off: one run per
 * maximal stretch of set bits.  Returns the number of set bits in *set. */
static int walk_bitmap(dmt_image *img, uint64_t bitmap_off, uint64_t bits, uint64_t data_off,
                       uint64_t *set, dmt_error *err)
{
    const uint64_t bytes = (bits + 7) / 8;
    int rc = img_need(img, bitmap_off, bytes, "page bitmap", err);
    if (rc)
        return rc;
    uint8_t buf[BITMAP_CHUNK];
    uint64_t present = 0, run_start = 0, run_len = 0;
    for (uint64_t done = 0; done < bytes; done += BITMAP_CHUNK) {
        size_t n = bytes - done < BITMAP_CHUNK ? (size_t)(bytes - done) : BITMAP_CHUNK;
        if ((rc = img_pread(img, buf, n, bitmap_off + done, err)))
            return rc;
        for (size_t i = 0; i < n; i++) {
            const uint8_t b = buf[i];
            const uint64_t pfn0 = (done + i) * 8;
            if (pfn0 + 8 <= bits && ((b == 0 && run_len == 0) || (b == 0xFF && run_len))) {
                run_len += b ? 8 : 0; /* a byte that neither starts nor ends a run */
                continue;
            }
            for (unsigned k = 0; k < 8 && pfn0 + k < bits; k++) {
                if ((b >> k) & 1) {
                    if (run_len++ == 0)
                        run_start = pfn0 + k;
                } else if (run_len) {
                    if ((rc = img_add_run(img, run_start * DMT_IMAGE_PAGE, run_len * DMT_IMAGE_PAGE,
                                          data_off + present * DMT_IMAGE_PAGE,
                                          bitmap_off + run_start / 8, err)))
                        return rc;
                    present += run_len;
                    run_len = 0;
                }
            }
        }
    }
    if (run_len) {
        if ((rc =
                 img_add_run(img, run_start * DMT_IMAGE_PAGE, run_len * DMT_IMAGE_PAGE,
                             data_off + present * DMT_IMAGE_PAGE, bitmap_off + run_start / 8, err)))
            return rc;
        present += run_len;
    }
    *set = present;
    return 0;
}

static int check_sub_sig(dmt_image *img, uint64_t s, const char *a, const char *b, dmt_error *err)
{
    uint8_t sig[8];
    int rc = img_need(img, s, 8, "bitmap dump header", err);
    if (rc == 0)
        rc = img_pread(img, sig, 8, s, err);
    if (rc)
        return rc;
    if ((memcmp(sig, a, 4) != 0 && memcmp(sig, b, 4) != 0) || memcmp(sig + 4, "DUMP", 4) != 0)
        return dmt_error_set(err, DMT_E_FORMAT, s, DMT_NO_INDEX,
                             "the bitmap dump header does not start with %s or %s and DUMP", a, b);
    return 0;
}

/* Type 2, XP..7 kernel dump. */
static int summary_dump(dmt_image *img, const layout *l, dmt_error *err)
{
    const uint64_t s = l->hdr_size;
    uint64_t hsize, bits;
    int rc = check_sub_sig(img, s, "SDMP", "SDMP", err);
    if (rc == 0)
        rc = rd_field(img, s + 0xC, 4, "HeaderSize", &hsize, err);
    if (rc == 0)
        rc = rd_field(img, s + 0x10, 4, "BitmapSize", &bits, err);
    if (rc)
        return rc;
    if (hsize < s + l->sum_bitmap + (bits + 7) / 8)
        return dmt_error_set(err, DMT_E_FORMAT, s + 0xC, DMT_NO_INDEX,
                             "HeaderSize %" PRIu64 " puts the pages inside the bitmap", hsize);
    uint64_t set;
    img->hdr_where = s;
    return walk_bitmap(img, s + l->sum_bitmap, bits, hsize, &set, err);
}

/* Types 5 and 6, Windows 8 and later. */
static int bitmap_dump(dmt_image *img, const layout *l, dmt_error *err)
{
    const uint64_t s = l->hdr_size;
    uint64_t first, a, b;
    int rc = check_sub_sig(img, s, "FDMP", "SDMP", err);
    if (rc == 0)
        rc = rd_field(img, s + 0x20, 8, "FirstPage", &first, err);
    if (rc == 0)
        rc = rd_field(img, s + 0x28, 8, "TotalPresentPages", &a, err);
    if (rc == 0)
        rc = rd_field(img, s + 0x30, 8, "Pages", &b, err);
    if (rc)
        return rc;
    /* Sources disagree on which of the two counts comes first: the bit
     * count is the larger one. */
    uint64_t present = a < b ? a : b, bits = a < b ? b : a;
    if (bits >> MAX_PAGES_LOG2)
        return dmt_error_set(err, DMT_E_FORMAT, s + 0x28, DMT_NO_INDEX,
                             "a bitmap of %" PRIu64 " pages is beyond any machine", bits);
    if (first < s + 0x38 + (bits + 7) / 8)
        return dmt_error_set(err, DMT_E_FORMAT, s + 0x20, DMT_NO_INDEX,
                             "FirstPage %" PRIu64 " puts the pages inside the bitmap", first);
    uint64_t set;
    img->hdr_where = s;
    if ((rc = walk_bitmap(img, s + 0x38, bits, first, &set, err)))
        return rc;
    if (set != present)
        return dmt_error_set(err, DMT_E_FORMAT, s + 0x28, DMT_NO_INDEX,
                             "the bitmap has %" PRIu64 " pages, the header says %" PRIu64, set,
                             present);
    return 0;
}

int img_open_windump(dmt_image *img, bool is64, dmt_error *err)
{
    const layout *l = is64 ? &L64 : &L32;
    img->info.format = is64 ? DMT_IMAGE_WINDUMP64 : DMT_IMAGE_WINDUMP32;
    uint64_t machine, nproc, bugcheck, type;
    int rc = rd_field(img, l->machine, 4, "MachineImageType", &machine, err);
    if (rc == 0)
        rc = rd_field(img, l->nproc, 4, "NumberProcessors", &nproc, err);
    if (rc == 0)
        rc = rd_field(img, l->bugcheck, 4, "BugCheckCode", &bugcheck, err);
    if (rc == 0)
        rc = rd_field(img, l->dump_type, 4, "DumpType", &type, err);
    if (rc)
        return rc;
    if (machine != (is64 ? 0x8664u : 0x14Cu))
        return dmt_error_set(err, DMT_E_FORMAT, l->machine, DMT_NO_INDEX,
                             "MachineImageType 0x%" PRIx64 " in a %s dump", machine,
                             is64 ? "64-bit" : "32-bit");
    img->info.machine = (uint32_t)machine;
    img->info.n_processors = (uint32_t)nproc;
    img->info.bugcheck = (uint32_t)bugcheck;
    img->info.dump_type = (uint32_t)type;
    switch (type) {
    case 1:
        return full_dump(img, l, is64, err);
    case 2:
        return summary_dump(img, l, err);
    case 5:
    case 6:
        return bitmap_dump(img, l, err);
    case 3:
    case 4:
        if (img->flags & DMT_IMAGE_NO_MEMORY_OK)
            return 0; /* no runs: finish_runs lets it through */
        return dmt_error_set(err, DMT_E_FORMAT, l->dump_type, DMT_NO_INDEX,
                             "dump type %" PRIu64 " (%s) holds no kernel memory: set the test "
                             "machine to write a kernel or complete memory dump",
                             type, type == 3 ? "header only" : "small/triage");
    default:
        return dmt_error_set(err, DMT_E_FORMAT, l->dump_type, DMT_NO_INDEX,
                             "unsupported dump type %" PRIu64, type);
    }
}
