/*
 * bench_carve.c - how fast `dmatrace carve` scans a memory image, next to
 * the same bytes read with read() and no work (the floor), both from the
 * page cache.  Writes an image of SIZE GiB (default 2) of non-zero noise
 * with one ring near the end, scans it once to warm the cache, then times
 * the floor and the scan on the same file.
 *
 * usage: bench_carve [GiB] [dir]
 * Prints RESULT lines: figure, measured, target, same-run baseline, ratio.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "dmt/carve.h"
#include "dmt/ring.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double read_floor(const char *path, size_t chunk)
{
    int fd = open(path, O_RDONLY);
    char *buf = malloc(chunk);
    double t0 = now_s();
    unsigned long long sum = 0;
    ssize_t n;
    while ((n = read(fd, buf, chunk)) > 0)
        sum += (unsigned char)buf[0];
    double t = now_s() - t0;
    close(fd);
    free(buf);
    return sum == 42 ? t + 1e-9 : t; /* keep the loop */
}

int main(int argc, char **argv)
{
    const unsigned long long gib = argc > 1 ? strtoull(argv[1], NULL, 10) : 2;
    const char *dir = argc > 2 ? argv[2] : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    char path[512];
    snprintf(path, sizeof path, "%s/bench_carve-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0 || gib == 0 || gib > 64) {
        fprintf(stderr, "usage: bench_carve [1..64 GiB] [dir]\n");
        return 2;
    }
    const size_t chunk = 4u << 20;
    unsigned char *buf = malloc(chunk);
    unsigned long long s = 88172645463325252ull;
    for (size_t i = 0; i < chunk; i += 8) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        memcpy(buf + i, &s, 8);
    }
    const unsigned long long total = gib << 30;
    for (unsigned long long at = 0; at < total; at += chunk) {
        if (at + chunk == total) { /* the ring: last 1 MiB + header */
            size_t off = chunk - (1u << 20) - 4096;
            memset(buf + off, 0, (1u << 20) + 256);
            dmt_ring_init(buf + off, (1u << 20) + 256, DMT_RING_DROP_NEWEST);
        }
        if (write(fd, buf, chunk) != (ssize_t)chunk) {
            perror("write");
            return 1;
        }
        buf[0] ^= (unsigned char)at; /* chunks differ */
    }
    close(fd);
    free(buf);

    dmt_image *img;
    dmt_error err;
    if (dmt_image_open(path, 0, &img, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    dmt_carve_scan_result *res = malloc(sizeof *res);
    dmt_carve_scan(img, res, NULL, NULL, &err); /* warm the page cache */
    double best_floor = 1e9, best_scan = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        double f = read_floor(path, chunk);
        double t0 = now_s();
        if (dmt_carve_scan(img, res, NULL, NULL, &err) != 0 || res->n != 1) {
            fprintf(stderr, "scan failed or found %zu rings\n", res->n);
            return 1;
        }
        double t = now_s() - t0;
        best_floor = f < best_floor ? f : best_floor;
        best_scan = t < best_scan ? t : best_scan;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const double gb = (double)total / 1e9;
    printf("RESULT\tcarve scan, %llu GiB raw image, page cache\t%.2f GB/s\t>= 1 GB/s\t%.2f GB/s "
           "read()\t%.2f\n",
           gib, gb / best_scan, gb / best_floor, best_floor / best_scan);
    printf("RESULT\tcarve scan, peak RSS\t%ld MiB\tbounded\t-\t-\n", ru.ru_maxrss / 1024);
    dmt_image_close(img);
    free(res);
    unlink(path);
    return 0;
}
