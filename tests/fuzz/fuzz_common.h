/*
 * fuzz_common.h - helpers shared by the fuzz targets (tests/fuzz/fuzz_*.c).
 *
 * Each target defines LLVMFuzzerTestOneInput.  Built with -fsanitize=fuzzer
 * it is a libFuzzer binary; built with fuzz_main.c it is a plain test
 * program that feeds it every file of its corpus and regression folders
 * (ctest, every preset).  A property violation is reported by FZ_CHECK,
 * which prints the reason and aborts, so libFuzzer saves the input as a
 * crash and the plain driver fails.
 *
 * Temporary files (targets that need paths: import, replay) live in one
 * private directory per process, created on first use and removed at exit.
 */
#ifndef DMT_FUZZ_COMMON_H
#define DMT_FUZZ_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmt/describe.h"
#include "dmt/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property violated: %s: ", __FILE__, __LINE__, #cond);          \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* ---- temporary directory ----------------------------------------------- */

static char fz_dir[256];

static inline void fz_rm_dir(void)
{
    static const char *const names[] = {
        "in.dmat", "out.db", "out.db-journal", "out.db-wal", "out.db-shm", "diff.dmat", NULL};
    char p[320];
    if (!fz_dir[0])
        return;
    for (int i = 0; names[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", fz_dir, names[i]);
        unlink(p);
    }
    rmdir(fz_dir);
    fz_dir[0] = 0;
}

/* The private temporary directory (tmpfs /dev/shm when available, else
 * TMPDIR or /tmp). */
static inline const char *fz_tmpdir(void)
{
    if (fz_dir[0])
        return fz_dir;
    const char *base = getenv("DMT_FUZZ_TMPDIR");
    if (!base && access("/dev/shm", W_OK) == 0)
        base = "/dev/shm";
    if (!base)
        base = getenv("TMPDIR");
    if (!base)
        base = "/tmp";
    snprintf(fz_dir, sizeof fz_dir, "%s/dmt-fuzz-XXXXXX", base);
    FZ_CHECK(mkdtemp(fz_dir) != NULL, "mkdtemp %s: %s", fz_dir, strerror(errno));
    atexit(fz_rm_dir);
    return fz_dir;
}

static inline const char *fz_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", fz_tmpdir(), name);
    return buf;
}

static inline void fz_write_file(const char *path, const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FZ_CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
    while (size) {
        ssize_t n = write(fd, data, size);
        FZ_CHECK(n > 0, "write %s: %s", path, strerror(errno));
        data += n;
        size -= (size_t)n;
    }
    close(fd);
}

/* Files in the private directory other than the ones named (all-or-nothing
 * checks: no temporary file may survive a failed import). */
#include <dirent.h>
static inline int fz_count_other_files(const char *keep1, const char *keep2)
{
    DIR *d = opendir(fz_tmpdir());
    int n = 0;
    struct dirent *e;
    FZ_CHECK(d != NULL, "opendir: %s", strerror(errno));
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if ((keep1 && !strcmp(e->d_name, keep1)) || (keep2 && !strcmp(e->d_name, keep2)))
            continue;
        n++;
    }
    closedir(d);
    return n;
}

/* ---- records -------------------------------------------------------------- */

static inline const dmt_sg_elem *fz_sg(const dmt_record *r, uint32_t i, dmt_sg_elem *tmp)
{
    const uint8_t *p = (const uint8_t *)r->sg_list +
                       (size_t)i * (r->sg_stride ? r->sg_stride : sizeof(dmt_sg_elem));
    memcpy(&tmp->addr, p, 8);
    memcpy(&tmp->len, p + 8, 4);
    return tmp;
}

/* Check a decoded record against the format's limits and touch every byte
 * it points to (ASan proves the pointers). */
static inline void fz_check_record(const dmt_record *r)
{
    char text[512], tiny[12];
    uint64_t h = 0;
    FZ_CHECK(r->kind >= 1 && r->kind < DMT_K_MAX_, "kind %u", r->kind);
    FZ_CHECK(r->n_sg <= DMT_MAX_SG_ELEMENTS, "n_sg %u", r->n_sg);
    FZ_CHECK(r->n_values <= DMT_MAX_VALUES, "n_values %u", r->n_values);
    FZ_CHECK(r->n_bytes <= DMT_MAX_BYTES, "n_bytes %u", r->n_bytes);
    if (r->kind == DMT_K_MARKER)
        FZ_CHECK(r->n_bytes <= DMT_MAX_TEXT, "marker of %u bytes", r->n_bytes);
    for (uint32_t i = 0; i < r->n_sg; i++) {
        dmt_sg_elem e;
        h += fz_sg(r, i, &e)->addr + e.len;
    }
    for (uint32_t i = 0; i < r->n_values; i++)
        h += r->values[i];
    for (uint32_t i = 0; i < r->n_bytes; i++)
        h += r->bytes[i];
    size_t n = dmt_record_describe(text, sizeof text, r, 0);
    FZ_CHECK(n < sizeof text && strlen(text) == n, "describe returned %zu", n);
    n = dmt_record_describe(tiny, sizeof tiny, r, 1);
    FZ_CHECK(n < sizeof tiny && strlen(tiny) == n, "describe (tiny) returned %zu", n);
    (void)h;
}

/* Field-by-field equality of two decoded records (pos excluded; width only
 * where the kind has one: the reader sets 4 everywhere, the store only for
 * register records). */
static inline bool fz_record_equal(const dmt_record *a, const dmt_record *b, const char **why)
{
#define F(x)                                                                                       \
    do {                                                                                           \
        if (a->x != b->x) {                                                                        \
            *why = #x;                                                                             \
            return false;                                                                          \
        }                                                                                          \
    } while (0)
    bool reg = a->kind >= DMT_K_REG_WRITE && a->kind <= DMT_K_REG_READ_BUF;
    if (reg && a->width != b->width) {
        *why = "width";
        return false;
    }
    F(kind);
    F(ts);
    F(seq);
    F(dev);
    F(adapter);
    F(xfer);
    F(mdl);
    F(cb);
    F(op);
    F(algo);
    F(reason);
    F(status);
    F(map_registers);
    F(write_to_device);
    F(sg);
    F(dma32);
    F(dma64);
    F(claimed);
    F(cached);
    F(off);
    F(value);
    F(offset);
    F(length);
    F(count);
    F(addr);
    F(addr_limit);
    F(va);
    F(context);
    F(n_sg);
    F(n_values);
    F(n_bytes);
#undef F
    for (uint32_t i = 0; i < a->n_sg; i++) {
        dmt_sg_elem x, y;
        fz_sg(a, i, &x);
        fz_sg(b, i, &y);
        if (x.addr != y.addr || x.len != y.len) {
            *why = "sg element";
            return false;
        }
    }
    if (a->n_values && memcmp(a->values, b->values, a->n_values * sizeof *a->values)) {
        *why = "values";
        return false;
    }
    if (a->n_bytes && memcmp(a->bytes, b->bytes, a->n_bytes)) {
        *why = "bytes";
        return false;
    }
    return true;
}

#endif
