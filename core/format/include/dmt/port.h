/*
 * dmt/port.h - what the driver-side code (probe, CBOR encoder, ring, digest)
 * needs from its compiler, for every compiler that builds it.
 *
 * The driver-side sources are written in C89 plus `long long` (the C the
 * WDK 7.1 compiler, cl 15.00, accepts): no declarations after statements,
 * no designated initializers, no // comments, no <stdatomic.h>, no
 * _Static_assert, no `inline`, no __builtin_*.  Everything they would take
 * from C99/C11 or from GCC comes from here instead:
 *
 *   types      uint8_t..uint64_t, int32_t, int64_t, uintptr_t, bool, size_t:
 *              <stdint.h>/<stdbool.h> where the compiler has them, typedefs
 *              where it does not (cl before 16.00 / 18.00).  In C89 `bool` is
 *              an unsigned char: assign it only 0, 1 or a comparison.
 *   DMT_INLINE            `inline`, `__inline` (MSVC) or `__inline__` (GCC, C89)
 *   DMT_STATIC_ASSERT     compile-time check (negative array size), any scope
 *                         where a typedef may appear; name must be unique
 *   DMT_LIKELY/UNLIKELY   branch hints (nothing on MSVC)
 *   DMT_MOVE_FIXED        a memcpy of a constant small size that stays one move
 *                         even under -ffreestanding
 *   DMT_BSWAP16/32/64     byte swaps
 *   DMT_ALIGN8(decl)      an 8-byte aligned declaration (64-bit atomics on x86)
 *
 * Atomics (lock-free, on plain naturally aligned objects; the object is
 * never declared _Atomic, so the same struct is shared with C11 code):
 *
 *   dmt_ld32/64/p(p, mo)             load, mo: DMT_RLX or DMT_ACQ
 *   dmt_st32/64/p(p, v, mo)          store, mo: DMT_RLX or DMT_REL
 *   dmt_cas32/64/p(p, expp, v, s, f) strong compare-and-swap: true and *p = v
 *                                    if *p == *expp, else false and
 *                                    *expp = *p (s/f: success/failure order)
 *   dmt_cas64w(...)                  the same, may fail spuriously (loops)
 *   dmt_add32/64(p, v, mo)           fetch-and-add, returns the old value
 *   dmt_sub32(p, v, mo)              fetch-and-subtract, returns the old value
 *   dmt_or32(p, v, mo)               fetch-and-or, returns the old value
 *   dmt_fence_acq() / dmt_fence_rel()
 *   dmt_stat_inc64(p)                a statistic's += 1, not atomic (below)
 *
 * 32 is uint32_t, 64 is uint64_t, p is uintptr_t (pointers are stored as
 * integers).  A 64-bit atomic object must be 8-byte aligned (on x86 the
 * cmpxchg8b and the 8-byte loads are atomic only then).
 *
 * GCC and Clang (host, mingw-w64) map these to the __atomic builtins, which
 * ThreadSanitizer understands, with the order given: the TSan build checks
 * exactly the orders the code asks for.  MSVC (cl, x86 and x64) maps them
 * to its intrinsics: _InterlockedCompareExchange(64), _InterlockedExchangeAdd,
 * _InterlockedOr (full barriers), and plain volatile accesses fenced with
 * _ReadWriteBarrier for loads and stores (x86 and x64 keep loads and stores
 * in order except store->load, which no acquire/release pair needs).  On
 * 32-bit x86, with either compiler, 64-bit loads, stores and adds are
 * compare-and-swap loops (lock cmpxchg8b: _InterlockedCompareExchange64 or
 * __atomic_compare_exchange_n), never x87/SSE moves, which a driver may
 * not use.  No code here uses sequentially consistent ordering.
 */
#ifndef DMT_PORT_H
#define DMT_PORT_H

#include <stddef.h>

/* ---- fixed-width types and bool ------------------------------------------ */

#if defined(_MSC_VER) && _MSC_VER < 1600 && !defined(__GNUC__)
/* cl before Visual Studio 2010 has no <stdint.h>. */
typedef signed char int8_t;
typedef unsigned char uint8_t;
typedef short int16_t;
typedef unsigned short uint16_t;
typedef int int32_t;
typedef unsigned int uint32_t;
typedef __int64 int64_t;
typedef unsigned __int64 uint64_t;
#ifndef _UINTPTR_T_DEFINED
#ifdef _WIN64
typedef unsigned __int64 uintptr_t;
#else
typedef unsigned int uintptr_t;
#endif
#define _UINTPTR_T_DEFINED
#endif
#define INT32_MAX  2147483647
#define UINT32_MAX 0xFFFFFFFFu
#define INT64_MAX  9223372036854775807i64
#define UINT64_MAX 0xFFFFFFFFFFFFFFFFui64
#else
#include <stdint.h>
#endif

#if defined(__cplusplus)
/* bool is a keyword */
#elif (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L) ||                                \
    (defined(_MSC_VER) && _MSC_VER >= 1800)
#include <stdbool.h>
#elif !defined(DMT_PORT_BOOL)
#define DMT_PORT_BOOL 1
typedef unsigned char bool;
#define true 1
#define false 0
#endif

/* ---- language ------------------------------------------------------------ */

#if defined(_MSC_VER) && !defined(__GNUC__)
#define DMT_INLINE __inline
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L
#define DMT_INLINE inline
#elif defined(__GNUC__)
#define DMT_INLINE __inline__
#else
#define DMT_INLINE
#endif

/* C89: a typedef of an array whose size is negative when cond is false. */
#define DMT_STATIC_ASSERT(cond, name) typedef char dmt_static_assert_##name[(cond) ? 1 : -1]

#if defined(__GNUC__)
#define DMT_LIKELY(x)           __builtin_expect(!!(x), 1)
#define DMT_UNLIKELY(x)         __builtin_expect(!!(x), 0)
#define DMT_MOVE_FIXED(d, s, n) __builtin_memcpy((d), (s), (n))
#define DMT_BSWAP16(x)          __builtin_bswap16(x)
#define DMT_BSWAP32(x)          __builtin_bswap32(x)
#define DMT_BSWAP64(x)          __builtin_bswap64(x)
#define DMT_ALIGN8(decl)        decl __attribute__((aligned(8)))
#elif defined(_MSC_VER)
#include <string.h>
/* Plain C byte swaps: the _byteswap_* intrinsics would need <stdlib.h>
 * and /Oi to stay out of the C runtime, which a driver does not link. */
static DMT_INLINE uint16_t dmt_bswap16_(uint16_t x)
{
    return (uint16_t)((x >> 8) | (x << 8));
}

static DMT_INLINE uint32_t dmt_bswap32_(uint32_t x)
{
    return (x >> 24) | ((x >> 8) & 0xFF00u) | ((x << 8) & 0xFF0000u) | (x << 24);
}

static DMT_INLINE uint64_t dmt_bswap64_(uint64_t x)
{
    return (uint64_t)dmt_bswap32_((uint32_t)x) << 32 | dmt_bswap32_((uint32_t)(x >> 32));
}
#define DMT_LIKELY(x)           (x)
#define DMT_UNLIKELY(x)         (x)
#define DMT_MOVE_FIXED(d, s, n) memcpy((d), (s), (n))
#define DMT_BSWAP16(x)          dmt_bswap16_(x)
#define DMT_BSWAP32(x)          dmt_bswap32_(x)
#define DMT_BSWAP64(x)          dmt_bswap64_(x)
#define DMT_ALIGN8(decl)        __declspec(align(8)) decl
#else
#error "dmt/port.h: unknown compiler (GCC, Clang and MSVC are known)"
#endif

/* ---- atomics --------------------------------------------------------------- */

/* 32-bit x86 has no 8-byte load or store a driver may use (GCC would go
 * through x87 or SSE registers, whose state the kernel does not save for a
 * driver, or call libatomic): there, 64-bit loads, stores and adds are
 * lock cmpxchg8b loops (DMT_CX8_ below). */
#if defined(_M_IX86) || defined(__i386__)
#define DMT_CX8_ 1
#endif

#if defined(__GNUC__)

#define DMT_RLX    __ATOMIC_RELAXED
#define DMT_ACQ    __ATOMIC_ACQUIRE
#define DMT_REL    __ATOMIC_RELEASE
#define DMT_ACQREL __ATOMIC_ACQ_REL

/* The builtins are type-generic: check the width the name promises. */
#define DMT_ATOMIC_W_(p, n) ((void)sizeof(char[sizeof(*(p)) == (n) ? 1 : -1]))

#define dmt_ld32(p, mo)     (DMT_ATOMIC_W_(p, 4), __atomic_load_n((p), (mo)))
#define dmt_ldp(p, mo)      (DMT_ATOMIC_W_(p, sizeof(uintptr_t)), __atomic_load_n((p), (mo)))
#define dmt_st32(p, v, mo)  (DMT_ATOMIC_W_(p, 4), __atomic_store_n((p), (v), (mo)))
#define dmt_stp(p, v, mo)   (DMT_ATOMIC_W_(p, sizeof(uintptr_t)), __atomic_store_n((p), (v), (mo)))
#define dmt_add32(p, v, mo) (DMT_ATOMIC_W_(p, 4), __atomic_fetch_add((p), (v), (mo)))
#define dmt_sub32(p, v, mo) (DMT_ATOMIC_W_(p, 4), __atomic_fetch_sub((p), (v), (mo)))
#define dmt_or32(p, v, mo)  (DMT_ATOMIC_W_(p, 4), __atomic_fetch_or((p), (v), (mo)))
#define dmt_cas32(p, e, v, s, f)                                                                   \
    (DMT_ATOMIC_W_(p, 4), __atomic_compare_exchange_n((p), (e), (v), 0, (s), (f)))
#define dmt_cas64(p, e, v, s, f)                                                                   \
    (DMT_ATOMIC_W_(p, 8), __atomic_compare_exchange_n((p), (e), (v), 0, (s), (f)))
#define dmt_cas64w(p, e, v, s, f)                                                                  \
    (DMT_ATOMIC_W_(p, 8), __atomic_compare_exchange_n((p), (e), (v), 1, (s), (f)))
#define dmt_casp(p, e, v, s, f)                                                                    \
    (DMT_ATOMIC_W_(p, sizeof(uintptr_t)), __atomic_compare_exchange_n((p), (e), (v), 0, (s), (f)))
#ifndef DMT_CX8_
#define dmt_ld64(p, mo)     (DMT_ATOMIC_W_(p, 8), __atomic_load_n((p), (mo)))
#define dmt_st64(p, v, mo)  (DMT_ATOMIC_W_(p, 8), __atomic_store_n((p), (v), (mo)))
#define dmt_add64(p, v, mo) (DMT_ATOMIC_W_(p, 8), __atomic_fetch_add((p), (v), (mo)))
#endif
#define dmt_fence_acq() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define dmt_fence_rel() __atomic_thread_fence(__ATOMIC_RELEASE)

#elif defined(_MSC_VER)

#if !defined(_M_IX86) && !defined(_M_X64) && !defined(_M_AMD64)
#error "dmt/port.h: the MSVC mapping assumes x86 or x64 ordering"
#endif

long __cdecl _InterlockedCompareExchange(long volatile *, long, long);
long __cdecl _InterlockedExchangeAdd(long volatile *, long);
long __cdecl _InterlockedOr(long volatile *, long);
__int64 __cdecl _InterlockedCompareExchange64(__int64 volatile *, __int64, __int64);
void __cdecl _ReadWriteBarrier(void);
#pragma intrinsic(_InterlockedCompareExchange, _InterlockedExchangeAdd, _InterlockedOr)
#pragma intrinsic(_InterlockedCompareExchange64, _ReadWriteBarrier)

/* Orders only select nothing here: every interlocked operation is a full
 * barrier and plain loads/stores are fenced for the compiler. */
#define DMT_RLX    0
#define DMT_ACQ    2
#define DMT_REL    3
#define DMT_ACQREL 4

/* A load or store that the hardware does atomically (an aligned word):
 * volatile, kept in place by compiler barriers. */
#define DMT_PLAIN_ATOMIC_(bits)                                                                    \
    static DMT_INLINE uint##bits##_t dmt_ld##bits##_(const volatile uint##bits##_t *p)             \
    {                                                                                              \
        uint##bits##_t v = *p;                                                                     \
        _ReadWriteBarrier();                                                                       \
        return v;                                                                                  \
    }                                                                                              \
    static DMT_INLINE void dmt_st##bits##_(volatile uint##bits##_t *p, uint##bits##_t v)           \
    {                                                                                              \
        _ReadWriteBarrier();                                                                       \
        *p = v;                                                                                    \
        _ReadWriteBarrier();                                                                       \
    }
DMT_PLAIN_ATOMIC_(32)

static DMT_INLINE bool dmt_cas32_(volatile uint32_t *p, uint32_t *e, uint32_t v)
{
    uint32_t old = (uint32_t)_InterlockedCompareExchange((long volatile *)p, (long)v, (long)*e);
    if (old == *e)
        return true;
    *e = old;
    return false;
}

static DMT_INLINE bool dmt_cas64_(volatile uint64_t *p, uint64_t *e, uint64_t v)
{
    uint64_t old =
        (uint64_t)_InterlockedCompareExchange64((__int64 volatile *)p, (__int64)v, (__int64)*e);
    if (old == *e)
        return true;
    *e = old;
    return false;
}

#define dmt_ld32(p, mo)           dmt_ld32_(p)
#define dmt_st32(p, v, mo)        dmt_st32_((p), (v))
#define dmt_add32(p, v, mo)       ((uint32_t)_InterlockedExchangeAdd((long volatile *)(p), (long)(v)))
#define dmt_sub32(p, v, mo)       ((uint32_t)_InterlockedExchangeAdd((long volatile *)(p), -(long)(v)))
#define dmt_or32(p, v, mo)        ((uint32_t)_InterlockedOr((long volatile *)(p), (long)(v)))
#define dmt_cas32(p, e, v, s, f)  dmt_cas32_((p), (e), (v))
#define dmt_cas64(p, e, v, s, f)  dmt_cas64_((p), (e), (v))
#define dmt_cas64w(p, e, v, s, f) dmt_cas64_((p), (e), (v))
#ifdef _WIN64
__int64 __cdecl _InterlockedExchangeAdd64(__int64 volatile *, __int64);
#pragma intrinsic(_InterlockedExchangeAdd64)
DMT_PLAIN_ATOMIC_(64)
static DMT_INLINE uint64_t dmt_add64_(volatile uint64_t *p, uint64_t v)
{
    return (uint64_t)_InterlockedExchangeAdd64((__int64 volatile *)p, (__int64)v);
}
#define dmt_ld64(p, mo)         dmt_ld64_(p)
#define dmt_st64(p, v, mo)      dmt_st64_((p), (v))
#define dmt_add64(p, v, mo)     dmt_add64_((p), (v))
#define dmt_ldp(p, mo)          ((uintptr_t)dmt_ld64_((const volatile uint64_t *)(p)))
#define dmt_stp(p, v, mo)       dmt_st64_((volatile uint64_t *)(p), (uint64_t)(v))
#define dmt_casp(p, e, v, s, f) dmt_cas64_((volatile uint64_t *)(p), (uint64_t *)(e), (uint64_t)(v))
#else
#define dmt_ldp(p, mo)          ((uintptr_t)dmt_ld32_((const volatile uint32_t *)(p)))
#define dmt_stp(p, v, mo)       dmt_st32_((volatile uint32_t *)(p), (uint32_t)(v))
#define dmt_casp(p, e, v, s, f) dmt_cas32_((volatile uint32_t *)(p), (uint32_t *)(e), (uint32_t)(v))
#endif
#define dmt_fence_acq() _ReadWriteBarrier()
#define dmt_fence_rel() _ReadWriteBarrier()

#endif /* compilers */

#ifdef DMT_CX8_
/* 32-bit x86, either compiler: every 64-bit access is a compare-and-swap
 * (lock cmpxchg8b, a full barrier; the object must be 8-byte aligned). */
static DMT_INLINE uint64_t dmt_ld64_cx8_(uint64_t *p)
{
    uint64_t e = 0;
    (void)dmt_cas64(p, &e, (uint64_t)0, DMT_ACQ, DMT_ACQ); /* writes 0 over 0 only */
    return e;
}

static DMT_INLINE uint64_t dmt_add64_cx8_(uint64_t *p, uint64_t v, bool add)
{
    uint64_t e = 0;
    while (!dmt_cas64(p, &e, add ? e + v : v, DMT_ACQREL, DMT_ACQ)) {
    }
    return e;
}
#define dmt_ld64(p, mo)     dmt_ld64_cx8_((uint64_t *)(p))
#define dmt_st64(p, v, mo)  ((void)dmt_add64_cx8_((uint64_t *)(p), (v), false))
#define dmt_add64(p, v, mo) dmt_add64_cx8_((uint64_t *)(p), (v), true)
#endif

/* A statistic's increment (the ring's committed count): *p += 1 as a
 * relaxed load and a relaxed store, no locked instruction.  Exact while
 * one thread at a time increments p; increments that race on another CPU
 * (or an interrupt between the two) can be lost, so the count is then a
 * lower bound.  Never for a count that must be exact (losses, ids).  On
 * 32-bit x86 a 64-bit store is a lock cmpxchg8b anyway: there it is the
 * exact locked add. */
#ifdef DMT_CX8_
#define dmt_stat_inc64(p) ((void)dmt_add64((p), 1u, DMT_RLX))
#else
#define dmt_stat_inc64(p) dmt_st64((p), dmt_ld64((p), DMT_RLX) + 1u, DMT_RLX)
#endif

/* ---- time-stamp counter -----------------------------------------------------
 *
 *   DMT_HAVE_TSC        1 where the compiler targets x86 or x64
 *   dmt_rdtsc()         the time-stamp counter (RDTSC; 0 without DMT_HAVE_TSC)
 *   dmt_cpuid(leaf, r)  EAX, EBX, ECX, EDX of CPUID leaf (subleaf 0) into
 *                       r[0..3]; zeros without DMT_HAVE_TSC
 *   dmt_tsc_invariant() CPUID 0x80000007 EDX bit 8: the TSC ticks at a
 *                       constant rate in every P-, C- and T-state
 *   dmt_mul_shift(a, m, s)  (a * m) >> s, exact, for scaling ticks to ns
 *
 * cl: the __rdtsc and __cpuid intrinsics; GCC and Clang: __builtin_ia32_rdtsc
 * and the cpuid instruction (ebx is saved by the compiler, also in 32-bit
 * PIC code). */
#if defined(_MSC_VER) && !defined(__GNUC__) && (defined(_M_IX86) || defined(_M_X64))
unsigned __int64 __rdtsc(void);
void __cpuid(int info[4], int leaf);
#pragma intrinsic(__rdtsc)
#ifndef __clang__ /* clang's MSVC mode has __cpuid in <intrin.h> only */
#pragma intrinsic(__cpuid)
#endif
#define DMT_HAVE_TSC 1
static DMT_INLINE uint64_t dmt_rdtsc(void)
{
    return __rdtsc();
}

static DMT_INLINE void dmt_cpuid(uint32_t leaf, uint32_t r[4])
{
    int i[4];
    __cpuid(i, (int)leaf);
    r[0] = (uint32_t)i[0];
    r[1] = (uint32_t)i[1];
    r[2] = (uint32_t)i[2];
    r[3] = (uint32_t)i[3];
}
#elif defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define DMT_HAVE_TSC 1
static DMT_INLINE uint64_t dmt_rdtsc(void)
{
    return __builtin_ia32_rdtsc();
}

static DMT_INLINE void dmt_cpuid(uint32_t leaf, uint32_t r[4])
{
    uint32_t a, b, c, d;
    __asm__ __volatile__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf), "c"(0u));
    r[0] = a;
    r[1] = b;
    r[2] = c;
    r[3] = d;
}
#else
#define DMT_HAVE_TSC 0
static DMT_INLINE uint64_t dmt_rdtsc(void)
{
    return 0;
}

static DMT_INLINE void dmt_cpuid(uint32_t leaf, uint32_t r[4])
{
    (void)leaf;
    r[0] = r[1] = r[2] = r[3] = 0;
}
#endif

/* (a * m) >> s for s <= 32, exact (a 96-bit product from two 32x32->64
 * multiplies, which every compiler here does in one instruction: no
 * __int128, no _umul128, no floating point), modulo 2^64.  The probe's
 * TSC-to-ns scaling: a = ticks since the calibration point, m / 2^s = ns
 * per tick. */
static DMT_INLINE uint64_t dmt_mul_shift(uint64_t a, uint32_t m, unsigned s)
{
    uint64_t lo = (uint64_t)(uint32_t)a * m;
    uint64_t hi = (uint64_t)(uint32_t)(a >> 32) * m;
    return (hi << (32u - s)) + (lo >> s);
}

static DMT_INLINE bool dmt_tsc_invariant(void)
{
    uint32_t r[4];
    if (!DMT_HAVE_TSC)
        return false;
    dmt_cpuid(0x80000000u, r);
    if (r[0] < 0x80000007u)
        return false;
    dmt_cpuid(0x80000007u, r);
    return (r[3] & 0x100u) != 0;
}

#endif
