/*
 * ntdef.h - host (Linux, LP64) stand-in for the Windows base-type header.
 *
 * Part of the host VideoPort (hvp): a video miniport written against
 * mingw-w64's DDK headers (<ntdef.h> then <dderror.h> <devioctl.h>
 * <miniport.h> <ntddvdeo.h> <video.h>) compiles unchanged against these.
 * Written from the type names, sizes and values of mingw-w64 10.0.0; the
 * text is our own.  Layouts match mingw on x86-64: LONG/ULONG are 32-bit
 * (mingw's __LONG32 is int under LP64), pointers and *_PTR are 64-bit.
 *
 * Host differences (no effect on any pinned structure layout):
 *  - WCHAR is the host wchar_t (32-bit) so L"..." literals keep working;
 *    no structure in these headers holds a WCHAR inline, only PWSTR.
 *  - NTAPI, FASTCALL, DECLSPEC_IMPORT expand to nothing.
 */
#ifndef _NTDEF_
#define _NTDEF_

#if defined(_WIN32) || defined(__CYGWIN__)
#error "host-only header: build Windows targets against mingw-w64's DDK headers"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <wchar.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- annotations and calling conventions ------------------------------ */
#define IN
#define OUT
#define OPTIONAL
#define UNALIGNED
#define RESTRICTED_POINTER
#define CONST const
#define NTAPI
#define NTAPI_INLINE
#define FASTCALL
#define DECLSPEC_IMPORT
#ifndef __cdecl
#define __cdecl
#endif
#ifndef __stdcall
#define __stdcall
#endif
#define _ANONYMOUS_UNION
#define _ANONYMOUS_STRUCT
#define DUMMYUNIONNAME
#define DUMMYUNIONNAME2
#define DUMMYSTRUCTNAME
#define DUMMYSTRUCTNAME2

#ifndef ANYSIZE_ARRAY
#define ANYSIZE_ARRAY 1
#endif

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

/* ---- scalar types ------------------------------------------------------ */
#define VOID void
typedef void *PVOID;
typedef char CHAR, *PCHAR, *PSTR, *LPSTR;
typedef const char *PCSTR, *LPCSTR;
typedef unsigned char UCHAR, *PUCHAR;
typedef signed char SCHAR;
typedef short SHORT, *PSHORT, CSHORT;
typedef unsigned short USHORT, *PUSHORT;
typedef int INT, *PINT;
typedef unsigned int UINT, *PUINT;
typedef int LONG, *PLONG;            /* 32-bit, as mingw's __LONG32 */
typedef unsigned int ULONG, *PULONG; /* 32-bit */
typedef long long LONGLONG, *PLONGLONG;
typedef unsigned long long ULONGLONG, *PULONGLONG;
typedef intptr_t LONG_PTR, *PLONG_PTR;
typedef uintptr_t ULONG_PTR, *PULONG_PTR;
typedef ULONG_PTR SIZE_T, *PSIZE_T;
typedef LONG_PTR SSIZE_T, *PSSIZE_T;
typedef ULONG_PTR KAFFINITY, *PKAFFINITY;
typedef UCHAR BOOLEAN, *PBOOLEAN;
typedef wchar_t WCHAR, *PWCHAR, *PWCH, *PWSTR, *LPWSTR;
typedef const wchar_t *PCWCH, *PCWSTR, *LPCWSTR;
typedef void *HANDLE, **PHANDLE;
typedef LONG NTSTATUS, *PNTSTATUS;

#define NT_SUCCESS(Status) (((NTSTATUS)(Status)) >= 0)

typedef union _LARGE_INTEGER {
    struct {
        ULONG LowPart;
        LONG HighPart;
    };
    struct {
        ULONG LowPart;
        LONG HighPart;
    } u;
    LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef union _ULARGE_INTEGER {
    struct {
        ULONG LowPart;
        ULONG HighPart;
    };
    struct {
        ULONG LowPart;
        ULONG HighPart;
    } u;
    ULONGLONG QuadPart;
} ULARGE_INTEGER, *PULARGE_INTEGER;

typedef LARGE_INTEGER PHYSICAL_ADDRESS, *PPHYSICAL_ADDRESS;

typedef struct _LIST_ENTRY {
    struct _LIST_ENTRY *Flink;
    struct _LIST_ENTRY *Blink;
} LIST_ENTRY, *PLIST_ENTRY;

/* ---- GUIDs ------------------------------------------------------------- */
#ifndef GUID_DEFINED
#define GUID_DEFINED
typedef struct _GUID {
    ULONG Data1;
    USHORT Data2;
    USHORT Data3;
    UCHAR Data4[8];
} GUID;
#endif
#ifdef INITGUID
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8)                               \
    const GUID name = {l, w1, w2, {b1, b2, b3, b4, b5, b6, b7, b8}}
#else
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) extern const GUID name
#endif

/* ---- helpers ----------------------------------------------------------- */
#define FIELD_OFFSET(Type, Field)               ((LONG)offsetof(Type, Field))
#define CONTAINING_RECORD(address, type, field) ((type *)((PCHAR)(address)-offsetof(type, field)))
#define UNREFERENCED_PARAMETER(P)               ((void)(P))
#define DBG_UNREFERENCED_PARAMETER(P)           ((void)(P))

_Static_assert(sizeof(ULONG) == 4 && sizeof(LONG) == 4, "ULONG/LONG are 32-bit as in mingw");
_Static_assert(sizeof(ULONG_PTR) == 8 && sizeof(PVOID) == 8, "x86-64 / LP64 host only");
_Static_assert(sizeof(PHYSICAL_ADDRESS) == 8, "PHYSICAL_ADDRESS is a 64-bit LARGE_INTEGER");
_Static_assert(offsetof(LARGE_INTEGER, HighPart) == 4, "little-endian LARGE_INTEGER");

#ifdef __cplusplus
}
#endif

#endif /* _NTDEF_ */
