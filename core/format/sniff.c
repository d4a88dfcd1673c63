/*
 * sniff.c - file type detection by magic bytes (see dmt/sniff.h).
 */
#include "dmt/sniff.h"

#include <errno.h>
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
