/*
 * ring_shm.c - trace rings in shared file mappings (Linux and Windows).
 *
 * A ring file is exactly the ring region (256-byte header + data) and is
 * mapped shared by the producing process (dmatrace capture, a test) and the
 * recorder (dmatrace record): MAP_SHARED on Linux, a file mapping
 * (CreateFileMapping/MapViewOfFile) on Windows, through the platform layer.
 * Not freestanding: this is the libdmt half of the ring.  The file holds
 * no pointers, only positions, so every process maps it wherever it likes,
 * and a Linux producer and a Windows recorder (under Wine) share one file.
 */
#include "dmt/platform.h"
#include "dmt/ring.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Create and format a region of count rings (see dmt_ringset_shm_create). */
static int shm_make(const char *path, size_t data_size, enum dmt_ring_policy policy, uint32_t count,
                    uint64_t instance)
{
    if (!path || count == 0 || count > DMT_RING_MAX_RINGS)
        return -EINVAL;
    if (data_size < DMT_RING_MIN_SIZE || data_size > DMT_RING_MAX_SIZE ||
        (data_size & (data_size - 1)))
        return -EINVAL;
    if (policy != DMT_RING_DROP_NEWEST && policy != DMT_RING_OVERWRITE_OLDEST)
        return -EINVAL;
    const uint64_t len64 = dmt_ringset_region_len(count, data_size);
    if (len64 > SIZE_MAX)
        return -EINVAL;
    const size_t len = (size_t)len64;
    /* The ring is built under a temporary name and published (never
     * replacing an existing file) only once formatted, so a producer that
     * opens PATH never sees a half-made ring.  The temporary mapping is
     * released before publishing (Windows renames a file more willingly
     * when nothing maps it), and PATH is then opened like any ring. */
    if (strlen(path) > 4000)
        return -ENAMETOOLONG;
    char tmp[4096 + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
    int fd = dmt_file_temp(tmp);
    if (fd < 0)
        return fd;
    /* Back the file now, so a full file system is an error here and not a
     * fault in a producer later. */
    int err = dmt_file_resize(fd, len);
    void *m = NULL;
    if (!err)
        err = dmt_map_shared(fd, len, &m);
    dmt_file_close(fd);
    if (!err && dmt_ringset_init(m, len, policy, count, instance) != 0)
        err = -EINVAL;
    dmt_unmap_shared(m, len);
    if (!err)
        err = dmt_file_publish(tmp, path);
    if (err)
        dmt_file_remove(tmp);
    return err;
}

/* Map the ring file at path (any region a ring file can be). */
static int shm_map(const char *path, void **map, size_t *map_len)
{
    if (!path || !map || !map_len)
        return -EINVAL;
    int fd = dmt_file_open(path, DMT_OPEN_RDWR);
    if (fd < 0)
        return fd;
    uint64_t size;
    bool regular;
    int rc = dmt_file_size(fd, &size, &regular);
    if (rc == 0 &&
        (!regular || size < DMT_RING_HDR_SIZE + DMT_RING_MIN_SIZE ||
         size > dmt_ringset_region_len(DMT_RING_MAX_RINGS, DMT_RING_MAX_SIZE) || size > SIZE_MAX))
        rc = -EPROTO;
    void *m = NULL;
    const size_t len = (size_t)size;
    if (rc == 0)
        rc = dmt_map_shared(fd, len, &m);
    dmt_file_close(fd);
    if (rc)
        return rc;
    *map = m;
    *map_len = len;
    return 0;
}

int dmt_ring_shm_create(const char *path, size_t data_size, enum dmt_ring_policy policy,
                        dmt_ring *out, void **map, size_t *map_len)
{
    if (!out || !map || !map_len)
        return -EINVAL;
    int err = shm_make(path, data_size, policy, 1, 0);
    return err ? err : dmt_ring_shm_open(path, out, map, map_len);
}

/* Map the region at path and attach it with attach (0 or -1); -EPROTO when
 * it does not attach.  On success the caller owns *map. */
static int shm_open_with(const char *path, int (*attach)(void *out, void *m, size_t len), void *out,
                         void **map, size_t *map_len)
{
    if (!out || !map || !map_len)
        return -EINVAL;
    void *m;
    size_t len;
    int rc = shm_map(path, &m, &len);
    if (rc)
        return rc;
    if (attach(out, m, len) != 0) {
        dmt_unmap_shared(m, len);
        return -EPROTO;
    }
    *map = m;
    *map_len = len;
    return 0;
}

static int attach_ring(void *out, void *m, size_t len)
{
    if (len > DMT_RING_HDR_SIZE + DMT_RING_MAX_SIZE)
        return -1;
    return dmt_ring_attach((dmt_ring *)out, m, len);
}

static int attach_set(void *out, void *m, size_t len)
{
    return dmt_ringset_attach((dmt_ringset *)out, m, len);
}

int dmt_ring_shm_open(const char *path, dmt_ring *out, void **map, size_t *map_len)
{
    return shm_open_with(path, attach_ring, out, map, map_len);
}

int dmt_ringset_shm_create(const char *path, size_t data_size, enum dmt_ring_policy policy,
                           uint32_t count, uint64_t instance, dmt_ringset *out, void **map,
                           size_t *map_len)
{
    if (!out || !map || !map_len)
        return -EINVAL;
    int err = shm_make(path, data_size, policy, count, instance);
    return err ? err : dmt_ringset_shm_open(path, out, map, map_len);
}

int dmt_ringset_shm_open(const char *path, dmt_ringset *out, void **map, size_t *map_len)
{
    return shm_open_with(path, attach_set, out, map, map_len);
}

void dmt_ring_shm_unmap(void *map, size_t map_len)
{
    dmt_unmap_shared(map, map_len);
}
