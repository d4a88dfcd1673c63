/*
 * dmtmini_ioctl.h - the private IOCTL interface of the dmtmini sample video
 * miniport (driver/dmtmini.c), shared by the driver, the host capture tool
 * and the tests.
 *
 * Every request is METHOD_BUFFERED on FILE_DEVICE_VIDEO with a private
 * function code (>= 0x800).  With METHOD_BUFFERED the input and the output
 * may share one system buffer: the driver reads its whole input before it
 * writes any output.  All structures use fixed-width fields (pointers and
 * handles travel as u64), so a 32-bit caller and the 64-bit driver agree on
 * the layout; sizes are checked with static asserts below.
 *
 * Include after <devioctl.h> (the driver) or stand-alone (tools: the CTL_CODE
 * fallback below gives the identical values).
 */
#ifndef DMTMINI_IOCTL_H
#define DMTMINI_IOCTL_H

#include <stdint.h>

#ifndef CTL_CODE
#define CTL_CODE(DeviceType, Function, Method, Access)                                             \
    (((DeviceType) << 16) | ((Access) << 14) | ((Function) << 2) | (Method))
#define FILE_DEVICE_VIDEO 0x00000023
#define METHOD_BUFFERED   0
#define FILE_ANY_ACCESS   0
#endif

#define DMTMINI_CTL(fn) CTL_CODE(FILE_DEVICE_VIDEO, (fn), METHOD_BUFFERED, FILE_ANY_ACCESS)

/* in: DMTMINI_CONFIG.  Idle device only (ERROR_BUSY otherwise).  Re-creates
 * both DMA adapters and their descriptor rings from the new descriptions. */
#define IOCTL_DMTMINI_CONFIGURE DMTMINI_CTL(0x900)
/* out: DMTMINI_INFO. */
#define IOCTL_DMTMINI_QUERY DMTMINI_CTL(0x901)
/* in: DMTMINI_TRANSFER_IN; out: DMTMINI_TRANSFER_OUT (omitted with ASYNC). */
#define IOCTL_DMTMINI_TRANSFER DMTMINI_CTL(0x902)
/* in: DMTMINI_WAIT_IN; out: DMTMINI_TRANSFER_OUT.  Finishes an ASYNC transfer. */
#define IOCTL_DMTMINI_WAIT DMTMINI_CTL(0x903)
/* in: DMTMINI_MAP_RING_IN; out: DMTMINI_MAP_RING_OUT.  Maps the probe ring the
 * driver owns into the calling process (VideoPortMapMemory). */
#define IOCTL_DMTMINI_MAP_RING DMTMINI_CTL(0x904)
/* in: DMTMINI_MAP_RING_OUT as returned by MAP_RING (VideoPortUnmapMemory). */
#define IOCTL_DMTMINI_UNMAP_RING DMTMINI_CTL(0x905)
/* in: text bytes (not NUL-terminated, <= 4096): a MARKER record. */
#define IOCTL_DMTMINI_MARKER DMTMINI_CTL(0x906)

/* Channels (= DMA adapters).  H2C: host memory -> device memory
 * (WriteToDevice = TRUE); C2H: device memory -> host memory. */
#define DMTMINI_CH_H2C 0u
#define DMTMINI_CH_C2H 1u
#define DMTMINI_NUM_CH 2u

/* Fault injection (DMTMINI_CONFIG.faults).  Each plants one realistic bug;
 * README.md says exactly where.  All but ADDR64_TO_DMA32 are one-shot: they
 * hit the transfer number fault_transfer (0 = the first TRANSFER after the
 * CONFIGURE; DMTMINI_NO_FAULT_TRANSFER = none) and every TRANSFER that asks
 * with DMTMINI_XFER_FAULT, in the first chunk where they can apply (see
 * README).  Several threads issue TRANSFERs in no fixed order, so a caller
 * that wants one particular transfer hit names it with the flag. */
#define DMTMINI_NO_FAULT_TRANSFER       0xFFFFFFFFu
#define DMTMINI_FAULT_SG_LEN_OFF_BY_ONE 0x01u /* last element: len + 1 */
#define DMTMINI_FAULT_SG_SKIP           0x02u /* last element of a >1 list not programmed */
#define DMTMINI_FAULT_SG_DUP            0x04u /* first element programmed twice */
#define DMTMINI_FAULT_COMPLETE_MISSING  0x08u /* last chunk: CompleteDma never called */
#define DMTMINI_FAULT_COMPLETE_EARLY    0x10u /* CompleteDma in ExecuteDma after the doorbell */
#define DMTMINI_FAULT_OVERLONG          0x20u /* descriptors sized to the requested length */
#define DMTMINI_FAULT_ADDR64_TO_DMA32                                                              \
    0x40u /* Dma64 claimed on a 32-bit engine, LowPart written                                     \
           */
#define DMTMINI_FAULT_ALL 0x7Fu

/* Fault names (as for `dmatrace capture --inject NAME`): the bit of a name,
 * or 0; the name of a single bit, or NULL.  No libc needed. */
static inline const char *dmtmini_fault_name(uint32_t bit)
{
    switch (bit) {
    case DMTMINI_FAULT_SG_LEN_OFF_BY_ONE:
        return "sg_len_off_by_one";
    case DMTMINI_FAULT_SG_SKIP:
        return "sg_skip";
    case DMTMINI_FAULT_SG_DUP:
        return "sg_dup";
    case DMTMINI_FAULT_COMPLETE_MISSING:
        return "complete_missing";
    case DMTMINI_FAULT_COMPLETE_EARLY:
        return "complete_early";
    case DMTMINI_FAULT_OVERLONG:
        return "overlong";
    case DMTMINI_FAULT_ADDR64_TO_DMA32:
        return "addr64_to_dma32";
    default:
        return (const char *)0;
    }
}

static inline uint32_t dmtmini_fault_by_name(const char *name)
{
    for (uint32_t bit = 1; bit & DMTMINI_FAULT_ALL; bit <<= 1) {
        const char *n = dmtmini_fault_name(bit);
        const char *p = name;
        while (n && p && *n && *n == *p)
            n++, p++;
        if (n && p && *n == 0 && *p == 0)
            return bit;
    }
    return 0;
}

/* DMTMINI_CHAN_CONFIG.flags */
#define DMTMINI_CFG_FROM_CAPS 0x1u /* derive sg/dma32/dma64 from the device CAPS */

typedef struct DMTMINI_CHAN_CONFIG {
    uint32_t flags;         /* DMTMINI_CFG_* */
    uint8_t scatter_gather; /* VP_DEVICE_DESCRIPTION fields (unless FROM_CAPS) */
    uint8_t dma32;
    uint8_t dma64;
    uint8_t reserved0;
    uint32_t maximum_length; /* MaximumLength; 0 = driver default (4 MiB) */
} DMTMINI_CHAN_CONFIG;

typedef struct DMTMINI_CONFIG {
    uint32_t version;        /* DMTMINI_IOCTL_VERSION */
    uint32_t faults;         /* DMTMINI_FAULT_* */
    uint32_t fault_transfer; /* which TRANSFER (0-based, counted from this CONFIGURE) */
    uint32_t timeout_ms;     /* per-transfer wait; 0 = driver default (10 s) */
    DMTMINI_CHAN_CONFIG ch[DMTMINI_NUM_CH];
} DMTMINI_CONFIG;

#define DMTMINI_IOCTL_VERSION 1u

typedef struct DMTMINI_CHAN_INFO {
    uint8_t scatter_gather, dma32, dma64, has_adapter; /* the description in use */
    uint32_t maximum_length;
    uint32_t ring_descs; /* descriptor ring capacity */
    uint32_t reserved0;
    uint64_t ring_logical; /* descriptor ring's device logical address */
} DMTMINI_CHAN_INFO;

typedef struct DMTMINI_INFO {
    uint32_t version;     /* DMTMINI_IOCTL_VERSION */
    uint32_t id;          /* DMM_REG_ID */
    uint32_t caps;        /* DMM_REG_CAPS */
    uint32_t devmem_size; /* DMM_REG_DEVMEM_SIZE */
    uint32_t faults;      /* armed faults */
    uint32_t transfers;   /* TRANSFERs since the last CONFIGURE */
    uint32_t probe;       /* 1 when the driver was built with the probe */
    uint32_t ring_owned;  /* 1 when the driver allocated the probe ring itself */
    uint64_t ring_bytes;  /* size of that ring region (header + data), or 0 */
    DMTMINI_CHAN_INFO ch[DMTMINI_NUM_CH];
} DMTMINI_INFO;

/* DMTMINI_TRANSFER_IN.flags */
#define DMTMINI_XFER_ASYNC 0x1u /* return after the first chunk started; IOCTL_DMTMINI_WAIT */
#define DMTMINI_XFER_PATTERN                                                                       \
    0x2u                        /* the buffer holds the XS64 pattern of pattern_seed               \
                                   (declared in the trace as a PATTERN record) */
#define DMTMINI_XFER_FAULT 0x4u /* plant the CONFIGURE's one-shot faults in this transfer */

typedef struct DMTMINI_TRANSFER_IN {
    uint32_t channel; /* DMTMINI_CH_H2C or DMTMINI_CH_C2H */
    uint32_t flags;   /* DMTMINI_XFER_* */
    uint64_t buffer;  /* caller's virtual address */
    uint32_t length;  /* bytes, >= 1 */
    uint32_t reserved0;
    uint64_t dev_offset;   /* device memory offset */
    uint64_t pattern_seed; /* with DMTMINI_XFER_PATTERN */
} DMTMINI_TRANSFER_IN;

typedef struct DMTMINI_TRANSFER_OUT {
    uint32_t status;         /* VP_STATUS of the transfer (NO_ERROR = 0) */
    uint32_t bytes;          /* bytes the driver accounted as moved */
    uint32_t chunks;         /* StartDma calls that reached ExecuteDma */
    uint32_t faults_applied; /* DMTMINI_FAULT_* bits that actually hit this transfer */
    uint32_t dev_status;     /* the channel STATUS register after an engine error, else 0 */
    uint32_t transfer_no;    /* 0-based TRANSFER number since the last CONFIGURE */
} DMTMINI_TRANSFER_OUT;

typedef struct DMTMINI_WAIT_IN {
    uint32_t channel;
    uint32_t reserved0;
} DMTMINI_WAIT_IN;

typedef struct DMTMINI_MAP_RING_IN {
    uint64_t process_handle; /* target process (e.g. the pseudo handle -1) */
} DMTMINI_MAP_RING_IN;

typedef struct DMTMINI_MAP_RING_OUT {
    uint64_t process_handle; /* echoed, for UNMAP_RING */
    uint64_t user_va;        /* where the ring region is mapped */
    uint64_t length;         /* bytes mapped (may be rounded up) */
    uint64_t ring_bytes;     /* the ring region's size (pass to dmt_ring_attach) */
} DMTMINI_MAP_RING_OUT;

/* Transfer statuses beyond dderror.h (Win32 values). */
#define DMTMINI_ERROR_IO_DEVICE 1117u /* ERROR_IO_DEVICE: the engine reported an error */
#define DMTMINI_ERROR_TIMEOUT   1460u /* ERROR_TIMEOUT: no completion in time; channel reset */

_Static_assert(sizeof(DMTMINI_CHAN_CONFIG) == 12, "DMTMINI_CHAN_CONFIG layout");
_Static_assert(sizeof(DMTMINI_CONFIG) == 40, "DMTMINI_CONFIG layout");
_Static_assert(sizeof(DMTMINI_CHAN_INFO) == 24, "DMTMINI_CHAN_INFO layout");
_Static_assert(sizeof(DMTMINI_INFO) == 88, "DMTMINI_INFO layout");
_Static_assert(sizeof(DMTMINI_TRANSFER_IN) == 40, "DMTMINI_TRANSFER_IN layout");
_Static_assert(sizeof(DMTMINI_TRANSFER_OUT) == 24, "DMTMINI_TRANSFER_OUT layout");
_Static_assert(sizeof(DMTMINI_MAP_RING_OUT) == 32, "DMTMINI_MAP_RING_OUT layout");

#endif
