/*
 * test_idmap.c - dmt_idmap: insert, find, replace and delete; backward-shift
 * deletion inside a cluster and in one that wraps around the table's end;
 * the caller's cap; growth from a small table; pair keys; and random puts
 * and deletions (then every element deleted in random order) checked
 * against a plain reference array after every step.
 */
#include <stdlib.h>
#include <string.h>

#include "dmt/testkit.h"
#include "dmt/error.h"
#include "dmt/idmap.h"

/* The slot key (id, 0) occupies in a table of 16 slots: its home. */
static uint32_t home16(uint64_t id)
{
    dmt_idmap m;
    uint32_t pos = 0;
    CHECK(dmt_idmap_init(&m, 8, 8));
    CHECK(dmt_idmap_put(&m, id, 0, 1) == 0);
    dmt_idmap_next(&m, &pos, NULL, NULL);
    dmt_idmap_free(&m);
    return pos - 1;
}

/* A 16-slot map given ids whose homes are homes[0..n-1], inserted in that
 * order with values 0..n-1. */
static void fill(dmt_idmap *m, const uint32_t *homes, unsigned n, uint64_t *ids)
{
    uint64_t next = 1;
    CHECK(dmt_idmap_init(m, 8, 8));
    for (unsigned i = 0; i < n; i++) {
        while (home16(next) != homes[i])
            next++;
        ids[i] = next++;
        CHECK(dmt_idmap_put(m, ids[i], 0, i) == 0);
    }
}

/* The key in each slot (0 for an empty one). */
static void slots(const dmt_idmap *m, uint64_t *out)
{
    uint32_t pos = 0;
    uint64_t a;
    memset(out, 0, sizeof(uint64_t) * (m->mask + 1));
    while (dmt_idmap_next(m, &pos, &a, NULL) != DMT_IDMAP_NONE)
        out[pos - 1] = a;
}

static void test_basic(void)
{
    dmt_idmap m = {0};
    CHECK(dmt_idmap_get(&m, 1, 0) == DMT_IDMAP_NONE); /* zero-filled: empty */
    CHECK(dmt_idmap_del(&m, 1, 0) == DMT_IDMAP_NONE);
    CHECK(!dmt_idmap_init(&m, 0, 0));
    CHECK(!dmt_idmap_init(&m, DMT_IDMAP_MAX_LIVE + 1, 0));
    CHECK(!dmt_idmap_init(&m, 4, 5));
    CHECK(dmt_idmap_init(&m, 4, 4));
    CHECK(m.mask == 15);
    CHECK(dmt_idmap_put(&m, 7, 0, DMT_IDMAP_NONE) == DMT_E_USAGE);
    CHECK(dmt_idmap_put(&m, 0, 0, 0) == 0); /* key 0 and value 0 are ordinary */
    CHECK(dmt_idmap_get(&m, 0, 0) == 0);
    CHECK(dmt_idmap_put(&m, 7, 0, 70) == 0);
    CHECK(dmt_idmap_put(&m, 7, 0, 71) == 0); /* replace */
    CHECK(m.n == 2 && dmt_idmap_get(&m, 7, 0) == 71);
    CHECK(dmt_idmap_put(&m, 7, 1, 72) == 0); /* another key: pairs differ in b */
    CHECK(dmt_idmap_put(&m, 1ull << 40 | 7, 0, 73) == 0);
    CHECK(dmt_idmap_get(&m, 7, 1) == 72 && dmt_idmap_get(&m, 1ull << 40 | 7, 0) == 73);
    /* the cap: a fifth key fails, replacing a live one still works */
    CHECK(dmt_idmap_put(&m, 8, 0, 80) == DMT_E_FORMAT);
    CHECK(dmt_idmap_put(&m, 7, 1, 74) == 0 && m.n == 4);
    CHECK(dmt_idmap_del(&m, 7, 0) == 71 && dmt_idmap_del(&m, 7, 0) == DMT_IDMAP_NONE);
    CHECK(dmt_idmap_put(&m, 8, 0, 80) == 0 && m.n == 4);
    dmt_idmap_free(&m);
    CHECK(m.slots == NULL && m.n == 0);
}

/* Backward shift in a run that wraps from slot 15 to slot 0. */
static void test_wrap(void)
{
    static const uint32_t homes[] = {14, 15, 14, 15, 0, 2};
    uint64_t id[6], s[16];
    dmt_idmap m;
    fill(&m, homes, 6, id);
    /* 14: id0, 15: id1, 0: id2, 1: id3, 2: id4, 3: id5 (home 2, pushed on) */
    slots(&m, s);
    CHECK(s[14] == id[0] && s[15] == id[1] && s[0] == id[2] && s[1] == id[3] && s[2] == id[4] &&
          s[3] == id[5]);
    /* delete id0: id2 (home 14) moves back across the end into 14, id3
     * (home 15) fills 0, id4 (home 0) fills 1, id5 (home 2) fills 2 */
    CHECK(dmt_idmap_del(&m, id[0], 0) == 0);
    slots(&m, s);
    CHECK(s[14] == id[2] && s[15] == id[1] && s[0] == id[3] && s[1] == id[4] && s[2] == id[5] &&
          s[3] == 0);
    /* delete id1 (slot 15): id3 (home 15) moves from 0 to 15, id4 (home 0)
     * from 1 to 0, id5 stays in 2 (its home, in (1, 2]) and 1 is left empty */
    CHECK(dmt_idmap_del(&m, id[1], 0) == 1);
    slots(&m, s);
    CHECK(s[14] == id[2] && s[15] == id[3] && s[0] == id[4] && s[1] == 0 && s[2] == id[5]);
    for (unsigned i = 2; i < 6; i++)
        CHECK(dmt_idmap_get(&m, id[i], 0) == i);
    dmt_idmap_free(&m);
}

/* A full table (n == max_live == slots / 2) of one cluster: every lookup
 * still ends, and deleting the head shifts the whole run back. */
static void test_full(void)
{
    static const uint32_t homes[] = {5, 5, 5, 5, 5, 5, 5, 5};
    uint64_t id[8], s[16];
    dmt_idmap m;
    fill(&m, homes, 8, id);
    CHECK(dmt_idmap_put(&m, 1000003, 0, 9) == DMT_E_FORMAT);
    CHECK(dmt_idmap_get(&m, 1000003, 0) == DMT_IDMAP_NONE);
    CHECK(dmt_idmap_del(&m, id[0], 0) == 0);
    slots(&m, s);
    for (unsigned i = 1; i < 8; i++)
        CHECK(s[4 + i] == id[i]);
    CHECK(s[12] == 0);
    dmt_idmap_free(&m);
}

/* Random puts, replacements and deletions against a reference, the table
 * growing from nothing; then every element deleted in random order. */
static void test_random(void)
{
    enum { KEYS = 3000, CAP = 2048 };
    static uint64_t ref[KEYS]; /* value + 1, 0 = absent */
    unsigned long long seed = 0x1D3A9;
    uint32_t live = 0;
    dmt_idmap m;
    CHECK(dmt_idmap_init(&m, CAP, 0));
    CHECK(m.slots == NULL);
    for (int step = 0; step < 200000; step++) {
        uint32_t k = (uint32_t)(tk_rand(&seed) % KEYS);
        uint64_t a = k % 7 == 0 ? (uint64_t)k << 33 : k, b = k % 5 == 0 ? k * 977u : 0;
        if (tk_rand(&seed) % 3) {
            uint64_t v = tk_rand(&seed) >> 8;
            int rc = dmt_idmap_put(&m, a, b, v);
            if (!ref[k] && live == CAP) {
                CHECK(rc == DMT_E_FORMAT);
            } else {
                CHECK(rc == 0);
                live += !ref[k];
                ref[k] = v + 1;
            }
        } else {
            CHECK(dmt_idmap_del(&m, a, b) == ref[k] - 1);
            live -= ref[k] != 0;
            ref[k] = 0;
        }
        CHECK(m.n == live && 2u * m.n <= m.mask + 1 && m.mask + 1 <= 2u * CAP);
        if (step % 997 == 0)
            for (uint32_t j = 0; j < KEYS; j++) {
                uint64_t ja = j % 7 == 0 ? (uint64_t)j << 33 : j, jb = j % 5 == 0 ? j * 977u : 0;
                CHECK(dmt_idmap_get(&m, ja, jb) == ref[j] - 1);
            }
    }
    /* delete everything in random order, checking the rest each time */
    uint32_t order[KEYS];
    for (uint32_t i = 0; i < KEYS; i++)
        order[i] = i;
    for (uint32_t i = KEYS - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(tk_rand(&seed) % (i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (uint32_t i = 0; i < KEYS; i++) {
        uint32_t k = order[i];
        uint64_t a = k % 7 == 0 ? (uint64_t)k << 33 : k, b = k % 5 == 0 ? k * 977u : 0;
        CHECK(dmt_idmap_del(&m, a, b) == ref[k] - 1);
        ref[k] = 0;
        uint32_t pos = 0, seen = 0;
        uint64_t ka, kb, v;
        while ((v = dmt_idmap_next(&m, &pos, &ka, &kb)) != DMT_IDMAP_NONE) {
            uint32_t j = (uint32_t)(ka >> 33 ? ka >> 33 : ka);
            CHECK(j < KEYS && ref[j] == v + 1);
            seen++;
        }
        CHECK(seen == m.n);
    }
    CHECK(m.n == 0);
    dmt_idmap_free(&m);
}

int main(void)
{
    test_basic();
    test_wrap();
    test_full();
    test_random();
    return tk_result("test_idmap");
}
