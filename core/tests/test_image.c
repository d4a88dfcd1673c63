/*
 * test_image.c - tests for the memory-image readers (core/image): raw files,
 * ELF cores and Windows crash dumps (32/64-bit; types 1, 2, 5, 6) built here
 * from the documented layouts around one reference "physical memory", read
 * back by physical address; hostile headers (runs past the end, overlapping
 * runs, absurd counts, a header cut at every byte) refused with the offset.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmt/testkit.h"
#include "dmt/image.h"

#define PG      4096u
#define MEM_PGS 64u /* the reference machine: 256 KiB of "physical memory" */

static char tmpdir[64];

/* Byte `off` of physical page pfn in the reference machine. */
static uint8_t mem_byte(uint64_t pfn, uint32_t off)
{
    return (uint8_t)((pfn * 131u) ^ (off * 7u) ^ (off >> 8));
}

static void fill_page(uint8_t *dst, uint64_t pfn)
{
    for (uint32_t i = 0; i < PG; i++)
        dst[i] = mem_byte(pfn, i);
}

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, size_t off, const void *src, size_t n)
{
    if (off + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < off + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            abort();
        b->p = p;
        memset(b->p + b->cap, 0, cap - b->cap);
        b->cap = cap;
    }
    memcpy(b->p + off, src, n);
    if (off + n > b->n)
        b->n = off + n;
}
static void put32(buf *b, size_t off, uint32_t v)
{
    put(b, off, &v, 4);
}
static void put64(buf *b, size_t off, uint64_t v)
{
    put(b, off, &v, 8);
}
static void put_page(buf *b, size_t off, uint64_t pfn)
{
    uint8_t pg[PG];
    fill_page(pg, pfn);
    put(b, off, pg, PG);
}

static const char *write_file(const char *name, const buf *b, size_t len)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(b->p, 1, len, f) == len);
    if (f)
        fclose(f);
    return path;
}

/* Which pages of the reference machine a dump holds (1) or omits (0). */
static int present_pfn(uint64_t pfn, int pattern)
{
    switch (pattern) {
    case 0: /* everything */
        return 1;
    case 1: /* a hole inside: pages 20..23 missing */
        return pfn < 20 || pfn >= 24;
    default: /* a kernel dump: odd stretches */
        return (pfn / 3) % 2 == 0 || pfn == 40;
    }
}

/* Read every page back through the image; absent pages must read as absent. */
static void verify(dmt_image *img, int pattern, uint64_t npages)
{
    uint8_t got[PG], want[PG];
    for (uint64_t pfn = 0; pfn < npages; pfn++) {
        uint64_t next = 0;
        long n = dmt_image_read(img, pfn * PG, got, PG, &next, NULL);
        if (present_pfn(pfn, pattern)) {
            fill_page(want, pfn);
            CHECKF(n == PG && memcmp(got, want, PG) == 0, "page %" PRIu64 ": n=%ld", pfn, n);
        } else {
            CHECKF(n == 0, "absent page %" PRIu64 " read %ld bytes", pfn, n);
            uint64_t q = pfn + 1;
            while (q < npages && !present_pfn(q, pattern))
                q++;
            CHECKF(next == (q < npages ? q * PG : UINT64_MAX), "page %" PRIu64 " next %" PRIx64,
                   pfn, next);
        }
    }
    /* A read across a page boundary inside present memory is whole. */
    uint8_t two[2 * PG];
    long n = dmt_image_read(img, 100, two, PG, NULL, NULL);
    CHECK(n == PG && two[0] == mem_byte(0, 100) && two[PG - 1] == mem_byte(1, 99));
}

/* ---- raw ------------------------------------------------------------------ */

static void test_raw(void)
{
    buf b = {0};
    for (uint64_t pfn = 0; pfn < MEM_PGS; pfn++)
        put_page(&b, pfn * PG, pfn);
    dmt_image *img;
    dmt_error err;
    CHECK(dmt_image_open(write_file("raw.bin", &b, b.n), 0, &img, &err) == 0);
    CHECK(dmt_image_get_info(img)->format == DMT_IMAGE_RAW);
    CHECK(dmt_image_get_info(img)->present == MEM_PGS * PG);
    verify(img, 0, MEM_PGS);
    uint64_t next;
    uint8_t x[16];
    CHECK(dmt_image_read(img, MEM_PGS * PG - 8, x, 16, &next, NULL) == 8 && next == UINT64_MAX);
    dmt_image_close(img);
    free(b.p);
}

/* ---- ELF ------------------------------------------------------------------ */

/* An ELF core of the reference machine in `nseg` PT_LOAD segments placed at
 * file offsets that are not page-aligned (as QEMU writes them), in reverse
 * physical order, plus a PT_NOTE that must be ignored. */
static size_t build_elf(buf *b, bool is64, unsigned nseg)
{
    const size_t ehsize = is64 ? 64 : 52, phsize = is64 ? 56 : 32;
    const unsigned nph = nseg + 1;
    uint8_t e[64] = {0x7F, 'E', 'L', 'F', is64 ? 2 : 1, 1, 1};
    put(b, 0, e, ehsize);
    put32(b, 16, 4 | (uint32_t)(is64 ? 62 : 3) << 16); /* ET_CORE, machine */
    if (is64) {
        put64(b, 32, ehsize);
        put32(b, 52, (uint32_t)ehsize | (uint32_t)phsize << 16);
        put32(b, 56, nph);
    } else {
        put32(b, 28, (uint32_t)ehsize);
        put32(b, 40, (uint32_t)ehsize | (uint32_t)phsize << 16);
        put32(b, 44, nph);
    }
    size_t data = ehsize + nph * phsize + 0x33; /* deliberately unaligned */
    const uint64_t per = MEM_PGS / nseg;
    for (unsigned s = 0; s < nph; s++) {
        const size_t at = ehsize + s * phsize;
        if (s == nseg) { /* PT_NOTE */
            put32(b, at, 4);
            continue;
        }
        const unsigned seg = nseg - 1 - s; /* reverse order */
        const uint64_t first = seg * per, count = seg == nseg - 1 ? MEM_PGS - first : per;
        put32(b, at, 1);
        if (is64) {
            put64(b, at + 8, data);
            put64(b, at + 16, 0xffff800000000000ull + first * PG);
            put64(b, at + 24, first * PG);
            put64(b, at + 32, count * PG);
            put64(b, at + 40, count * PG);
        } else {
            put32(b, at + 4, (uint32_t)data);
            put32(b, at + 8, 0xC0000000u + (uint32_t)(first * PG));
            put32(b, at + 12, (uint32_t)(first * PG));
            put32(b, at + 16, (uint32_t)(count * PG));
            put32(b, at + 20, (uint32_t)(count * PG));
        }
        for (uint64_t p = 0; p < count; p++)
            put_page(b, data + p * PG, first + p);
        data += count * PG + 17;
    }
    return b->n;
}

static void test_elf(void)
{
    for (int is64 = 0; is64 <= 1; is64++) {
        buf b = {0};
        size_t n = build_elf(&b, is64, 3);
        dmt_image *img;
        dmt_error err;
        int rc = dmt_image_open(write_file("core.elf", &b, n), 0, &img, &err);
        CHECKF(rc == 0, "elf%d: %s", is64 ? 64 : 32, err.msg);
        if (rc)
            continue;
        CHECK(dmt_image_get_info(img)->format == (is64 ? DMT_IMAGE_ELF64 : DMT_IMAGE_ELF32));
        size_t nr;
        dmt_image_runs(img, &nr);
        CHECK(nr == 3); /* not contiguous in the file: three runs */
        verify(img, 0, MEM_PGS);
        /* Physical memory straddling two segments reads whole. */
        uint8_t x[2 * PG];
        uint64_t boundary = (MEM_PGS / 3) * PG;
        CHECK(dmt_image_read(img, boundary - PG, x, sizeof x, NULL, NULL) == (long)sizeof x);
        CHECK(x[0] == mem_byte(boundary / PG - 1, 0) && x[PG] == mem_byte(boundary / PG, 0));
        dmt_image_close(img);

        /* Cut: refused without ALLOW_CUT, the tail absent with it. */
        size_t cut = n - 5 * PG - 100;
        const char *p = write_file("cut.elf", &b, cut);
        CHECK(dmt_image_open(p, 0, &img, &err) == DMT_E_FORMAT);
        CHECK(strstr(err.msg, "past the end") != NULL);
        CHECK(dmt_image_open(p, DMT_IMAGE_ALLOW_CUT, &img, &err) == 0);
        if (img) {
            CHECK(dmt_image_get_info(img)->cut_bytes == 5 * PG + 100);
            uint8_t pg[PG];
            /* Segments are stored in reverse, so the cut hits the end of
             * the physically first one (pages 0..20). */
            const uint64_t last = MEM_PGS / 3 - 1;
            CHECK(dmt_image_read(img, last * PG, pg, PG, NULL, NULL) == 0);
            CHECK(dmt_image_read(img, (last - 5) * PG, pg, PG, NULL, NULL) == PG - 100);
            CHECK(dmt_image_read(img, (last - 6) * PG, pg, PG, NULL, NULL) == PG);
            dmt_image_close(img);
        }
        free(b.p);
    }
}

/* ---- Windows crash dumps ---------------------------------------------------- */

typedef struct wd_layout {
    size_t hdr, machine, nproc, bugcheck, pmd, type;
    uint32_t machine_id;
} wd_layout;
static const wd_layout W32 = {0x1000, 0x20, 0x24, 0x28, 0x64, 0xF88, 0x14C};
static const wd_layout W64 = {0x2000, 0x30, 0x34, 0x38, 0x88, 0xF98, 0x8664};

/* The common header: signature, machine, 2 CPUs, bug check 0xEA, type;
 * never-written bytes hold the "PAGE" pattern as real dumps do. */
static void wd_header(buf *b, bool is64, uint32_t type)
{
    const wd_layout *l = is64 ? &W64 : &W32;
    for (size_t i = 0; i < l->hdr; i += 4)
        put(b, i, "PAGE", 4);
    put(b, 4, is64 ? "DU64" : "DUMP", 4);
    put32(b, l->machine, l->machine_id);
    put32(b, l->nproc, 2);
    put32(b, l->bugcheck, 0xEA);
    put32(b, l->type, type);
}

/* Type 1 with the pages of `pattern` as runs (BasePage, PageCount). */
static size_t build_full(buf *b, bool is64, int pattern)
{
    const wd_layout *l = is64 ? &W64 : &W32;
    wd_header(b, is64, 1);
    uint32_t nruns = 0;
    uint64_t total = 0, data = l->hdr;
    for (uint64_t pfn = 0; pfn < MEM_PGS;) {
        if (!present_pfn(pfn, pattern)) {
            pfn++;
            continue;
        }
        uint64_t start = pfn;
        while (pfn < MEM_PGS && present_pfn(pfn, pattern))
            put_page(b, data + (pfn - start) * PG, pfn), pfn++;
        uint64_t count = pfn - start;
        if (is64) {
            put64(b, l->pmd + 0x10 + 16 * nruns, start);
            put64(b, l->pmd + 0x18 + 16 * nruns, count);
        } else {
            put32(b, l->pmd + 8 + 8 * nruns, (uint32_t)start);
            put32(b, l->pmd + 12 + 8 * nruns, (uint32_t)count);
        }
        nruns++;
        total += count;
        data += count * PG;
    }
    put32(b, l->pmd, nruns);
    if (is64)
        put64(b, l->pmd + 8, total);
    else
        put32(b, l->pmd + 4, (uint32_t)total);
    return b->n;
}

/* Types 2, 5, 6: a sub-header, a PFN bitmap, present pages densely. */
static size_t build_bitmap(buf *b, bool is64, uint32_t type, int pattern)
{
    const wd_layout *l = is64 ? &W64 : &W32;
    wd_header(b, is64, type);
    const size_t s = l->hdr;
    put(b, s, type == 5 ? "FDMP" : "SDMP", 4);
    put(b, s + 4, "DUMP", 4);
    const size_t bm = type == 2 ? s + (is64 ? 0x28 : 0x20) : s + 0x38;
    const uint64_t bits = MEM_PGS + 5; /* a bit count that is not a multiple of 8 */
    const size_t first = (bm + (bits + 7) / 8 + PG - 1) / PG * PG;
    uint64_t present = 0;
    for (uint64_t pfn = 0; pfn < MEM_PGS; pfn++) {
        if (!present_pfn(pfn, pattern))
            continue;
        uint8_t byte = b->n > bm + pfn / 8 ? b->p[bm + pfn / 8] : 0;
        byte |= (uint8_t)(1u << (pfn % 8));
        put(b, bm + pfn / 8, &byte, 1);
        put_page(b, first + present * PG, pfn);
        present++;
    }
    if (type == 2) {
        put32(b, s + 0xC, (uint32_t)first);
        put32(b, s + 0x10, (uint32_t)bits);
    } else {
        put64(b, s + 0x20, first);
        put64(b, s + 0x28, present);
        put64(b, s + 0x30, bits);
    }
    return b->n;
}

static void test_windump(void)
{
    static const uint32_t types[] = {1, 2, 5, 6};
    for (int is64 = 0; is64 <= 1; is64++)
        for (size_t t = 0; t < sizeof types / sizeof *types; t++)
            for (int pattern = 0; pattern < 3; pattern++) {
                buf b = {0};
                size_t n = types[t] == 1 ? build_full(&b, is64, pattern)
                                         : build_bitmap(&b, is64, types[t], pattern);
                dmt_image *img;
                dmt_error err;
                int rc = dmt_image_open(write_file("win.dmp", &b, n), 0, &img, &err);
                CHECKF(rc == 0, "dump%d type %u pattern %d: %s", is64 ? 64 : 32, types[t], pattern,
                       err.msg);
                if (rc == 0) {
                    const dmt_image_info *in = dmt_image_get_info(img);
                    CHECK(in->format == (is64 ? DMT_IMAGE_WINDUMP64 : DMT_IMAGE_WINDUMP32));
                    CHECK(in->dump_type == types[t] && in->n_processors == 2 &&
                          in->bugcheck == 0xEA);
                    verify(img, pattern, MEM_PGS);
                    dmt_image_close(img);
                }
                free(b.p);
            }
}

/* Hostile Windows dumps: each must fail with DMT_E_FORMAT/TRUNCATED and an
 * offset inside the header. */
static void expect_bad(const buf *b, size_t n, const char *what, uint64_t max_off)
{
    dmt_image *img = NULL;
    dmt_error err;
    memset(&err, 0, sizeof err);
    int rc = dmt_image_open(write_file("bad.dmp", b, n), 0, &img, &err);
    CHECKF(rc == DMT_E_FORMAT || rc == DMT_E_TRUNCATED, "%s: rc %d", what, rc);
    CHECKF(err.offset <= max_off, "%s: offset %" PRIu64 " (%s)", what, err.offset, err.msg);
    CHECK(img == NULL);
    dmt_image_close(img);
}

static void test_hostile(void)
{
    for (int is64 = 0; is64 <= 1; is64++) {
        const wd_layout *l = is64 ? &W64 : &W32;
        buf b = {0};
        size_t n = build_full(&b, is64, 1);
        /* Runs past the end of the file. */
        expect_bad(&b, n - PG, "run past end", l->hdr);
        /* Overlapping runs: run 1 starts inside run 0. */
        buf o = {0};
        put(&o, 0, b.p, n);
        if (is64)
            put64(&o, l->pmd + 0x10 + 16, 5);
        else
            put32(&o, l->pmd + 8 + 8, 5);
        expect_bad(&o, n, "overlap", l->hdr);
        /* A run claiming 2^64-1 pages, and NumberOfPages 2^64-1. */
        put(&o, 0, b.p, n);
        if (is64)
            put64(&o, l->pmd + 0x18, UINT64_MAX);
        else
            put32(&o, l->pmd + 12, UINT32_MAX);
        expect_bad(&o, n, "huge run", l->hdr);
        put(&o, 0, b.p, n);
        if (is64) {
            put64(&o, l->pmd + 8, UINT64_MAX);
            expect_bad(&o, n, "huge NumberOfPages", l->hdr);
        }
        /* NumberOfRuns beyond what the header can hold. */
        put(&o, 0, b.p, n);
        put32(&o, l->pmd, 1000);
        expect_bad(&o, n, "NumberOfRuns", l->pmd);
        /* Unknown dump type; small dump. */
        put(&o, 0, b.p, n);
        put32(&o, l->type, 4);
        expect_bad(&o, n, "triage", l->type);
        put32(&o, l->type, 99);
        expect_bad(&o, n, "type 99", l->type);
        /* The header cut at every byte from just after the signature. */
        for (size_t cut = 8; cut < l->hdr; cut += is64 ? 7 : 3)
            expect_bad(&b, cut, "truncated header", l->hdr);
        free(o.p);
        free(b.p);

        /* A bitmap dump whose bitmap claims 2^62 pages; one whose pages
         * start inside the bitmap; a present count that disagrees. */
        b = (buf){0};
        n = build_bitmap(&b, is64, 5, 2);
        o = (buf){0};
        put(&o, 0, b.p, n);
        put64(&o, l->hdr + 0x30, 1ull << 62);
        expect_bad(&o, n, "huge bitmap", l->hdr + 0x30);
        put(&o, 0, b.p, n);
        put64(&o, l->hdr + 0x20, l->hdr + 0x38);
        expect_bad(&o, n, "pages inside bitmap", l->hdr + 0x20);
        put(&o, 0, b.p, n);
        put64(&o, l->hdr + 0x28, 3);
        expect_bad(&o, n, "present count", l->hdr + 0x28);
        for (size_t cut = l->hdr; cut < l->hdr + 0x40; cut++)
            expect_bad(&b, cut, "truncated bitmap header", l->hdr + 0x38);
        free(o.p);
        free(b.p);
    }
    /* ELF with an absurd program header count, and one cut in its headers. */
    buf b = {0};
    size_t n = build_elf(&b, true, 2);
    buf o = {0};
    put(&o, 0, b.p, n);
    put32(&o, 56, 0xFFFF); /* PN_XNUM with no section header */
    expect_bad(&o, n, "PN_XNUM without sections", UINT64_MAX);
    for (size_t cut = 5; cut < 64 + 3 * 56; cut += 5)
        expect_bad(&b, cut, "truncated ELF", UINT64_MAX);
    free(o.p);
    free(b.p);
    /* An empty file holds no memory. */
    dmt_image *img;
    dmt_error err;
    CHECK(dmt_image_open(write_file("empty", &b, 0), 0, &img, &err) == DMT_E_FORMAT);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dmt-test-image-XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    test_raw();
    test_elf();
    test_windump();
    test_hostile();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        return 1;
    return tk_result("test_image");
}
