/*
 * sha256.c - SHA-256 of a file, the fleet's trace identity, computed with
 * Debian's libnettle (nettle-dev); the fleet test checks it against the
 * server's sha256() of the stored canonical file.
 */
#include <errno.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <string.h>

#include "flt/fleet.h"

int flt_sha256_file(const char *path, char hex[65], dmt_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "%s: %s", path,
                             strerror(errno));
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    uint8_t buf[16384];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sha256_update(&ctx, n, buf);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "%s: read error", path);
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, sizeof digest, digest);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return 0;
}
