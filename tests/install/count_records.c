/*
 * count_records.c - a program outside the tree that links the installed
 * libdmatrace: it counts the records of a trace or a store through the
 * public record-source API.  The install test builds it with
 * `pkg-config --cflags --libs dmatrace` and with find_package(dmatrace).
 *
 *   count_records FILE   ->   "N records"
 */
#include <stdio.h>

#include "dmt/source.h"

static int count_one(void *ctx, const dmt_record *r, uint64_t index)
{
    (void)r;
    (void)index;
    ++*(unsigned long long *)ctx;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: count_records FILE\n");
        return 2;
    }
    unsigned long long n = 0;
    bool cut = false;
    dmt_error err;
    if (dmt_source_each(argv[1], count_one, &n, &cut, NULL, &err) != 0) {
        fprintf(stderr, "%s: %s\n", argv[1], err.msg);
        return 2;
    }
    printf("%llu records\n", n);
    return 0;
}
