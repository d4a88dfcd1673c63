/*
 * bench_regmap.c - loading a large rules-ng-ng register map: 10,000
 * registers with four bitfields each (one of them enum-typed), 64 enums,
 * written to a temporary file, loaded with rmap_load (best of 5, process CPU
 * time: the machine may be shared), next to
 * libxml2 parsing the same file and freeing the tree (the floor any loader
 * on libxml2 pays).  Then 100,000 decodes spread over the map.
 *
 *   bench_regmap [DIR]      (temporary file in DIR, default /tmp)
 *
 * Prints RESULT lines like the other benchmarks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "rmap/regmap.h"

#define N_REGS  10000u
#define N_ENUMS 64u

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_map(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "<?xml version=\"1.0\"?>\n<database xmlns=\"http://nouveau.freedesktop.org/\">\n");
    for (unsigned e = 0; e < N_ENUMS; e++) {
        fprintf(f, "<enum name=\"E%u\">", e);
        for (unsigned v = 0; v < 8; v++)
            fprintf(f, "<value name=\"E%u_V%u\" value=\"%u\"/>", e, v, v);
        fprintf(f, "</enum>\n");
    }
    fprintf(f, "<domain name=\"BIG\" bare=\"yes\" width=\"8\">\n");
    for (unsigned r = 0; r < N_REGS; r++)
        fprintf(f,
                "<reg32 offset=\"0x%x\" name=\"R%u\" brief=\"register %u\">"
                "<bitfield name=\"EN\" pos=\"0\"/><bitfield name=\"MODE\" low=\"1\" high=\"3\" "
                "type=\"E%u\"/><bitfield name=\"COUNT\" low=\"8\" high=\"15\" type=\"uint\"/>"
                "<bitfield name=\"ADDR\" low=\"16\" high=\"31\" shr=\"4\"/></reg32>\n",
                r * 4, r, r, r % N_ENUMS);
    fprintf(f, "</domain>\n</database>\n");
    return fclose(f);
}

int main(int argc, char **argv)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bench_regmap_XXXXXX", argc > 1 ? argv[1] : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0 || close(fd) != 0 || write_map(path) != 0) {
        fprintf(stderr, "bench_regmap: cannot write %s\n", path);
        return 1;
    }
    double best = 1e9, floor = 1e9;
    rmap *m = NULL;
    for (int i = 0; i < 5; i++) {
        rmap_error err;
        double t0 = now();
        if (rmap_load(path, NULL, &m, &err) != 0) {
            fprintf(stderr, "bench_regmap: %s:%u: %s\n", err.file, err.line, err.msg);
            unlink(path);
            return 1;
        }
        double t1 = now();
        if (t1 - t0 < best)
            best = t1 - t0;
        if (i < 4)
            rmap_free(m);
        t0 = now();
        xmlDocPtr doc =
            xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_COMPACT);
        xmlFreeDoc(doc);
        t1 = now();
        if (t1 - t0 < floor)
            floor = t1 - t0;
    }
    rmap_counts c;
    rmap_get_counts(m, &c);
    static rmap_decoded d;
    unsigned found = 0;
    double t0 = now();
    for (unsigned i = 0; i < 100000; i++)
        found += rmap_decode(m, 0, (uint64_t)(i * 7919u % N_REGS) * 4, 32, i, &d);
    double t1 = now();
    rmap_free(m);
    unlink(path);
    printf("bench_regmap: %llu registers, %llu fields, %llu enum values\n",
           (unsigned long long)c.registers, (unsigned long long)c.fields,
           (unsigned long long)c.values);
    printf(
        "RESULT\tregmap load, %u registers\t%.1f ms\t< 200 ms\t%.1f ms libxml2 parse only\t%.2f\n",
        N_REGS, best * 1e3, floor * 1e3, best / floor);
    printf("RESULT\tregmap decode, %u-register map\t%.1f us\t-\t-\t-\n", N_REGS,
           (t1 - t0) / 100000 * 1e6);
    return found == 100000 ? 0 : 1;
}
