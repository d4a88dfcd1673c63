/*
 * audit_rules.c - the audit rule table (ids, severities, Driver Verifier
 * mapping, one-line explanations) and the --rules LIST parser.
 * docs/audit-rules.md is the prose version of this table; keep them equal.
 */
#include "dmt/audit.h"

#include <fnmatch.h>
#include <string.h>

static const dmt_audit_rule_info rules[DMT_R_COUNT_] = {
    [DMT_R_SG_TOTAL_MISMATCH] = {"sg-total-mismatch", DMT_SEV_ERROR, "1",
                                 "the SG list's total length differs from the granted *pLength"},
    [DMT_R_TRANSFER_EXCEEDS_MAX] =
        {"transfer-exceeds-max", DMT_SEV_ERROR, "none - contract (MaximumLength); cf. 11",
         "a transfer longer than the adapter's MaximumLength allows (its map "
         "registers' worth: BYTES_TO_PAGES(MaximumLength) + 1 pages)"},
    [DMT_R_TRANSFER_EXCEEDS_MAP_REGISTERS] =
        {"transfer-exceeds-map-registers", DMT_SEV_ERROR, "11",
         "a transfer spans more pages than the map registers the adapter was granted"},
    [DMT_R_STARTDMA_BEYOND_MDL] = {"startdma-beyond-mdl", DMT_SEV_ERROR, "10, 18",
                                   "StartDma's Offset + length runs past the end of the MDL"},
    [DMT_R_ADDR_BEYOND_LIMIT] = {"addr-beyond-limit", DMT_SEV_ERROR, "none - layout",
                                 "an SG element above the device's address limit (e.g. a 32-bit "
                                 "device given an address above 4 GiB)"},
    [DMT_R_SG_CROSS_4G] = {"sg-cross-4g", DMT_SEV_ERROR, "none - layout",
                           "an SG element crosses a 4 GiB boundary"},
    [DMT_R_SG_ZERO_LENGTH] = {"sg-zero-length", DMT_SEV_ERROR, "21",
                              "an SG element of length zero"},
    [DMT_R_SG_OVERLAP] = {"sg-overlap", DMT_SEV_ERROR, "none - layout; cf. 12, 19",
                          "two elements of one SG list cover the same physical bytes"},
    [DMT_R_INFLIGHT_OVERLAP] = {"inflight-overlap", DMT_SEV_ERROR, "none - layout; cf. 19",
                                "two transfers in flight touch the same physical bytes and at "
                                "least one writes memory"},
    [DMT_R_PROG_MISMATCH] = {"prog-mismatch", DMT_SEV_ERROR, "none - device programming; cf. 1",
                             "the device was programmed with an address or length that differs "
                             "from the SG list"},
    [DMT_R_PROG_SKIPPED] = {"prog-skipped", DMT_SEV_ERROR, "none - device programming; cf. 1",
                            "bytes of the SG list were never programmed into the device, yet "
                            "counted as transferred"},
    [DMT_R_PROG_DUPLICATE] = {"prog-duplicate", DMT_SEV_ERROR, "none - device programming; cf. 1",
                              "an SG element was programmed into the device twice"},
    [DMT_R_PROG_RING_OUTSIDE_CB] = {"prog-ring-outside-cb", DMT_SEV_ERROR,
                                    "none - device programming; cf. 1, 5",
                                    "the device was started on descriptors outside every "
                                    "allocated common buffer"},
    [DMT_R_STARTDMA_UNLOCKED_MDL] = {"startdma-unlocked-mdl", DMT_SEV_ERROR, "8",
                                     "StartDma on an MDL that is unknown or already unlocked"},
    [DMT_R_LOCK_OP_DIRECTION] = {"lock-op-direction", DMT_SEV_ERROR, "9",
                                 "DMA in a direction the buffer's lock operation does not allow"},
    [DMT_R_COMPLETE_MISSING] = {"complete-missing", DMT_SEV_ERROR, "6, 3",
                                "a transfer's buffer was unlocked or its adapter put without "
                                "CompleteDma"},
    [DMT_R_COMPLETE_TWICE] = {"complete-twice", DMT_SEV_ERROR, "2",
                              "CompleteDma of an SG list that is not in flight (completed "
                              "already, or never given)"},
    [DMT_R_COMPLETE_BEFORE_INTERRUPT] =
        {"complete-before-interrupt", DMT_SEV_ERROR, "none of the 22 (bug check 0xE6 code 0x23)",
         "CompleteDma before the device signalled the end of the transfer"},
    [DMT_R_USE_AFTER_COMPLETE] = {"use-after-complete", DMT_SEV_ERROR, "13; cf. 5",
                                  "the device was programmed from an SG list after its "
                                  "CompleteDma"},
    [DMT_R_LEAK_ADAPTER] = {"leak-adapter", DMT_SEV_WARNING, "3",
                            "an adapter never put (end of a trace that covers the unload)"},
    [DMT_R_LEAK_COMMON_BUFFER] = {"leak-common-buffer", DMT_SEV_WARNING, "3",
                                  "a common buffer never released before its adapter was put "
                                  "(or the end of an unload trace)"},
    [DMT_R_LEAK_MDL] = {"leak-mdl", DMT_SEV_WARNING, "none (DV does not track MDLs); cf. 3",
                        "a buffer still locked at the end of the trace"},
    [DMT_R_LEAK_SGLIST] = {"leak-sglist", DMT_SEV_ERROR, "3",
                           "an SG list never completed at the end of the trace or when its "
                           "adapter was put"},
    [DMT_R_ADAPTER_AFTER_PUT] = {"adapter-after-put", DMT_SEV_ERROR, "5",
                                 "an adapter used (or put again) after PutDmaAdapter"},
    [DMT_R_CONCURRENT_ON_ADAPTER] = {"concurrent-on-adapter", DMT_SEV_ERROR, "4",
                                     "a second transfer in flight on an adapter without "
                                     "scatter/gather, which allows one"},
    [DMT_R_CB_RELEASE_UNKNOWN] = {"cb-release-unknown", DMT_SEV_ERROR, "2",
                                  "ReleaseCommonBuffer of a buffer not allocated, or released "
                                  "already"},
    [DMT_R_UNLOCK_UNKNOWN_MDL] = {"unlock-unknown-mdl", DMT_SEV_WARNING, "none; cf. 2",
                                  "UnlockBuffer of an MDL that is not locked"},
};

const dmt_audit_rule_info *dmt_audit_rules(void)
{
    return rules;
}

int dmt_audit_rule_by_id(const char *id)
{
    for (int i = 0; i < DMT_R_COUNT_; i++)
        if (!strcmp(rules[i].id, id))
            return i;
    return -1;
}

const char *dmt_audit_severity_name(uint32_t severity)
{
    return severity == DMT_SEV_ERROR ? "error" : severity == DMT_SEV_WARNING ? "warning" : "info";
}

int dmt_audit_parse_rules(const char *list, uint64_t *mask, dmt_error *err)
{
    char item[128];
    uint64_t m = 0;
    bool first = true;
    const char *p = list;
    if (!list || !*list)
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX, "empty rule list");
    for (;;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0 || n >= sizeof item)
            return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                                 "bad item in rule list '%s'", list);
        memcpy(item, p, n);
        item[n] = 0;
        bool neg = item[0] == '-' && item[1] != 0 && item[1] != '-';
        const char *pat = neg ? item + 1 : item;
        if (first && neg)
            m = DMT_AUDIT_ALL_RULES;
        first = false;
        uint64_t hit = 0;
        if (!strcmp(pat, "all"))
            hit = DMT_AUDIT_ALL_RULES;
        else
            for (int i = 0; i < DMT_R_COUNT_; i++)
                if (fnmatch(pat, rules[i].id, 0) == 0)
                    hit |= UINT64_C(1) << i;
        if (!hit)
            return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                                 "'%s' matches no audit rule (dmatrace audit --list-rules)", pat);
        m = neg ? m & ~hit : m | hit;
        if (!e)
            break;
        p = e + 1;
    }
    *mask = m;
    return 0;
}
