/*
 * rmap/regmap.h - register maps in the rules-ng-ng ("rnndb") XML format:
 * load a map (with its imports), pick a variant, and decode register
 * accesses into names, fields and enum values.
 *
 * Elements understood: <database>, <import file=...> (relative to the
 * importing file), <domain> (name, width = bits per address unit, default
 * 8; size; prefix = the enum whose values are the variants; bare),
 * <reg8/16/32/64> (offset, length, stride, access, type, shr), <array>
 * (offset, stride, length), <stripe> (offset, stride, length; name
 * optional), <bitset>/<bitfield> (pos or low/high, shr, type: boolean,
 * uint, int, hex, fixed/ufixed with radix, float, or a named enum or
 * bitset), <enum>/<value>, <doc>/<brief> (and a brief attribute), and
 * variants on any of them.  Unknown elements are skipped with their
 * content.  Names: arrays and register arrays add "[i]", path components
 * are joined with "." ("CH[1].DESC_LO"); a domain that is not bare prefixes
 * its name and "_".
 *
 * Variants: a space-separated list of V (exactly V), V- or V: (V and
 * later), V-W (V through W), V:W (V up to, not including, W), -W or :W
 * (from the first variant), ordered as
 * the values of the variant-set enum (the domain's prefix attribute, or an
 * element's varset attribute).  With a variant selected, elements whose
 * variants exclude it are left out; without one, everything is in.
 *
 * Untrusted input: every file is bounded (RMAP_MAX_*), nothing is
 * allocated from a number read from the map, array lengths and the number
 * of register instances are capped, and every error names the file and
 * line.  The library never prints.  Not thread-safe per map; distinct maps
 * are independent (libxml2 is initialised on first load).
 */
#ifndef RMAP_REGMAP_H
#define RMAP_REGMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RMAP_MAX_FILE_BYTES   (64u << 20) /* one XML file */
#define RMAP_MAX_FILES        256u        /* files of one map, imports included */
#define RMAP_MAX_ELEMENTS     (1u << 20)  /* elements kept, all kinds */
#define RMAP_MAX_NAME         128u        /* characters of one element's name */
#define RMAP_MAX_DEPTH        16u         /* nested arrays and stripes */
#define RMAP_MAX_ARRAY_LENGTH (1u << 20)  /* elements of one array or register array */
#define RMAP_MAX_INSTANCES    (1u << 24)  /* register instances, arrays expanded */
#define RMAP_MAX_SHOWN        128u        /* decoded fields of one register */

typedef struct rmap rmap;

/* Where and why a load failed: "FILE:LINE: MSG" (line 0 = the file as a
 * whole). */
typedef struct rmap_error {
    char file[512];
    unsigned line;
    char msg[256];
} rmap_error;

/* Load the map at path.  variant: NULL for all variants, else the variant
 * to select (an error if no variant set of the map defines it).  On
 * success returns 0 and *out (caller frees with rmap_free); on failure -1,
 * *out NULL and err filled. */
int rmap_load(const char *path, const char *variant, rmap **out, rmap_error *err);
void rmap_free(rmap *m); /* NULL ok */

/* Domains, in the order first defined.  Names are owned by the map. */
size_t rmap_domain_count(const rmap *m);
const char *rmap_domain_name(const rmap *m, size_t i);
unsigned rmap_domain_width(const rmap *m, size_t i); /* bits per address unit */
/* Index of the domain named name, or -1. */
int rmap_find_domain(const rmap *m, const char *name);

/* Counts over what the selected variant keeps. */
typedef struct rmap_counts {
    uint64_t files, domains, registers, instances, fields, enums, values, bitsets;
} rmap_counts;
void rmap_get_counts(const rmap *m, rmap_counts *out);

/* One decoded field.  value = raw << shr (bits shifted out are lost). */
typedef struct rmap_field_value {
    char name[2 * RMAP_MAX_NAME + 2]; /* "CODE"; a bitset-typed field's part "F.PART" */
    unsigned low, high;               /* bits of the register */
    uint64_t raw;                     /* the field's bits, shifted down */
    uint64_t value;
    const char *enum_name; /* the enum's name for value, or NULL */
    char text[48];         /* value as its type shows it: "1", "0x1f", "-3", "2.5", "BUSY" */
} rmap_field_value;

typedef struct rmap_decoded {
    char name[512];     /* full name with array indexes: "CH[1].STATUS" */
    unsigned width;     /* register bits: 8, 16, 32, 64 */
    uint64_t value;     /* as given */
    const char *access; /* "r", "w", "rw" */
    const char *brief;  /* or NULL */
    char text[48];      /* a register without fields: its value as its type shows it */
    unsigned n_fields;
    bool fields_cut; /* more than RMAP_MAX_SHOWN */
    rmap_field_value fields[RMAP_MAX_SHOWN];
    uint64_t unknown; /* set bits of value no field covers (registers with fields) */
} rmap_decoded;

/* Decode an access of width bits (8, 16, 32, 64; 0: any width) carrying
 * value at offset off (in the domain's address units).  Returns true and
 * fills *out when a register of that width is there (the first one in
 * document order), false otherwise. */
bool rmap_decode(const rmap *m, size_t domain, uint64_t off, unsigned width, uint64_t value,
                 rmap_decoded *out);

/* One line: "CH[1].STATUS = 0x00020206 { BUSY=0 DONE=1 ERR=1 CODE=ADDR_LIMIT(2)
 * INDEX=2 }", unknown bits as "unknown=0x...".  Returns the length (cut to
 * cap - 1). */
size_t rmap_format(const rmap_decoded *d, char *buf, size_t cap);

/* What the map defines for a domain (registers with their fields, in
 * document order), then every enum and bitset, one line per call of
 * line(ctx, text). */
void rmap_list(const rmap *m, size_t domain, void (*line)(void *ctx, const char *text), void *ctx);

/* ---- compact text and a decode cache, for tools that decode every access -- */

/* One short line: "CH[0].STATUS=0x6 {DONE, ERR, CODE=ADDR_LIMIT}": one-bit
 * fields by name when set, other fields NAME=value when not zero (an enum
 * by its name; zero fields are left out), bits no field covers as "?=0x..."; a register without
 * fields "NAME=VALUE".  Returns the length (cut to cap - 1). */
size_t rmap_format_short(const rmap_decoded *d, char *buf, size_t cap);

/* The fields whose values differ between two decodes of one register:
 * "ERR 0->1, CODE NONE->ADDR_LIMIT" (bits no field covers as "?").
 * Returns the length, 0 when no field differs. */
size_t rmap_format_delta(const rmap_decoded *a, const rmap_decoded *b, char *buf, size_t cap);

/* A cache of decodes in one domain of a map, for callers that decode
 * millions of accesses (dump, import): repeated (offset, width, value)
 * triples cost one hash probe.  The map must outlive the namer; the
 * namer owns its cache.  NULL on out of memory. */
typedef struct rmap_namer rmap_namer;
rmap_namer *rmap_namer_new(const rmap *m, size_t domain);
void rmap_namer_free(rmap_namer *n); /* NULL ok */
/* rmap_format_short of an access of width bits (0: any) with value at off,
 * or NULL when no register is there; its length in *len when len is not
 * NULL.  The text is owned by the namer and valid until its next call. */
const char *rmap_namer_text(rmap_namer *n, uint64_t off, unsigned width, uint64_t value,
                            size_t *len);
/* The register's full name ("CH[1].STATUS"), or NULL; owned by the namer,
 * valid until its next call. */
const char *rmap_namer_name(rmap_namer *n, uint64_t off, unsigned width);
/* The whole decode (owned by the namer, valid until its next call), or
 * NULL when no register is there. */
/* Where a tool finds a map installed with it: NAME in ../share/dmatrace/
 * from the running executable's directory (the build tree and an install
 * both put the sample device's dmm.xml there).  Returns true and the path
 * in buf when that file is readable. */
bool rmap_find_shared(const char *name, char *buf, size_t cap);

const rmap_decoded *rmap_namer_decode(rmap_namer *n, uint64_t off, unsigned width, uint64_t value);

#endif
