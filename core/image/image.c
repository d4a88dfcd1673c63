/*
 * image.c - open a physical memory image and list where its pages are
 * (dmt/image.h): content sniffing, the raw and ELF-core readers, the run
 * list, and reads by physical address.  Windows crash dumps: windump.c.
 *
 * Invariants:
 *  1. img->runs is sorted by phys (empty only for a Windows small or
 *     header-only dump opened with DMT_IMAGE_NO_MEMORY_OK), runs do not overlap, every run has
 *     len > 0 and lies inside the file unless DMT_IMAGE_ALLOW_CUT clipped it
 *     (then cut_bytes counts what was clipped and the run list holds only
 *     what the file has).
 *  2. Nothing is allocated from a count read from the file beyond
 *     DMT_IMAGE_MAX_RUNS runs; headers are read into fixed buffers.
 */
#include "image_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dmt/platform.h"

#define ELF_MAX_PHDRS 65536u

int img_pread(dmt_image *img, void *dst, size_t len, uint64_t off, dmt_error *err)
{
    uint8_t *p = dst;
    while (len) {
        long n = dmt_file_pread(img->fd, p, len, off);
        if (n < 0) {
            int e = (int)-n;
            dmt_error_set(err, DMT_E_IO, off, DMT_NO_INDEX, "read failed: %s", strerror(e));
            if (err)
                err->sys_errno = e;
            return DMT_E_IO;
        }
        if (n == 0)
            return dmt_error_set(err, DMT_E_TRUNCATED, off, DMT_NO_INDEX,
                                 "the file ends inside the image header");
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

int img_need(const dmt_image *img, uint64_t off, uint64_t size, const char *what, dmt_error *err)
{
    if (off > img->info.file_size || size > img->info.file_size - off)
        return dmt_error_set(err, DMT_E_TRUNCATED, off, DMT_NO_INDEX,
                             "the file ends inside the %s (%" PRIu64 " bytes at byte %" PRIu64 ")",
                             what, size, off);
    return 0;
}

int img_add_run(dmt_image *img, uint64_t phys, uint64_t len, uint64_t file_off, uint64_t where,
                dmt_error *err)
{
    if (len == 0)
        return 0;
    if (phys + len < phys)
        return dmt_error_set(err, DMT_E_FORMAT, where, DMT_NO_INDEX,
                             "a run at physical 0x%" PRIx64 " wraps past 2^64", phys);
    if (file_off + len < file_off)
        return dmt_error_set(err, DMT_E_FORMAT, where, DMT_NO_INDEX,
                             "a run's file range wraps past 2^64");
    const uint64_t size = img->info.file_size;
    uint64_t have = file_off >= size ? 0 : size - file_off;
    if (have < len) {
        if (!(img->flags & DMT_IMAGE_ALLOW_CUT))
            return dmt_error_set(err, DMT_E_FORMAT, where, DMT_NO_INDEX,
                                 "a run of %" PRIu64 " bytes at file byte %" PRIu64
                                 " ends past the end of the file (%" PRIu64
                                 " bytes; a cut copy? see --allow-cut)",
                                 len, file_off, size);
        img->info.cut_bytes += len - have;
        len = have;
        if (len == 0)
            return 0;
    }
    if (img->n_runs == DMT_IMAGE_MAX_RUNS)
        return dmt_error_set(err, DMT_E_FORMAT, where, DMT_NO_INDEX,
                             "more than %u separate runs of memory", DMT_IMAGE_MAX_RUNS);
    if (img->n_runs == img->cap_runs) {
        size_t cap = img->cap_runs ? img->cap_runs * 2 : 64;
        if (cap > DMT_IMAGE_MAX_RUNS)
            cap = DMT_IMAGE_MAX_RUNS;
        dmt_image_run *r = realloc(img->runs, cap * sizeof *r);
        if (!r)
            return dmt_error_set(err, DMT_E_NOMEM, where, DMT_NO_INDEX, "out of memory");
        img->runs = r;
        img->cap_runs = cap;
    }
    img->runs[img->n_runs++] = (dmt_image_run){phys, len, file_off};
    img->info.present += len;
    return 0;
}

static int run_cmp(const void *a, const void *b)
{
    const dmt_image_run *x = a, *y = b;
    return x->phys < y->phys ? -1 : x->phys > y->phys;
}

/* Sort, refuse overlaps, merge runs that continue each other in both spaces. */
static int finish_runs(dmt_image *img, dmt_error *err)
{
    if (img->n_runs == 0 && (img->flags & DMT_IMAGE_NO_MEMORY_OK) &&
        (img->info.dump_type == 3 || img->info.dump_type == 4))
        return 0; /* a small dump, asked for: no runs (windump.c) */
    if (img->n_runs == 0)
        return dmt_error_set(err, DMT_E_FORMAT, 0, DMT_NO_INDEX,
                             "the image holds no memory at all");
    qsort(img->runs, img->n_runs, sizeof *img->runs, run_cmp);
    size_t w = 0;
    for (size_t i = 1; i < img->n_runs; i++) {
        dmt_image_run *prev = &img->runs[w], *r = &img->runs[i];
        if (r->phys < prev->phys + prev->len)
            return dmt_error_set(err, DMT_E_FORMAT, img->hdr_where, DMT_NO_INDEX,
                                 "runs overlap at physical 0x%" PRIx64, r->phys);
        if (r->phys == prev->phys + prev->len && r->file_off == prev->file_off + prev->len)
            prev->len += r->len;
        else
            img->runs[++w] = *r;
    }
    img->n_runs = w + 1;
    return 0;
}

/* ---- ELF core ------------------------------------------------------------- */

static int open_elf(dmt_image *img, const uint8_t *h, size_t hn, dmt_error *err)
{
    if (hn < 52)
        return dmt_error_set(err, DMT_E_TRUNCATED, hn, DMT_NO_INDEX,
                             "the file ends inside the ELF header");
    const bool is64 = h[4] == 2;
    if (h[4] != 1 && h[4] != 2)
        return dmt_error_set(err, DMT_E_FORMAT, 4, DMT_NO_INDEX, "unknown ELF class %u", h[4]);
    if (h[5] != 1)
        return dmt_error_set(err, DMT_E_FORMAT, 5, DMT_NO_INDEX,
                             "big-endian ELF images are not supported");
    if (is64 && hn < 64)
        return dmt_error_set(err, DMT_E_TRUNCATED, hn, DMT_NO_INDEX,
                             "the file ends inside the ELF header");
    img->info.format = is64 ? DMT_IMAGE_ELF64 : DMT_IMAGE_ELF32;
    img->info.machine = img_rd16(h + 18);
    const uint64_t phoff = is64 ? img_rd64(h + 32) : img_rd32(h + 28);
    const uint32_t phentsize = img_rd16(h + (is64 ? 54 : 42));
    uint32_t phnum = img_rd16(h + (is64 ? 56 : 44));
    const uint32_t want = is64 ? 56 : 32;
    img->hdr_where = is64 ? 56 : 44;
    if (phnum == 0xFFFF) {
        /* PN_XNUM: the real count is section 0's sh_info. */
        const uint64_t shoff = is64 ? img_rd64(h + 40) : img_rd32(h + 32);
        uint8_t sh[64];
        const uint32_t shsize = is64 ? 64 : 40;
        int rc = img_need(img, shoff, shsize, "ELF section header 0", err);
        if (rc == 0)
            rc = img_pread(img, sh, shsize, shoff, err);
        if (rc)
            return rc;
        phnum = img_rd32(sh + (is64 ? 44 : 28));
        img->hdr_where = shoff + (is64 ? 44 : 28);
    }
    if (phnum == 0)
        return dmt_error_set(err, DMT_E_FORMAT, img->hdr_where, DMT_NO_INDEX,
                             "the ELF file has no program headers");
    if (phnum > ELF_MAX_PHDRS)
        return dmt_error_set(err, DMT_E_FORMAT, img->hdr_where, DMT_NO_INDEX,
                             "%u program headers (at most %u)", phnum, ELF_MAX_PHDRS);
    if (phentsize < want)
        return dmt_error_set(err, DMT_E_FORMAT, is64 ? 54 : 42, DMT_NO_INDEX,
                             "program header size %u (need %u)", phentsize, want);
    int rc = img_need(img, phoff, (uint64_t)phentsize * phnum, "ELF program headers", err);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < phnum; i++) {
        uint8_t ph[56];
        const uint64_t at = phoff + (uint64_t)i * phentsize;
        if ((rc = img_pread(img, ph, want, at, err)))
            return rc;
        if (img_rd32(ph) != 1 /* PT_LOAD */)
            continue;
        uint64_t off, paddr, filesz;
        if (is64) {
            off = img_rd64(ph + 8);
            paddr = img_rd64(ph + 24);
            filesz = img_rd64(ph + 32);
        } else {
            off = img_rd32(ph + 4);
            paddr = img_rd32(ph + 12);
            filesz = img_rd32(ph + 16);
        }
        img->hdr_where = at;
        if ((rc = img_add_run(img, paddr, filesz, off, at, err)))
            return rc;
    }
    img->hdr_where = phoff;
    return 0;
}

/* ---- open ----------------------------------------------------------------- */

int dmt_image_open(const char *path, unsigned flags, dmt_image **out, dmt_error *err)
{
    *out = NULL;
    dmt_image *img = calloc(1, sizeof *img);
    if (!img)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    img->flags = flags;
    img->fd = dmt_file_open(path, DMT_OPEN_READ);
    int e = img->fd < 0 ? -img->fd : -dmt_file_size(img->fd, &img->info.file_size, NULL);
    if (e) {
        dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "cannot open: %s", strerror(e));
        if (err)
            err->sys_errno = e;
        dmt_image_close(img);
        return DMT_E_IO;
    }

    uint8_t h[64] = {0};
    size_t hn = img->info.file_size < sizeof h ? (size_t)img->info.file_size : sizeof h;
    int rc = img_pread(img, h, hn, 0, err);
    if (rc == 0) {
        if (hn >= 8 && memcmp(h, "PAGEDUMP", 8) == 0)
            rc = img_open_windump(img, false, err);
        else if (hn >= 8 && memcmp(h, "PAGEDU64", 8) == 0)
            rc = img_open_windump(img, true, err);
        else if (hn >= 4 && memcmp(h, "\177ELF", 4) == 0)
            rc = open_elf(img, h, hn, err);
        else {
            img->info.format = DMT_IMAGE_RAW;
            rc = img_add_run(img, 0, img->info.file_size, 0, 0, err);
        }
    }
    if (rc == 0)
        rc = finish_runs(img, err);
    if (rc) {
        dmt_image_close(img);
        return rc;
    }
    *out = img;
    return 0;
}

void dmt_image_close(dmt_image *img)
{
    if (!img)
        return;
    if (img->fd >= 0)
        dmt_file_close(img->fd);
    free(img->runs);
    free(img);
}

const dmt_image_info *dmt_image_get_info(const dmt_image *img)
{
    return &img->info;
}

const char *dmt_image_format_name(enum dmt_image_format f)
{
    switch (f) {
    case DMT_IMAGE_RAW:
        return "raw";
    case DMT_IMAGE_ELF32:
        return "elf32-core";
    case DMT_IMAGE_ELF64:
        return "elf64-core";
    case DMT_IMAGE_WINDUMP32:
        return "windows-dump32";
    case DMT_IMAGE_WINDUMP64:
        return "windows-dump64";
    }
    return "unknown";
}

const dmt_image_run *dmt_image_runs(const dmt_image *img, size_t *n)
{
    *n = img->n_runs;
    return img->runs;
}

int dmt_image_fd(const dmt_image *img)
{
    return img->fd;
}

/* Index of the last run with phys <= addr, or SIZE_MAX. */
static size_t find_run(const dmt_image *img, uint64_t addr)
{
    size_t lo = 0, hi = img->n_runs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (img->runs[mid].phys <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? SIZE_MAX : lo - 1;
}

long dmt_image_read(dmt_image *img, uint64_t phys, void *dst, size_t len, uint64_t *next_present,
                    dmt_error *err)
{
    size_t done = 0;
    uint64_t addr = phys;
    while (done < len) {
        size_t i = find_run(img, addr);
        const dmt_image_run *r = i == SIZE_MAX ? NULL : &img->runs[i];
        if (!r || addr - r->phys >= r->len)
            break; /* absent */
        uint64_t in = addr - r->phys;
        uint64_t n = r->len - in;
        if (n > len - done)
            n = len - done;
        int rc = img_pread(img, (uint8_t *)dst + done, (size_t)n, r->file_off + in, err);
        if (rc)
            return rc == DMT_E_TRUNCATED ? DMT_E_IO : rc; /* the file shrank under us */
        done += (size_t)n;
        addr += n;
    }
    if (next_present) {
        size_t i = find_run(img, addr);
        const dmt_image_run *r = i == SIZE_MAX ? NULL : &img->runs[i];
        if (r && addr - r->phys < r->len)
            *next_present = addr;
        else {
            size_t j = i == SIZE_MAX ? 0 : i + 1;
            *next_present = j < img->n_runs ? img->runs[j].phys : UINT64_MAX;
        }
    }
    return (long)done;
}

uint64_t dmt_image_absent(const dmt_image *img, uint64_t phys, uint64_t len)
{
    uint64_t end = len > UINT64_MAX - phys ? UINT64_MAX : phys + len, present = 0;
    size_t i = find_run(img, phys);
    for (i = i == SIZE_MAX ? 0 : i; i < img->n_runs && img->runs[i].phys < end; i++) {
        const dmt_image_run *r = &img->runs[i];
        uint64_t lo = r->phys > phys ? r->phys : phys;
        uint64_t hi = r->phys + r->len < end ? r->phys + r->len : end;
        if (hi > lo)
            present += hi - lo;
    }
    return (end - phys) - present;
}
