/*
 * ring_shm.c - trace rings in shared file mappings (Linux).
 *
 * A ring file is exactly the ring region (256-byte header + data) and is
 * mapped MAP_SHARED by the producing process (dmatrace capture, a test) and
 * the recorder (dmatrace record).  Not freestanding: this is the libdmt half
 * of the ring.  The file holds no pointers, only positions, so every
 * process maps it wherever it likes.
 */
#include "dmt/ring.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int dmt_ring_shm_create(const char *path, size_t data_size, enum dmt_ring_policy policy,
                        dmt_ring *out, void **map, size_t *map_len)
{
    if (!path || !out || !map || !map_len)
        return -EINVAL;
    if (data_size < DMT_RING_MIN_SIZE || data_size > DMT_RING_MAX_SIZE ||
        (data_size & (data_size - 1)))
        return -EINVAL;
    if (policy != DMT_RING_DROP_NEWEST && policy != DMT_RING_OVERWRITE_OLDEST)
        return -EINVAL;

    const size_t len = DMT_RING_HDR_SIZE + data_size;
    /* The ring is built under a temporary name and linked into place only
     * once formatted, so a producer that opens PATH never sees a half-made
     * ring; link() fails with EEXIST like O_EXCL would. */
    if (strlen(path) > 4000)
        return -ENAMETOOLONG;
    char tmp[4096 + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int err = 0;
    if (fchmod(fd, 0600) != 0 || ftruncate(fd, (off_t)len) != 0)
        err = errno;
    /* Back the file now, so a full file system is an error here and not a
     * SIGBUS in a producer later.  Not every file system can. */
    if (!err) {
        int e = posix_fallocate(fd, 0, (off_t)len);
        if (e && e != EOPNOTSUPP && e != EINVAL)
            err = e;
    }
    void *m = MAP_FAILED;
    if (!err) {
        m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
        if (m == MAP_FAILED)
            err = errno;
    }
    close(fd);
    if (!err && (dmt_ring_init(m, len, policy) != 0 || dmt_ring_attach(out, m, len) != 0))
        err = EINVAL;
    if (!err && link(tmp, path) != 0)
        err = errno;
    unlink(tmp);
    if (err) {
        if (m != MAP_FAILED)
            munmap(m, len);
        return -err;
    }
    *map = m;
    *map_len = len;
    return 0;
}

int dmt_ring_shm_open(const char *path, dmt_ring *out, void **map, size_t *map_len)
{
    if (!path || !out || !map || !map_len)
        return -EINVAL;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < (off_t)(DMT_RING_HDR_SIZE + DMT_RING_MIN_SIZE) ||
        (uint64_t)st.st_size > DMT_RING_HDR_SIZE + DMT_RING_MAX_SIZE) {
        close(fd);
        return -EPROTO;
    }
    const size_t len = (size_t)st.st_size;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED)
        return -e;
    if (dmt_ring_attach(out, m, len) != 0) {
        munmap(m, len);
        return -EPROTO;
    }
    *map = m;
    *map_len = len;
    return 0;
}

void dmt_ring_shm_unmap(void *map, size_t map_len)
{
    if (map && map_len)
        munmap(map, map_len);
}
