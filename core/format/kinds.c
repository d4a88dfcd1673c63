/*
 * kinds.c - the record-kind table of dmt/kinds.h as data (dmt_kind_info):
 * per kind its name, class and field descriptors, for tools that look a
 * name or a field up at run time.  (The reader and the ring checker expand
 * DMT_KINDS into their own compile-time code and strings instead.)
 *
 * Invariants checked at compile time: every field's type matches the size
 * of the dmt_record member it fills; the kinds are numbered 1..DMT_K_MAX_-1
 * without gaps (with the designated initializers below, which -Wextra's
 * override-init warning keeps unique); no kind has more than
 * DMT_KIND_MAX_FIELDS fields.  Optional fields come last (core_test_reader).
 */
#include "dmt/kinds.h"

#include <stddef.h>

#include "dmt/record.h"

/* Member sizes per field type (arrays and strings fill a uint32 count). */
#define MEMBER_SIZE_U64    8
#define MEMBER_SIZE_U32    4
#define MEMBER_SIZE_BOOL   sizeof(bool)
#define MEMBER_SIZE_WIDTH  4
#define MEMBER_SIZE_SG     4
#define MEMBER_SIZE_VALUES 4
#define MEMBER_SIZE_BYTES  4
#define MEMBER_SIZE_TEXT   4

#define SIZE_CHECK_(type, member, name)                                                            \
    _Static_assert(sizeof(((dmt_record *)0)->member) == MEMBER_SIZE_##type,                        \
                   "field " name ": member " #member " is not a " #type);
#define KIND_SIZE_CHECKS_(id, num, name, cls, fields) fields
DMT_KINDS(KIND_SIZE_CHECKS_, SIZE_CHECK_, SIZE_CHECK_)

#define COUNT_ONE_(id, num, name, cls, fields) +1
_Static_assert(0 DMT_KINDS(COUNT_ONE_, DMT_KINDS_NO_FIELD_, DMT_KINDS_NO_FIELD_) == DMT_K_MAX_ - 1,
               "record kinds must be numbered 1 .. DMT_K_MAX_ - 1 without gaps");

#define FIELD_(type, member, name, opt) {DMT_FT_##type, opt, offsetof(dmt_record, member), name},
#define REQUIRED_(type, member, name)   FIELD_(type, member, name, false)
#define OPTIONAL_(type, member, name)   FIELD_(type, member, name, true)

/* The field list counted twice, as enum constants: all fields and the
 * required ones (NALL_REG_WRITE, NREQ_REG_WRITE, ...). */
#define N_ALL_(id, num, name, cls, fields) NALL_##id = sizeof("" fields) - 1,
enum { DMT_KINDS(N_ALL_, DMT_KINDS_ONE_, DMT_KINDS_ONE_) };
#define N_REQUIRED_(id, num, name, cls, fields) NREQ_##id = sizeof("" fields) - 1,
enum { DMT_KINDS(N_REQUIRED_, DMT_KINDS_ONE_, DMT_KINDS_NO_FIELD_) };

#define MAX_CHECK_(id, num, name, cls, fields)                                                     \
    _Static_assert(NALL_##id <= DMT_KIND_MAX_FIELDS, "too many fields in " name);
DMT_KINDS(MAX_CHECK_, DMT_KINDS_NO_FIELD_, DMT_KINDS_NO_FIELD_)

#define INFO_(id, num, name, cls, fields)                                                          \
    [num] = {name, DMT_KC_##cls, NREQ_##id, NALL_##id, {fields}},
static const dmt_kind_info table[DMT_K_MAX_] = {DMT_KINDS(INFO_, REQUIRED_, OPTIONAL_)};

const dmt_kind_info *dmt_kind_info_get(uint32_t kind)
{
    return kind == 0 || kind >= DMT_K_MAX_ ? NULL : &table[kind];
}

const char *dmt_kind_name(uint32_t kind)
{
    const dmt_kind_info *k = dmt_kind_info_get(kind);
    return k ? k->name : NULL;
}
