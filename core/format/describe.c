/*
 * describe.c - one-line text of a record (see dmt/describe.h).
 */
#include "dmt/describe.h"
#include "dmt/error.h" /* DMT_PRINTF */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct out {
    char *p;
    size_t cap, n;
} out;

__attribute__((format(DMT_PRINTF, 2, 3))) static void put(out *o, const char *fmt, ...)
{
    va_list ap;
    if (o->n + 1 >= o->cap)
        return;
    va_start(ap, fmt);
    int k = vsnprintf(o->p + o->n, o->cap - o->n, fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    o->n += (size_t)k;
    if (o->n >= o->cap)
        o->n = o->cap - 1;
}

static const char *lock_op(uint32_t op)
{
    return op == DMT_LOCK_READ     ? "read"
           : op == DMT_LOCK_WRITE  ? "write"
           : op == DMT_LOCK_MODIFY ? "modify"
                                   : "?";
}

const char *dmt_lost_reason_name(uint32_t r)
{
    static const char *const names[DMT_LOST_N_] = {"ring-full", "overwritten", "torn",
                                                   "corrupt",   "probe",       "absent"};
    return r < DMT_LOST_N_ ? names[r] : "?";
}

static const char *const digest_policies[DMT_DIGEST_POLICY_MAX_] = {"full", "bounded", "off"};

const char *dmt_digest_policy_name(uint32_t policy)
{
    return policy < DMT_DIGEST_POLICY_MAX_ ? digest_policies[policy] : "?";
}

int dmt_digest_policy_parse(const char *name)
{
    for (int i = 0; i < DMT_DIGEST_POLICY_MAX_; i++)
        if (name && strcmp(name, digest_policies[i]) == 0)
            return i;
    return -1;
}

size_t dmt_record_describe(char *buf, size_t cap, const dmt_record *r, unsigned max_items)
{
    out o = {buf, cap, 0};
    const char *name = dmt_kind_name(r->kind);
    if (cap == 0)
        return 0;
    buf[0] = 0;
    if (!max_items)
        max_items = 8;
    put(&o, "%-14s", name ? name : "unknown");
    switch (r->kind) {
    case DMT_K_REG_WRITE:
    case DMT_K_REG_READ:
        put(&o, " dev=%u off=0x%llx value=0x%llx", r->dev, (unsigned long long)r->off,
            (unsigned long long)r->value);
        if (r->width != 4)
            put(&o, " width=%u", r->width);
        break;
    case DMT_K_REG_WRITE_BUF:
    case DMT_K_REG_READ_BUF:
        put(&o, " dev=%u off=0x%llx count=%u values=[", r->dev, (unsigned long long)r->off,
            r->n_values);
        for (uint32_t i = 0; i < r->n_values && i < max_items; i++)
            put(&o, "%s0x%llx", i ? " " : "", (unsigned long long)r->values[i]);
        put(&o, "%s]", r->n_values > max_items ? " ..." : "");
        break;
    case DMT_K_EXECUTE_DMA: {
        size_t stride = r->sg_stride ? r->sg_stride : sizeof(dmt_sg_elem);
        put(&o, " xfer=%u adapter=%u granted=%llu elements=%u [", r->xfer, r->adapter,
            (unsigned long long)r->length, r->n_sg);
        for (uint32_t i = 0; i < r->n_sg && i < max_items; i++) {
            const uint8_t *e = (const uint8_t *)r->sg_list + i * stride;
            uint64_t a;
            uint32_t l;
            memcpy(&a, e, 8);
            memcpy(&l, e + 8, 4);
            put(&o, "%s0x%llx+0x%x", i ? " " : "", (unsigned long long)a, l);
        }
        put(&o, "%s]", r->n_sg > max_items ? " ..." : "");
        if (r->xfer_flags & DMT_XF_BOUNCE_CHECKED)
            put(&o, " bounced=%s", r->xfer_flags & DMT_XF_BOUNCED ? "yes" : "no");
        break;
    }
    case DMT_K_START_DMA:
        put(&o, " xfer=%u adapter=%u mdl=%u offset=%llu requested=%llu %s context=0x%llx", r->xfer,
            r->adapter, r->mdl, (unsigned long long)r->offset, (unsigned long long)r->length,
            r->write_to_device ? "to-device" : "from-device", (unsigned long long)r->context);
        break;
    case DMT_K_START_DMA_END:
        put(&o, " xfer=%u adapter=%u status=0x%x length=%llu", r->xfer, r->adapter, r->status,
            (unsigned long long)r->length);
        break;
    case DMT_K_COMPLETE_DMA:
        put(&o, " xfer=%u adapter=%u %s status=0x%x", r->xfer, r->adapter,
            r->write_to_device ? "to-device" : "from-device", r->status);
        break;
    case DMT_K_ADAPTER_CREATE:
        put(&o,
            " adapter=%u dev=%u sg=%d dma32=%d dma64=%d max_length=%llu map_registers=%u "
            "limit=0x%llx",
            r->adapter, r->dev, r->sg, r->dma32, r->dma64, (unsigned long long)r->length,
            r->map_registers, (unsigned long long)r->addr_limit);
        break;
    case DMT_K_ADAPTER_RELEASE:
        put(&o, " adapter=%u", r->adapter);
        break;
    case DMT_K_BUFFER_LOCK:
        put(&o, " mdl=%u va=0x%llx length=%llu op=%s", r->mdl, (unsigned long long)r->va,
            (unsigned long long)r->length, lock_op(r->op));
        break;
    case DMT_K_BUFFER_UNLOCK:
        put(&o, " mdl=%u", r->mdl);
        break;
    case DMT_K_COMMON_ALLOC:
        put(&o, " cb=%u adapter=%u addr=0x%llx length=%llu cached=%d va=0x%llx", r->cb, r->adapter,
            (unsigned long long)r->addr, (unsigned long long)r->length, r->cached,
            (unsigned long long)r->va);
        break;
    case DMT_K_COMMON_RELEASE:
        put(&o, " cb=%u adapter=%u", r->cb, r->adapter);
        break;
    case DMT_K_DESC_WRITE:
    case DMT_K_PAYLOAD:
        if (r->kind == DMT_K_DESC_WRITE)
            put(&o, " cb=%u", r->cb);
        else
            put(&o, " mdl=%u", r->mdl);
        put(&o, " offset=0x%llx bytes=%u [", (unsigned long long)r->offset, r->n_bytes);
        for (uint32_t i = 0; i < r->n_bytes && i < 4 * max_items; i++)
            put(&o, "%02x", r->bytes[i]);
        put(&o, "%s]", r->n_bytes > 4 * max_items ? "..." : "");
        break;
    case DMT_K_INTERRUPT:
        put(&o, " dev=%u claimed=%d value=0x%llx", r->dev, r->claimed,
            (unsigned long long)r->value);
        break;
    case DMT_K_DPC:
        put(&o, " dev=%u xfer=%u", r->dev, r->xfer);
        break;
    case DMT_K_DIGEST:
        put(&o, " xfer=%u algo=%u length=%llu digest=0x%016llx", r->xfer, r->algo,
            (unsigned long long)r->length, (unsigned long long)r->value);
        if (r->digest_policy)
            put(&o, " policy=%s", dmt_digest_policy_name(r->digest_policy));
        if (r->n_sg) {
            put(&o, " ranges=%u [", r->n_sg);
            for (uint32_t i = 0; i < r->n_sg && i < max_items; i++) {
                dmt_sg_elem e = dmt_record_sg_at(r, i);
                put(&o, "%s+0x%llx:0x%x", i ? " " : "", (unsigned long long)e.addr, e.len);
            }
            put(&o, "%s]", r->n_sg > max_items ? " ..." : "");
        }
        break;
    case DMT_K_PATTERN:
        put(&o, " mdl=%u algo=%u seed=0x%llx offset=%llu length=%llu", r->mdl, r->algo,
            (unsigned long long)r->value, (unsigned long long)r->offset,
            (unsigned long long)r->length);
        break;
    case DMT_K_DEVICE_MAP:
        put(&o, " dev=%u addr=0x%llx length=0x%llx va=0x%llx", r->dev, (unsigned long long)r->addr,
            (unsigned long long)r->length, (unsigned long long)r->va);
        break;
    case DMT_K_LOST:
        put(&o, " first_seq=%llu count=%llu reason=%s", (unsigned long long)r->value,
            (unsigned long long)r->count, dmt_lost_reason_name(r->reason));
        break;
    case DMT_K_MARKER: {
        put(&o, " \"");
        for (uint32_t i = 0; i < r->n_bytes && o.n + 8 < o.cap; i++) {
            unsigned char ch = r->bytes[i];
            if (ch == '"' || ch == '\\')
                put(&o, "\\%c", ch);
            else if (ch < 0x20 || ch == 0x7f)
                put(&o, "\\x%02x", ch);
            else
                put(&o, "%c", ch);
        }
        put(&o, "\"");
        break;
    }
    case DMT_K_CHUNK:
        put(&o, " records=%llu bytes=%llu crc32c=0x%08llx first_seq=%llu",
            (unsigned long long)r->count, (unsigned long long)r->length,
            (unsigned long long)r->value, (unsigned long long)r->seq);
        break;
    case DMT_K_END:
        put(&o, " records=%llu lost=%llu", (unsigned long long)r->count,
            (unsigned long long)r->value);
        break;
    case DMT_K_CPU:
        put(&o, " cpu=%u", r->cpu);
        break;
    case DMT_K_CALIBRATION:
        put(&o, " tsc=%llu counter=%llu counter_hz=%llu mult=%u shift=%u err_ns=%llu",
            (unsigned long long)r->tsc, (unsigned long long)r->counter,
            (unsigned long long)r->counter_hz, r->mult, r->shift, (unsigned long long)r->err_ns);
        break;
    default:
        break;
    }
    return o.n;
}
