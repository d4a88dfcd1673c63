/*
 * test_header.c - the optional header keys (schema/FORMAT.md 1.2): the
 * machine keys and the layout keys written by the writer come back
 * unchanged through the reader and through a store import; a header
 * without them still reads (all zero, no layout); the platform layer's
 * machine facts are filled; an over-long text key is cut at the field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmt/testkit.h"
#include "dmt/platform.h"
#include "dmt/reader.h"
#include "dmt/store.h"
#include "dmt/writer.h"

static char dir[] = "/tmp/dmt-header-XXXXXX";

static void write_trace(const char *path, const dmt_header *h)
{
    dmt_writer *w;
    dmt_error err;
    CHECK(dmt_writer_open(path, h, DMT_WRITE_HEADER_NOW, &w, &err) == 0);
    dmt_record r;
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_MARKER;
    r.ts = 5;
    r.bytes = (const uint8_t *)"hello";
    r.n_bytes = 5;
    CHECK(dmt_writer_append(w, &r, &err) == 0);
    CHECK(dmt_writer_close(w, &err) == 0);
}

static void read_header(const char *path, dmt_header *out)
{
    dmt_reader *rd;
    dmt_error err;
    memset(out, 0xA5, sizeof *out);
    CHECKF(dmt_reader_open(path, 0, &rd, &err) == 0, "%s", err.msg);
    if (!rd)
        return;
    *out = *dmt_reader_header(rd);
    dmt_record r;
    CHECK(dmt_reader_next(rd, &r, &err) == 1 && r.kind == DMT_K_MARKER);
    dmt_reader_close(rd);
}

static void same_keys(const dmt_header *a, const dmt_header *b)
{
    CHECK(!strcmp(a->os, b->os) && !strcmp(a->boot_options, b->boot_options));
    CHECK(a->os_build == b->os_build && a->cpus == b->cpus && a->page_size == b->page_size);
    CHECK(a->clock_hz == b->clock_hz && a->phys_mem == b->phys_mem);
    CHECK(a->has_layout == b->has_layout && !strcmp(a->placement, b->placement));
    CHECK(a->contig_permille == b->contig_permille && a->map_register_cap == b->map_register_cap);
    CHECK(a->ram_low_top == b->ram_low_top && a->ram_high_top == b->ram_high_top);
    CHECK(!strcmp(a->regmap_name, b->regmap_name) && a->regmap_hash == b->regmap_hash);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    char full[256], bare[256], db[256];
    snprintf(full, sizeof full, "%s/full.dmat", dir);
    snprintf(bare, sizeof bare, "%s/bare.dmat", dir);
    snprintf(db, sizeof db, "%s/full.db", dir);

    dmt_machine_info mi;
    dmt_machine_get(&mi);
    CHECK(mi.cpus > 0 && mi.page_size >= 4096 && mi.clock_hz == 1000000000ull);
    CHECK(mi.os[0] != 0 && mi.host[0] != 0 && mi.phys_mem > 0);

    dmt_header h;
    memset(&h, 0, sizeof h);
    snprintf(h.producer, sizeof h.producer, "test_header");
    snprintf(h.clock, sizeof h.clock, "QPC");
    snprintf(h.host, sizeof h.host, "box");
    snprintf(h.os, sizeof h.os, "Windows 6.1 Service Pack 1 x64");
    snprintf(h.boot_options, sizeof h.boot_options, "MAXMEM=4096 PAE");
    h.os_build = 7601;
    h.cpus = 4;
    h.page_size = 4096;
    h.clock_hz = 14318180;
    h.phys_mem = 8ull << 30;
    h.has_layout = true;
    snprintf(h.placement, sizeof h.placement, "above-4g");
    h.contig_permille = 0; /* a real value: every page on its own */
    h.map_register_cap = 32;
    h.ram_low_top = 0xC0000000ull;
    h.ram_high_top = 12ull << 30;
    snprintf(h.regmap_name, sizeof h.regmap_name, "board.xml");
    h.regmap_hash = 0xFEDCBA9876543210ull; /* above 2^63: kept with its bits */
    write_trace(full, &h);
    dmt_header got;
    read_header(full, &got);
    same_keys(&h, &got);

    /* Through a store and back. */
    dmt_error err;
    CHECKF(dmt_store_import(full, db, NULL, NULL, &err) == 0, "%s", err.msg);
    dmt_store *st;
    if (dmt_store_open(db, DMT_STORE_RDONLY, &st, &err) == 0) {
        dmt_header sh;
        memset(&sh, 0, sizeof sh);
        CHECK(dmt_store_header(st, &sh, &err) == 0);
        same_keys(&h, &sh);
        dmt_store_close(st);
    } else {
        CHECKF(0, "%s", err.msg);
    }

    /* Without the optional keys: zeros, no layout. */
    dmt_header b;
    memset(&b, 0, sizeof b);
    snprintf(b.producer, sizeof b.producer, "old");
    write_trace(bare, &b);
    read_header(bare, &got);
    same_keys(&b, &got);
    CHECK(!got.has_layout && got.os[0] == 0);
    CHECK(got.regmap_name[0] == 0 && got.regmap_hash == 0);

    /* A text longer than the field is cut, never overflowing it. */
    memset(h.os, 'x', sizeof h.os - 1);
    h.os[sizeof h.os - 1] = 0;
    write_trace(full, &h);
    read_header(full, &got);
    CHECK(strlen(got.os) == sizeof got.os - 1);

    unlink(full);
    unlink(bare);
    unlink(db);
    rmdir(dir);
    return tk_result("test_header");
}
