/*
 * internal.h - the loaded form of a register map, shared by the loader
 * (load.c) and the decoder (decode.c).
 *
 * Invariants once rmap_load returned a map:
 *  - every element lives in the map's arena and is freed with it;
 *  - every type reference is resolved (tinfo.en / tinfo.bs set for T_ENUM /
 *    T_BITSET);
 *  - `active` says whether the selected variant keeps the element (its
 *    parents included); inactive elements are never decoded or listed;
 *  - a register's fields lie inside its width, active fields of one
 *    register do not overlap, arrays have 1 <= length <=
 *    RMAP_MAX_ARRAY_LENGTH and stride > 0 when length > 1, and
 *    offset + (length - 1) * stride does not overflow.
 */
#ifndef RMAP_INTERNAL_H
#define RMAP_INTERNAL_H

#include "rmap/regmap.h"

enum { T_NONE, T_BOOL, T_UINT, T_INT, T_HEX, T_FIXED, T_UFIXED, T_FLOAT, T_ENUM, T_BITSET };
enum { N_REG, N_ARRAY, N_STRIPE };

typedef struct renum renum;
typedef struct rbitset rbitset;

/* Where an element was defined and which variants keep it. */
typedef struct rsrc {
    const char *file;
    unsigned line;
    const char *variants; /* own attribute, or NULL */
    const char *varset;   /* effective variant set (enum name), or NULL */
    bool active;
} rsrc;

typedef struct tinfo {
    int kind;          /* T_* */
    const char *tname; /* the type attribute, until resolved */
    unsigned radix;    /* fixed / ufixed fraction bits */
    renum *en;
    rbitset *bs;
} tinfo;

typedef struct rvalue {
    rsrc src;
    const char *name;
    uint64_t value;
    bool has_value;
    struct rvalue *next;
} rvalue;

struct renum {
    rsrc src;
    const char *name;
    bool isinline;
    rvalue *values, **tail;
    renum *next;
};

typedef struct rfield {
    rsrc src;
    const char *name;
    const char *brief;
    unsigned low, high, shr;
    tinfo type;
    struct rfield *next;
} rfield;

struct rbitset {
    rsrc src;
    const char *name;
    bool isinline;
    rfield *fields, **tail;
    rbitset *next;
};

typedef struct rnode {
    rsrc src;
    int kind; /* N_* */
    const char *name;
    const char *brief;
    uint64_t offset, stride, length;
    /* registers */
    unsigned width; /* bits */
    unsigned shr;
    const char *access;
    tinfo type;
    rfield *fields, **ftail;
    /* arrays and stripes */
    struct rnode *kids, **ktail;
    struct rnode *next;
} rnode;

typedef struct rdomain {
    rsrc src;
    const char *name;
    unsigned width; /* bits per address unit */
    uint64_t size;  /* 0 = unknown */
    bool bare;
    rnode *kids, **ktail;
    struct rdomain *next;
} rdomain;

typedef struct arena_chunk arena_chunk;

struct rmap {
    arena_chunk *chunks;
    rdomain *domains, **dtail;
    renum *enums, **etail;
    rbitset *bitsets, **btail;
    rmap_counts counts;
    uint64_t elements; /* against RMAP_MAX_ELEMENTS */
    const char *variant;
};

/* The value of bits [low, high] of v, shifted down. */
static inline uint64_t rmap_bits(uint64_t v, unsigned low, unsigned high)
{
    unsigned w = high - low + 1;
    return w >= 64 ? v >> low : (v >> low) & ((UINT64_C(1) << w) - 1);
}

static inline uint64_t rmap_mask(unsigned low, unsigned high)
{
    unsigned w = high - low + 1;
    return (w >= 64 ? UINT64_MAX : ((UINT64_C(1) << w) - 1)) << low;
}

/* Text appended to a fixed buffer, cut at cap - 1 (always NUL-terminated
 * once anything was put). */
typedef struct namebuf {
    char *p;
    size_t cap, n;
} namebuf;
__attribute__((format(printf, 2, 3))) void rmap_put(namebuf *b, const char *fmt, ...);
/* v in decimal, or in hex after "0x", into buf (cap >= 1 bytes, cut to
 * fit, always terminated); returns the length.  No printf: decoding runs
 * for every register access a tool shows that its cache does not hold. */
size_t rmap_utoa(char *buf, size_t cap, uint64_t v, bool hex);
/* s into buf (cap >= 1), cut to fit, terminated: snprintf "%s" without printf. */
void rmap_copy(char *buf, size_t cap, const char *s);

#endif
