/*
 * sniff.c - file type detection by magic bytes (see dmt/sniff.h).
 */
#include "dmt/sniff.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

long dmt_read_head(const char *path, void *buf, size_t cap, dmt_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "cannot open: %s", strerror(e));
        if (err)
            err->sys_errno = e;
        return DMT_E_IO;
    }
    ssize_t n = read(fd, buf, cap);
    int e = errno;
    close(fd);
    if (n < 0)
        return dmt_error_set(err, DMT_E_IO, 0, DMT_NO_INDEX, "cannot read: %s", strerror(e));
    return (long)n;
}

int dmt_sniff(const char *path, dmt_error *err)
{
    uint8_t head[16];
    long n = dmt_read_head(path, head, sizeof head, err);
    if (n < 0)
        return (int)n;
    if (n >= 3 && memcmp(head, "\xd9\xd9\xf7", 3) == 0)
        return DMT_FILE_TRACE;
    if (n == 16 && memcmp(head, "SQLite format 3", 16) == 0)
        return DMT_FILE_DB;
    return dmt_error_set(err, DMT_E_FOREIGN, 0, DMT_NO_INDEX,
                         "neither a dmatrace trace (CBOR tag 55799) nor a SQLite database");
}

/* One CBOR integer (major type 0 or 1) at p[0..n): its length, 0 if none. */
static size_t cbor_int_len(const uint8_t *p, size_t n)
{
    if (!n || (p[0] >> 5) > 1)
        return 0;
    unsigned ai = p[0] & 31u;
    size_t len = ai < 24 ? 1 : ai == 24 ? 2 : ai == 25 ? 3 : ai == 26 ? 5 : ai == 27 ? 9 : 0;
    return len <= n ? len : 0;
}

int dmt_sniff_ended(const char *path, dmt_error *err)
{
    /* END = [25, t, records, lost]: 84 18 19, then three integers of at
     * most 9 bytes each, the last ending the file */
    uint8_t tail[3 + 3 * 9];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "%s", strerror(errno));
    off_t size = lseek(fd, 0, SEEK_END);
    size_t n = size > (off_t)sizeof tail ? sizeof tail : size > 0 ? (size_t)size : 0;
    ssize_t got = n ? pread(fd, tail, n, size - (off_t)n) : 0;
    close(fd);
    if (got != (ssize_t)n)
        return dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "cannot read the end");
    for (size_t at = 0; at + 6 <= n; at++) {
        if (tail[at] != 0x84 || tail[at + 1] != 0x18 || tail[at + 2] != 0x19)
            continue;
        size_t p = at + 3;
        for (int i = 0; i < 3 && p <= n; i++) {
            size_t l = cbor_int_len(tail + p, n - p);
            if (!l || (i > 0 && (tail[p] >> 5) != 0)) {
                p = n + 1;
                break;
            }
            p += l;
        }
        if (p == n)
            return 1;
    }
    return 0;
}
