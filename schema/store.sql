-- schema/store.sql - the dmatrace store (NAME.db), schema version 7 (2 added
-- transfers.bounced, 3 the register-name tables reg_names and reg_fields, 4
-- digest_ranges, 5 the CPU records were made on (table cpu_runs, the `cpu`
-- columns of dma_calls, interrupts and dpcs, transfers.exec_cpu, meta
-- cpu_max), the TSC calibration records (table calibrations), and
-- sg_elements keyed by its EXECUTE_DMA: id = exec_seq * 4096 + idx,
-- exec_seq and idx computed from it, xfer dropped - it is the
-- EXECUTE_DMA's; transfers.sg_first, truncated and outcome computed; 6
-- trace-backed stores: time_index resume points; 7 `transfers` is a view
-- over the table `transfer_rows`, which holds the stored columns: the
-- computed ones are computed when read, not at every INSERT).
--
-- Normative.  `dmatrace import` builds a database from one trace file with
-- exactly these statements (the library embeds this file at build time and
-- runs its sections in order; a test checks the embedded copy against this
-- file).  A database whose application_id is not 0x444D5442 ("DMTB") is not
-- a dmatrace store; one whose user_version is not 7 is refused.
--
-- Conventions
--  * Every event table is keyed by the record's sequence number
--    (`seq INTEGER PRIMARY KEY`, FORMAT.md 1.4) and carries `ts`, the
--    record's absolute time in ns.  A LOST record is keyed by the first
--    sequence number it covers.  Sequence numbers are unique across all
--    tables, so the record stream is rebuilt in order by a k-way merge on
--    seq (dmt_store_iter_* does this) and any record is found again by seq.
--  * 64-bit unsigned trace values (addresses, register values, digests,
--    lengths) are stored as the signed 64-bit integer with the same bits:
--    values >= 2^63 read back negative in SQL (printf('0x%x', v) still prints
--    the right hex).  Ids (dev, adapter, xfer, mdl, cb) are 32-bit unsigned.
--  * Columns a record kind does not have are NULL.
--  * Booleans are 0/1.  Record kinds are the numbers of trace.cddl; table
--    `kinds` names them.
--  * Times in views are microseconds since the first record (meta first_ts).
--  * `cpu` (dma_calls, interrupts, dpcs) is the CPU the record was made on
--    (FORMAT.md 1.4: the ring index of a per-CPU region), NULL when the
--    trace does not say (a single ring, a version-1 trace).  A NULL, a 0
--    and a 1 cost one byte of the row, any other CPU below 128 two.
--
-- Sections (the importer runs them in this order):
--   tables  - before the load: pragmas, every table (empty), the views;
--   derive  - after the load, inside the same transaction: derived tables
--             that are plain INSERT ... SELECT over the loaded tables;
--   indexes - last: secondary indexes (cheaper after the load than during).
-- The importer itself fills the raw tables in sequence order, and, while
-- streaming, `transfers`, `lanes`, `summary` and `time_index` (the
-- definitions are in the comments on those tables).

-- @section tables

PRAGMA application_id = 0x444D5442;
PRAGMA user_version = 7;

-- Key/value facts about the database and the trace it came from.
--   Header fields (FORMAT.md 1.2): version, t0, page_shift, seq0, producer,
--     clock, host, scenario, seed, ring_size, ring_policy; and those of the
--     optional machine and layout keys the trace has: os, os_build, cpus,
--     page_size, clock_hz, phys_mem, boot_options, placement,
--     contig_permille, map_register_cap, ram_low_top, ram_high_top.
--   Import facts: source_path, source_size (bytes), source_mtime (s),
--     import_time (Unix s), importer ("dmatrace 0.1.0"), records (records
--     imported), skipped (records of unknown kinds skipped by the reader),
--     cut (0/1: the trace ended without END or inside a record), cut_offset
--     (byte where the last whole record ends), cut_reason (text),
--     first_ts/last_ts (min/max record time), max_transfer_ns (longest
--     transfer span t_end - t_begin, used to widen window queries),
--     summary_min_level (finest level stored in `summary`), cpu_max (the
--     highest CPU of any record; absent when no record names its CPU).
--   Trace-backed stores only (import option events_in_trace; absent in a
--     store of full rows): events ('trace': the raw event tables -
--     reg_accesses, reg_buffers, dma_calls, sg_elements, digest_ranges,
--     desc_writes, payloads, patterns, interrupts, dpcs, calibrations -
--     have no rows;
--     their records are read from the trace at source_path through the
--     resume points of time_index), trace_bytes (bytes of the trace the
--     records were read from: a shorter file is not the store's trace),
--     trace_header_len and trace_header_crc (the header's length and the
--     CRC-32C of its bytes: the trace's identity).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value
);

-- Names of the record kinds (trace.cddl numbers), for joins in the shell.
CREATE TABLE kinds (
    kind INTEGER PRIMARY KEY,
    name TEXT NOT NULL
);

-- REG_WRITE (is_write = 1) and REG_READ (is_write = 0): one register access
-- of `width` bytes at offset `off` of device `dev`; `value` written or read.
CREATE TABLE reg_accesses (
    seq      INTEGER PRIMARY KEY,
    ts       INTEGER NOT NULL,
    dev      INTEGER NOT NULL,
    off      INTEGER NOT NULL,
    value    INTEGER NOT NULL,
    width    INTEGER NOT NULL,
    is_write INTEGER NOT NULL
);

-- REG_WRITE_BUF (is_write = 1) and REG_READ_BUF (is_write = 0): `count`
-- values to consecutive registers from `off` (stride `width`).  `vals` is
-- count little-endian u64s (8 * count bytes).
CREATE TABLE reg_buffers (
    seq      INTEGER PRIMARY KEY,
    ts       INTEGER NOT NULL,
    dev      INTEGER NOT NULL,
    off      INTEGER NOT NULL,
    width    INTEGER NOT NULL,
    is_write INTEGER NOT NULL,
    count    INTEGER NOT NULL,
    vals     BLOB NOT NULL
);

-- Register names, from the register map given to the import (the sample
-- device's dmm.xml by default; empty when there was none): one row per
-- register the trace's reg_accesses touch that the map defines, keyed as
-- reg_accesses is, so a join finds accesses by name.  `name` carries array
-- indexes ("CH[1].STATUS"); meta key `regmap` names the map file.
CREATE TABLE reg_names (
    dev   INTEGER NOT NULL,
    off   INTEGER NOT NULL,
    width INTEGER NOT NULL, -- bytes, as in reg_accesses
    name  TEXT NOT NULL,
    PRIMARY KEY (dev, off, width)
) WITHOUT ROWID;

-- The bitfields of the registers in reg_names: bits low..high of the value
-- (a bitset-typed field's parts as "FIELD.PART").  A field's value in SQL:
-- (value >> low) & ((1 << (high - low + 1)) - 1).
CREATE TABLE reg_fields (
    dev   INTEGER NOT NULL,
    off   INTEGER NOT NULL,
    width INTEGER NOT NULL,
    name  TEXT NOT NULL,
    low   INTEGER NOT NULL,
    high  INTEGER NOT NULL,
    PRIMARY KEY (dev, off, width, name)
) WITHOUT ROWID;

-- One row per START_DMA (6), EXECUTE_DMA (5), START_DMA_END (7),
-- COMPLETE_DMA (8) and DIGEST (18) record.  Columns by kind:
--   START_DMA      xfer adapter mdl offset length(requested) write_to_device context
--   EXECUTE_DMA    xfer adapter length(granted) n_sg flags (NULL when the
--                  record has none; elements: sg_elements)
--   START_DMA_END  xfer adapter status length(final *pLength)
--   COMPLETE_DMA   xfer adapter write_to_device status
--   DIGEST         xfer algo length value(digest) flags(digest policy: NULL
--                  full, 1 bounded, 2 off) n_sg(ranges, NULL when the
--                  whole transfer was digested; ranges: digest_ranges)
-- and, for every kind, cpu.
CREATE TABLE dma_calls (
    seq             INTEGER PRIMARY KEY,
    ts              INTEGER NOT NULL,
    kind            INTEGER NOT NULL,
    xfer            INTEGER NOT NULL,
    adapter         INTEGER,
    mdl             INTEGER,
    offset          INTEGER,
    length          INTEGER,
    write_to_device INTEGER,
    context         INTEGER,
    status          INTEGER,
    algo            INTEGER,
    value           INTEGER,
    n_sg            INTEGER,
    flags           INTEGER,
    cpu             INTEGER
);

-- The scatter/gather list of every EXECUTE_DMA, element by element in list
-- order (idx from 0).  The key says where an element belongs: id =
-- exec_seq * 4096 + idx (a list has at most 4096 elements, FORMAT.md), so
-- the elements of one EXECUTE_DMA are the contiguous ids exec_seq * 4096 ..
-- + n_sg - 1 (transfers.sg_first .. sg_first + n_sg - 1 for the transfer's
-- first one), in sequence order with the records, and exec_seq and idx are
-- computed from id, not stored (virtual columns: they read like any other,
-- SELECT * shows them).  The transfer is the EXECUTE_DMA's: join dma_calls
-- ON seq = exec_seq, or read v_sg.  The import refuses a trace with an
-- EXECUTE_DMA whose sequence number is 2^51 or more (the id would not fit).
CREATE TABLE sg_elements (
    id       INTEGER PRIMARY KEY,
    exec_seq INTEGER AS (id >> 12) VIRTUAL,
    idx      INTEGER AS (id & 4095) VIRTUAL,
    addr     INTEGER NOT NULL,
    length   INTEGER NOT NULL
);

-- The byte ranges a DIGEST record digested when not the whole transfer
-- (digest policy bounded), in record order (idx from 0): offset from the
-- transfer's first byte, length in bytes.
CREATE TABLE digest_ranges (
    seq    INTEGER NOT NULL REFERENCES dma_calls(seq),
    idx    INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    PRIMARY KEY (seq, idx)
) WITHOUT ROWID;

-- Resource life-cycle records.  `id` is the resource's own id.  By kind:
--   ADAPTER_CREATE (9)   id=adapter adapter dev max_length map_registers
--                        addr_limit flags(1 scatter_gather, 2 dma32, 4 dma64)
--   ADAPTER_RELEASE (10) id=adapter adapter
--   BUFFER_LOCK (11)     id=mdl va length op (0 read, 1 write, 2 modify)
--   BUFFER_UNLOCK (12)   id=mdl
--   COMMON_ALLOC (13)    id=cb adapter addr(logical) length va flags(8 cached)
--   COMMON_RELEASE (14)  id=cb adapter
--   DEVICE_MAP (21)      id=dev dev addr(bus address) length va
CREATE TABLE resources (
    seq           INTEGER PRIMARY KEY,
    ts            INTEGER NOT NULL,
    kind          INTEGER NOT NULL,
    id            INTEGER NOT NULL,
    adapter       INTEGER,
    dev           INTEGER,
    addr          INTEGER,
    length        INTEGER,
    va            INTEGER,
    op            INTEGER,
    flags         INTEGER,
    map_registers INTEGER,
    addr_limit    INTEGER,
    max_length    INTEGER
);

-- DESC_WRITE: bytes the driver wrote at `offset` into common buffer `cb`.
CREATE TABLE desc_writes (
    seq    INTEGER PRIMARY KEY,
    ts     INTEGER NOT NULL,
    cb     INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    data   BLOB NOT NULL
);

-- PAYLOAD: recorded bytes of locked buffer `mdl` at `offset`.
CREATE TABLE payloads (
    seq    INTEGER PRIMARY KEY,
    ts     INTEGER NOT NULL,
    mdl    INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    data   BLOB NOT NULL
);

-- PATTERN: `length` bytes of `mdl` from `offset` hold the pattern `algo`
-- (1 = XS64) of `seed` (FORMAT.md 1.8).
CREATE TABLE patterns (
    seq    INTEGER PRIMARY KEY,
    ts     INTEGER NOT NULL,
    mdl    INTEGER NOT NULL,
    algo   INTEGER NOT NULL,
    seed   INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL
);

-- INTERRUPT: HwVidInterrupt returned on `dev`; `claimed` 0/1; `value` the
-- engine status the ISR read (or 0); `cpu` the CPU the ISR ran on.
CREATE TABLE interrupts (
    seq     INTEGER PRIMARY KEY,
    ts      INTEGER NOT NULL,
    dev     INTEGER NOT NULL,
    claimed INTEGER NOT NULL,
    value   INTEGER NOT NULL,
    cpu     INTEGER
);

-- DPC: the miniport's DPC ran for `dev`; `xfer` the transfer it served
-- (0: none); `cpu` the CPU it ran on.
CREATE TABLE dpcs (
    seq  INTEGER PRIMARY KEY,
    ts   INTEGER NOT NULL,
    dev  INTEGER NOT NULL,
    xfer INTEGER NOT NULL,
    cpu  INTEGER
);

-- CALIBRATION: the probe's TSC-to-ns conversion from seq on (FORMAT.md
-- 1.3): ts is what it maps tsc to; counter (counter_hz ticks per second) was
-- read beside tsc; ns per tick is mult / 2^shift; err_ns bounds |conversion
-- - counter| until the next calibration.  Record times are ns already:
-- nothing here is needed to read them, only to audit the conversion.
CREATE TABLE calibrations (
    seq        INTEGER PRIMARY KEY,
    ts         INTEGER NOT NULL,
    tsc        INTEGER NOT NULL,
    counter    INTEGER NOT NULL,
    counter_hz INTEGER NOT NULL,
    mult       INTEGER NOT NULL,
    shift      INTEGER NOT NULL,
    err_ns     INTEGER NOT NULL
);

-- MARKER: free text (UTF-8 as written; not checked).
CREATE TABLE markers (
    seq  INTEGER PRIMARY KEY,
    ts   INTEGER NOT NULL,
    text TEXT NOT NULL
);

-- LOST: `count` records with sequence numbers first_seq .. first_seq +
-- count - 1 never reached the file; reason 0 ring full, 1 overwritten,
-- 2 torn, 3 corrupt, 4 probe.
CREATE TABLE lost (
    first_seq INTEGER PRIMARY KEY,
    ts        INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    reason    INTEGER NOT NULL
);

-- CPU runs (FORMAT.md 1.4: the trace's CPU records): the records from
-- sequence number first_seq on, up to the next row's, were made on CPU
-- `cpu` (NULL: the trace does not say).  One row where the CPU changes (a
-- LOST record keyed by its first sequence number), none for a trace
-- without CPU records; records before the first row have no CPU.  It gives
-- every record its CPU (dmt_store_iter_*, so the audit of a .db); the cpu
-- columns of dma_calls, interrupts and dpcs repeat it for queries.
CREATE TABLE cpu_runs (
    first_seq INTEGER PRIMARY KEY,
    cpu       INTEGER
);

-- Derived (section derive): one row per adapter id seen in ADAPTER_CREATE.
-- Descriptive columns from its last ADAPTER_CREATE; created_* from the
-- first ADAPTER_CREATE, released_* from the last ADAPTER_RELEASE (NULL if
-- never released).
CREATE TABLE adapters (
    adapter        INTEGER PRIMARY KEY,
    dev            INTEGER,
    scatter_gather INTEGER,
    dma32          INTEGER,
    dma64          INTEGER,
    max_length     INTEGER,
    map_registers  INTEGER,
    addr_limit     INTEGER,
    created_seq    INTEGER,
    created_ts     INTEGER,
    released_seq   INTEGER,
    released_ts    INTEGER
);

-- Derived: one row per MDL id seen in BUFFER_LOCK (last lock's va, length,
-- op; first lock; last unlock or NULL).
CREATE TABLE buffers (
    mdl           INTEGER PRIMARY KEY,
    va            INTEGER,
    length        INTEGER,
    op            INTEGER,
    locked_seq    INTEGER,
    locked_ts     INTEGER,
    unlocked_seq  INTEGER,
    unlocked_ts   INTEGER
);

-- Derived: one row per common buffer id seen in COMMON_ALLOC.
CREATE TABLE common_buffers (
    cb            INTEGER PRIMARY KEY,
    adapter       INTEGER,
    addr          INTEGER,
    length        INTEGER,
    va            INTEGER,
    cached        INTEGER,
    alloc_seq     INTEGER,
    alloc_ts      INTEGER,
    released_seq  INTEGER,
    released_ts   INTEGER
);

-- Derived by the importer while streaming: one row per transfer id that
-- appears in dma_calls.  A transfer is START_DMA -> EXECUTE_DMA ->
-- START_DMA_END -> (interrupt, DPC) -> COMPLETE_DMA, plus its DIGEST.
-- When a kind occurs more than once for one xfer, start_* / exec_* / end_* /
-- digest keep the FIRST occurrence and complete_* the first COMPLETE_DMA;
-- complete_count counts them all.
--   adapter, mdl, offset, requested, write_to_device, context: START_DMA
--     (adapter falls back to the first record that has one).
--   granted: EXECUTE_DMA length (NULL without EXECUTE_DMA).
--   end_status/end_length: START_DMA_END status and final *pLength.
--   complete_status: status of the first COMPLETE_DMA.
--   interrupt_seq/ts: the last claimed interrupt before the transfer's
--     first DPC, on the DPC's device (or, without a DPC naming the
--     transfer, before its first COMPLETE_DMA, on the device of the
--     adapter's ADAPTER_CREATE), if it came after the transfer's
--     EXECUTE_DMA (or START_DMA); else NULL.
--   dpc_seq/ts: the first DPC whose xfer is this transfer.
--   n_sg, sg_bytes, sg_lo, sg_hi: SG list of the first EXECUTE_DMA: element
--     count, sum of lengths, lowest address, highest address+length (end,
--     exclusive).  sg_first: id of its first sg_elements row (exec_seq *
--     4096).
--   digest, digest_algo, digest_len: the first DIGEST.
--   truncated: 1 when granted < requested (as unsigned).
--   bounced: 1 when the first EXECUTE_DMA says the OS substituted bounce
--     pages for some of the buffer, 0 when it says it did not, NULL when
--     the producer could not tell (flags absent).
--   outcome: 'completed-twice' (complete_count > 1), else 'failed'
--     (end_status or complete_status non-zero), else 'not-completed' (no
--     COMPLETE_DMA), else 'completed'.
--   t_begin/t_end: times of the first and last record of the transfer
--     (dma_calls rows and its DPC).
--   duration_ns: complete_ts - start_ts (NULL unless both exist).
--   exec_cpu: the CPU of the first EXECUTE_DMA (NULL without one, or when
--     the trace does not say; the others: dma_calls.cpu by seq).
--   sg_first, truncated and outcome are computed from the row when read:
--   `transfers` is a view over the table transfer_rows, which holds the
--   other columns (not stored: 'completed' in every row cost 10 bytes; not
--   virtual columns either: SQLite computes those at every INSERT, 17% of
--   a row's cost).  The importer writes transfer_rows; read `transfers`.
CREATE TABLE transfer_rows (
    xfer            INTEGER PRIMARY KEY,
    adapter         INTEGER,
    mdl             INTEGER,
    offset          INTEGER,
    requested       INTEGER,
    granted         INTEGER,
    write_to_device INTEGER,
    context         INTEGER,
    start_seq       INTEGER,
    start_ts        INTEGER,
    exec_seq        INTEGER,
    exec_ts         INTEGER,
    end_seq         INTEGER,
    end_ts          INTEGER,
    end_status      INTEGER,
    end_length      INTEGER,
    complete_seq    INTEGER,
    complete_ts     INTEGER,
    complete_status INTEGER,
    complete_count  INTEGER NOT NULL,
    interrupt_seq   INTEGER,
    interrupt_ts    INTEGER,
    dpc_seq         INTEGER,
    dpc_ts          INTEGER,
    n_sg            INTEGER,
    sg_bytes        INTEGER,
    sg_lo           INTEGER,
    sg_hi           INTEGER,
    digest          INTEGER,
    digest_algo     INTEGER,
    digest_len      INTEGER,
    bounced         INTEGER,
    t_begin         INTEGER NOT NULL,
    t_end           INTEGER NOT NULL,
    duration_ns     INTEGER,
    exec_cpu        INTEGER
);
CREATE VIEW transfers AS
SELECT xfer, adapter, mdl, offset, requested, granted, write_to_device, context,
       start_seq, start_ts, exec_seq, exec_ts, end_seq, end_ts, end_status, end_length,
       complete_seq, complete_ts, complete_status, complete_count,
       interrupt_seq, interrupt_ts, dpc_seq, dpc_ts, n_sg, sg_bytes, sg_lo, sg_hi,
       CASE WHEN n_sg > 0 THEN exec_seq << 12 END AS sg_first,
       digest, digest_algo, digest_len,
       CASE WHEN requested IS NULL OR granted IS NULL THEN 0
            WHEN (granted < 0) = (requested < 0) THEN granted < requested
            ELSE granted >= 0 END AS truncated,
       bounced,
       CASE WHEN complete_count > 1 THEN 'completed-twice'
            WHEN end_status != 0 OR complete_status != 0 THEN 'failed'
            WHEN complete_seq IS NULL THEN 'not-completed'
            ELSE 'completed' END AS outcome,
       t_begin, t_end, duration_ns, exec_cpu
FROM transfer_rows;

-- The viewer's rows ("lanes").  Built by the importer in order of first
-- appearance; the 'findings' lane always exists (last).
--   'transfers'  one per adapter (adapter)           name "adapter N"
--   'register'   one per register (dev, off)         name "devD 0xOFF"
--                (at most 4096; further registers share one lane per dev
--                with off NULL, name "devD other")
--   'interrupts' one per device (dev)                name "devD interrupts"
--   'lost'       one                                 name "lost"
--   'markers'    one                                 name "markers"
--   'findings'   one                                 name "findings"
-- Beyond 16384 lanes (a hostile trace), further devices and adapters share
-- one lane per kind with dev, adapter and off NULL ("other devices'
-- registers", "other devices' interrupts", "other adapters").
CREATE TABLE lanes (
    lane    INTEGER PRIMARY KEY,
    kind    TEXT NOT NULL,
    dev     INTEGER,
    adapter INTEGER,
    off     INTEGER,
    name    TEXT NOT NULL
);

-- Per-zoom summaries for the viewer.  Level L (0..7) has buckets of
-- 2^(10+3L) ns (1.024 us, 8.192 us, 65.5 us, 524 us, 4.19 ms, 33.6 ms,
-- 268 ms, 2.15 s); bucket = ts >> (10+3L) (floor division, absolute time).
-- Only non-empty buckets have rows, and only levels >= meta
-- summary_min_level (3) are stored: at the finer levels a bucket holds one
-- to a few events per lane, so rows would cost as much as the events
-- (dmt_store_summary computes those levels from the event tables, with the
-- same definitions, in one pass over the window's records).  Columns by
-- lane kind:
--   transfers  a transfer belongs to the bucket of t_begin: count
--              transfers, bytes = sum granted, vmin/vmax = min/max
--              duration_ns (NULL if none completed), vlast = transfers whose
--              outcome is not 'completed', t_first = min t_begin, t_last =
--              max t_end (may lie in a later bucket).
--   register   count accesses (a buffer access counts each value), bytes =
--              writes among them, vmin/vmax = min/max value (as unsigned),
--              vlast = value of the access at t_last (the later record on a
--              tie), t_first/t_last = first/last access time.
--   interrupts count interrupts, bytes = claimed ones, vmin/vmax/vlast =
--              status value.
--   lost       count LOST records, bytes = records lost, vmin/vmax/vlast =
--              reason.
--   markers    count markers; v* NULL.
-- A window [t0, t1] at level L reads bucket BETWEEN t0 >> s AND t1 >> s per
-- lane (for transfers lanes from (t0 - meta max_transfer_ns) >> s, keeping
-- rows with t_last >= t0).
CREATE TABLE summary (
    level   INTEGER NOT NULL,
    lane    INTEGER NOT NULL REFERENCES lanes(lane),
    bucket  INTEGER NOT NULL,
    count   INTEGER NOT NULL,
    bytes   INTEGER NOT NULL,
    vmin    INTEGER,
    vmax    INTEGER,
    vlast   INTEGER,
    t_first INTEGER NOT NULL,
    t_last  INTEGER NOT NULL,
    PRIMARY KEY (level, lane, bucket)
) WITHOUT ROWID;

-- Coarse time index: the record stream cut into consecutive blocks of
-- 4096 records (in sequence order); per block the first and last sequence
-- number and the min/max record time.  Records in [t0, t1] are in the
-- blocks with ts_max >= t0 AND ts_min <= t1 - a seq range per table, exact
-- for 64-bit times and ~2.5 k rows for 10 M records.
--
-- rp_*: the block's resume point into the trace (FORMAT.md 1.5, "Resume
-- points"): the last chunk boundary at or before the block's first record
-- - its byte offset, the next sequence number there, the time of the item
-- before it, the CPU in force (NULL: none), the ring_seq a CPU record left
-- for the next item (NULL: none), and the items / records before it.
-- NULL when the store was given none (an append whose caller passed no
-- boundaries); a trace-backed store reads its events from there.
CREATE TABLE time_index (
    first_seq   INTEGER PRIMARY KEY,
    last_seq    INTEGER NOT NULL,
    ts_min      INTEGER NOT NULL,
    ts_max      INTEGER NOT NULL,
    records     INTEGER NOT NULL,
    rp_offset   INTEGER,
    rp_seq      INTEGER,
    rp_ts       INTEGER,
    rp_cpu      INTEGER,
    rp_ring_seq INTEGER,
    rp_index    INTEGER,
    rp_count    INTEGER
);

-- Audit findings; created empty, filled by `dmatrace audit`.  `records`
-- lists the sequence numbers involved (text, comma-separated).
CREATE TABLE findings (
    id        INTEGER PRIMARY KEY,
    rule      TEXT NOT NULL,
    severity  TEXT NOT NULL,
    seq       INTEGER,
    ts        INTEGER,
    xfer      INTEGER,
    adapter   INTEGER,
    message   TEXT NOT NULL,
    uncertain INTEGER NOT NULL DEFAULT 0,
    records   TEXT
);

INSERT INTO kinds(kind, name) VALUES
    (1, 'reg_write'), (2, 'reg_read'), (3, 'reg_write_buf'), (4, 'reg_read_buf'),
    (5, 'execute_dma'), (6, 'start_dma'), (7, 'start_dma_end'), (8, 'complete_dma'),
    (9, 'adapter_create'), (10, 'adapter_release'), (11, 'buffer_lock'),
    (12, 'buffer_unlock'), (13, 'common_alloc'), (14, 'common_release'),
    (15, 'desc_write'), (16, 'interrupt'), (17, 'dpc'), (18, 'digest'),
    (19, 'pattern'), (20, 'payload'), (21, 'device_map'), (22, 'lost'),
    (23, 'marker'), (24, 'chunk'), (25, 'end'), (27, 'calibration');

-- Views for the sqlite3 shell.  Hex via printf('0x%x'), times in us since
-- the first record, durations in us.

-- The time origin of the views (ns).
CREATE VIEW v_origin AS
    SELECT coalesce((SELECT value FROM meta WHERE key = 'first_ts'), 0) AS t0;

CREATE VIEW v_transfers AS
    SELECT t.xfer,
           t.adapter,
           t.mdl,
           CASE t.write_to_device WHEN 1 THEN 'to-device' WHEN 0 THEN 'from-device' END AS dir,
           t.requested,
           t.granted,
           t.n_sg,
           printf('0x%x', t.sg_lo) AS sg_lo,
           printf('0x%x', t.sg_hi) AS sg_hi,
           round((t.t_begin - o.t0) / 1000.0, 3) AS begin_us,
           round(t.duration_ns / 1000.0, 3) AS duration_us,
           t.outcome,
           t.truncated,
           t.bounced,
           printf('0x%016x', t.digest) AS digest
    FROM transfers t, v_origin o;

CREATE VIEW v_sg AS
    SELECT d.xfer,
           s.exec_seq,
           s.idx,
           printf('0x%x', s.addr) AS addr,
           printf('0x%x', s.addr + s.length) AS "end",
           s.length,
           (s.addr & 4095) = 0 AS page_aligned,
           (s.addr >> 32) != ((s.addr + s.length - 1) >> 32) AS crosses_4g
    FROM sg_elements s JOIN dma_calls d ON d.seq = s.exec_seq;

-- Register accesses in hex, reads and writes; v_reg_writes / v_reg_reads
-- are its two halves (without is_write).
CREATE VIEW v_reg_accesses AS
    SELECT r.seq,
           round((r.ts - o.t0) / 1000.0, 3) AS t_us,
           r.dev,
           printf('0x%04x', r.off) AS off,
           printf('0x%08x', r.value) AS value,
           r.width,
           r.is_write
    FROM reg_accesses r, v_origin o;

CREATE VIEW v_reg_writes AS
    SELECT seq, t_us, dev, off, value, width FROM v_reg_accesses WHERE is_write = 1;

CREATE VIEW v_reg_reads AS
    SELECT seq, t_us, dev, off, value, width FROM v_reg_accesses WHERE is_write = 0;

CREATE VIEW v_adapters AS
    SELECT a.adapter,
           a.dev,
           a.scatter_gather,
           CASE WHEN a.dma64 THEN 64 WHEN a.dma32 THEN 32 ELSE 24 END AS address_bits,
           a.max_length,
           a.map_registers,
           printf('0x%x', a.addr_limit) AS addr_limit,
           (SELECT count(*) FROM transfers t WHERE t.adapter = a.adapter) AS transfers
    FROM adapters a;

-- Every record, one line each, in sequence order (slow on big traces: add
-- a WHERE on seq).
CREATE VIEW v_timeline AS
    SELECT x.seq, round((x.ts - o.t0) / 1000.0, 3) AS t_us, k.name AS kind, x.what
    FROM (
        SELECT seq, ts, CASE is_write WHEN 1 THEN 1 ELSE 2 END AS kind,
               printf('dev=%d off=0x%x value=0x%x', dev, off, value) AS what
          FROM reg_accesses
        UNION ALL
        SELECT seq, ts, CASE is_write WHEN 1 THEN 3 ELSE 4 END,
               printf('dev=%d off=0x%x count=%d', dev, off, count) FROM reg_buffers
        UNION ALL
        SELECT seq, ts, kind,
               printf('xfer=%d adapter=%s', xfer, coalesce(adapter, '-')) ||
               CASE kind
                   WHEN 5 THEN printf(' granted=%d n_sg=%d', length, n_sg)
                   WHEN 6 THEN printf(' mdl=%d offset=%d requested=%d to_device=%d',
                                      mdl, offset, length, write_to_device)
                   WHEN 7 THEN printf(' status=0x%x length=%d', status, length)
                   WHEN 8 THEN printf(' status=0x%x', status)
                   WHEN 18 THEN printf(' length=%d digest=0x%016x', length, value)
                   ELSE '' END
          FROM dma_calls
        UNION ALL
        SELECT seq, ts, kind,
               printf('id=%d', id) ||
               CASE WHEN addr IS NOT NULL THEN printf(' addr=0x%x', addr) ELSE '' END ||
               CASE WHEN length IS NOT NULL THEN printf(' length=%d', length) ELSE '' END
          FROM resources
        UNION ALL
        SELECT seq, ts, 15, printf('cb=%d offset=%d bytes=%d', cb, offset, length(data))
          FROM desc_writes
        UNION ALL
        SELECT seq, ts, 20, printf('mdl=%d offset=%d bytes=%d', mdl, offset, length(data))
          FROM payloads
        UNION ALL
        SELECT seq, ts, 19, printf('mdl=%d seed=0x%x offset=%d length=%d', mdl, seed,
                                   offset, length)
          FROM patterns
        UNION ALL
        SELECT seq, ts, 16, printf('dev=%d claimed=%d value=0x%x', dev, claimed, value)
          FROM interrupts
        UNION ALL
        SELECT seq, ts, 17, printf('dev=%d xfer=%d', dev, xfer) FROM dpcs
        UNION ALL
        SELECT seq, ts, 23, text FROM markers
        UNION ALL
        SELECT seq, ts, 27, printf('tsc=%d counter=%d mult=%d shift=%d err_ns=%d', tsc, counter,
                                   mult, shift, err_ns) FROM calibrations
        UNION ALL
        SELECT first_seq, ts, 22, printf('count=%d reason=%d', count, reason) FROM lost
    ) x
    JOIN kinds k ON k.kind = x.kind, v_origin o
    ORDER BY x.seq;

-- @section derive

-- A whole import of a full store only.  An append and a trace-backed import
-- (whose resources table stays empty: the records stay in the trace) fold
-- the same rows in C as the records stream by (core/store/
-- store_import_derive.c); test_store checks the two give the same rows.

INSERT INTO adapters(adapter, dev, scatter_gather, dma32, dma64, max_length, map_registers,
                     addr_limit, created_seq, created_ts, released_seq, released_ts)
    SELECT c.id, c.dev, (c.flags & 1) != 0, (c.flags & 2) != 0, (c.flags & 4) != 0,
           c.max_length, c.map_registers, c.addr_limit,
           f.seq, f.ts, rl.seq, rl.ts
    FROM (SELECT id, max(seq) AS last_seq, min(seq) AS first_seq
            FROM resources WHERE kind = 9 GROUP BY id) g
    JOIN resources c ON c.seq = g.last_seq
    JOIN resources f ON f.seq = g.first_seq
    LEFT JOIN (SELECT id, max(seq) AS seq FROM resources WHERE kind = 10 GROUP BY id) r
           ON r.id = g.id
    LEFT JOIN resources rl ON rl.seq = r.seq;

INSERT INTO buffers(mdl, va, length, op, locked_seq, locked_ts, unlocked_seq, unlocked_ts)
    SELECT c.id, c.va, c.length, c.op, f.seq, f.ts, ul.seq, ul.ts
    FROM (SELECT id, max(seq) AS last_seq, min(seq) AS first_seq
            FROM resources WHERE kind = 11 GROUP BY id) g
    JOIN resources c ON c.seq = g.last_seq
    JOIN resources f ON f.seq = g.first_seq
    LEFT JOIN (SELECT id, max(seq) AS seq FROM resources WHERE kind = 12 GROUP BY id) u
           ON u.id = g.id
    LEFT JOIN resources ul ON ul.seq = u.seq;

INSERT INTO common_buffers(cb, adapter, addr, length, va, cached, alloc_seq, alloc_ts,
                           released_seq, released_ts)
    SELECT c.id, c.adapter, c.addr, c.length, c.va, (c.flags & 8) != 0, f.seq, f.ts,
           rl.seq, rl.ts
    FROM (SELECT id, max(seq) AS last_seq, min(seq) AS first_seq
            FROM resources WHERE kind = 13 GROUP BY id) g
    JOIN resources c ON c.seq = g.last_seq
    JOIN resources f ON f.seq = g.first_seq
    LEFT JOIN (SELECT id, max(seq) AS seq FROM resources WHERE kind = 14 GROUP BY id) r
           ON r.id = g.id
    LEFT JOIN resources rl ON rl.seq = r.seq;

-- @section indexes

-- Deliberately few: every event table is already ordered by seq (and,
-- through time_index, by time); transfers name the seq of their start,
-- ExecuteDma, end, completion, interrupt and DPC.  An index over dma_calls
-- or sg_elements would cost more to build than the whole transfers table
-- (seconds for a 10 M-event trace); add one by hand when an ad-hoc query
-- needs it (CREATE INDEX dma_calls_by_xfer ON dma_calls(xfer)).
CREATE INDEX transfers_by_begin ON transfer_rows(t_begin);
