-- schema/fleet.sql - the dmatrace fleet store (PostgreSQL 15), schema version 1.
--
-- Normative.  `dmatrace push` runs this file (embedded in libdmt_fleet at
-- build time) in one transaction under an advisory lock when the server has
-- no fleet schema yet; fleet_meta.schema_version says which version a
-- database holds, and a database of another version is refused (there is no
-- older version to migrate from yet; a future version adds its migration
-- here, keyed by the version it starts from).
--
-- Model: many traces, each identified by the SHA-256 of its canonical form
-- (the .dmat the trace's record stream rewrites to; the same for a trace and
-- the .db imported from it).  Every per-trace table is keyed by trace_id
-- first, so one trace's rows are one index range (pull, delete) and every
-- fleet query joins through `traces` on it.  A trace is written in ONE
-- transaction (traces row, then COPY into each table): a push cut at any
-- point leaves nothing visible; `hash` UNIQUE with INSERT ... ON CONFLICT DO
-- NOTHING makes a second push of the same trace a no-op and serialises two
-- concurrent pushes of one trace (the second waits, then does nothing).
--
-- 64-bit unsigned trace values (addresses, register values) are stored as
-- the bigint with the same bits, as in schema/store.sql.

-- @section tables

CREATE TABLE fleet_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO fleet_meta VALUES ('schema_version', '1');

-- One row per trace.  Header fields (FORMAT.md 1.2): producer, clock, host,
-- scenario, seed, ring_size, ring_policy, page_shift, t0.  driver_build:
-- given to push (--build) or NULL; device_revision: the revision the replay
-- took from the trace's ID register reads (NULL when the trace has none).
-- t_first/t_last: min/max record time (ns, the trace's clock); records:
-- records in the trace (LOST included); lost: records lost (sum of LOST
-- counts); transfers: rows in transfers.
CREATE TABLE traces (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hash            text NOT NULL UNIQUE,
    producer        text NOT NULL,
    clock           text NOT NULL,
    host            text NOT NULL,
    scenario        text NOT NULL,
    seed            bigint NOT NULL,
    ring_size       bigint NOT NULL,
    ring_policy     integer NOT NULL,
    page_shift      integer NOT NULL,
    t0              bigint NOT NULL,
    driver_build    text,
    device_revision integer,
    t_first         bigint,
    t_last          bigint,
    records         bigint NOT NULL,
    lost            bigint NOT NULL,
    transfers       bigint NOT NULL,
    dmat_bytes      bigint NOT NULL,
    imported_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX traces_by_build ON traces (driver_build, imported_at);
CREATE INDEX traces_by_host ON traces (host);

-- The canonical .dmat of the trace in parts of at most 1 MiB (part from 0):
-- what `dmatrace pull` rebuilds the local store from.
CREATE TABLE trace_files (
    trace_id bigint NOT NULL REFERENCES traces (id) ON DELETE CASCADE,
    part     integer NOT NULL,
    data     bytea NOT NULL,
    PRIMARY KEY (trace_id, part)
);

-- The store's transfers table (schema/store.sql), the columns fleet
-- queries use.  bounced NULL: the producer could not tell.
CREATE TABLE transfers (
    trace_id        bigint NOT NULL REFERENCES traces (id) ON DELETE CASCADE,
    xfer            bigint NOT NULL,
    adapter         bigint,
    mdl             bigint NOT NULL,
    requested       bigint NOT NULL,
    granted         bigint,
    write_to_device boolean NOT NULL,
    n_sg            integer,
    sg_bytes        bigint,
    sg_lo           bigint,
    sg_hi           bigint,
    truncated       boolean NOT NULL,
    bounced         boolean,
    outcome         text NOT NULL,
    t_begin         bigint NOT NULL,
    t_end           bigint NOT NULL,
    duration_ns     bigint,
    PRIMARY KEY (trace_id, xfer)
);

-- The SG list of each transfer's first EXECUTE_DMA, element by element.
CREATE TABLE sg_elements (
    trace_id bigint NOT NULL REFERENCES traces (id) ON DELETE CASCADE,
    xfer     bigint NOT NULL,
    idx      integer NOT NULL,
    addr     bigint NOT NULL,
    length   bigint NOT NULL,
    PRIMARY KEY (trace_id, xfer, idx)
);

-- Single register writes (REG_WRITE; buffer writes are not expanded).
-- name: the register's name from the device model's map (dmm/map.h) when
-- the trace's device identifies itself as the model's (ID register), else
-- NULL.
CREATE TABLE reg_writes (
    trace_id bigint NOT NULL REFERENCES traces (id) ON DELETE CASCADE,
    seq      bigint NOT NULL,
    ts       bigint NOT NULL,
    dev      bigint NOT NULL,
    off      bigint NOT NULL,
    value    bigint NOT NULL,
    width    integer NOT NULL,
    name     text,
    PRIMARY KEY (trace_id, seq)
);

-- The audit's findings (docs/audit-rules.md), all rules, as `dmatrace
-- audit` finds them.  seq/ts of the detecting record.
CREATE TABLE findings (
    trace_id  bigint NOT NULL REFERENCES traces (id) ON DELETE CASCADE,
    id        integer NOT NULL,
    rule      text NOT NULL,
    severity  text NOT NULL,
    seq       bigint NOT NULL,
    ts        bigint NOT NULL,
    xfer      bigint,
    adapter   bigint,
    uncertain boolean NOT NULL,
    message   text NOT NULL,
    PRIMARY KEY (trace_id, id)
);
CREATE INDEX findings_by_rule ON findings (rule, trace_id);

-- The replay's verdict (rpl_replay_file into a fresh model, first
-- divergence): verdict 'replays' (no divergence) or 'diverges';
-- model_revision: the revision the model ran with; first_*: the first
-- divergence (NULL when none).
CREATE TABLE replays (
    trace_id       bigint PRIMARY KEY REFERENCES traces (id) ON DELETE CASCADE,
    verdict        text NOT NULL,
    divergences    bigint NOT NULL,
    records        bigint NOT NULL,
    model_revision integer NOT NULL,
    first_kind     text,
    first_index    bigint,
    first_subject  text,
    first_expected text,
    first_actual   text
);

-- ---- per-trace aggregates --------------------------------------------------
-- Filled by fleet_derive(trace) inside the push's transaction, after the
-- COPYs: the fleet views aggregate these (a few rows per trace) instead of
-- scanning every transfer and finding of every trace.

CREATE TABLE trace_rule_counts (
    trace_id bigint NOT NULL REFERENCES traces (id) ON DELETE CASCADE,
    rule     text NOT NULL,
    findings bigint NOT NULL,
    PRIMARY KEY (trace_id, rule)
);
CREATE INDEX trace_rule_counts_by_rule ON trace_rule_counts (rule, trace_id);

CREATE TABLE trace_sg_hist (
    trace_id  bigint NOT NULL REFERENCES traces (id) ON DELETE CASCADE,
    n_sg      integer NOT NULL,
    transfers bigint NOT NULL,
    PRIMARY KEY (trace_id, n_sg)
);

-- size_lo: the highest set bit of granted (power-of-two bucket; 0 for 0).
CREATE TABLE trace_size_hist (
    trace_id  bigint NOT NULL REFERENCES traces (id) ON DELETE CASCADE,
    size_lo   bigint NOT NULL,
    transfers bigint NOT NULL,
    bytes     numeric NOT NULL,
    PRIMARY KEY (trace_id, size_lo)
);

-- Transfers, bounce-buffered ones, ones whose bouncing is unknown, ones
-- whose SG list ends above 4 GiB (sg_hi > 2^32, or >= 2^63: negative).
CREATE TABLE trace_xfer_counts (
    trace_id       bigint PRIMARY KEY REFERENCES traces (id) ON DELETE CASCADE,
    transfers      bigint NOT NULL,
    bounced        bigint NOT NULL,
    bounce_unknown bigint NOT NULL,
    above_4g       bigint NOT NULL
);

CREATE FUNCTION fleet_derive(t bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO trace_rule_counts
        SELECT trace_id, rule, count(*) FROM findings WHERE trace_id = t GROUP BY trace_id, rule;
    INSERT INTO trace_sg_hist
        SELECT trace_id, n_sg, count(*) FROM transfers
         WHERE trace_id = t AND n_sg IS NOT NULL GROUP BY trace_id, n_sg;
    INSERT INTO trace_size_hist
        SELECT trace_id, b, count(*), sum(granted)
          FROM (SELECT trace_id, granted,
                       CASE WHEN granted <= 0 THEN 0
                            ELSE 1::bigint << (64 - position('1' IN granted::bit(64)::text))
                       END AS b
                  FROM transfers WHERE trace_id = t AND granted IS NOT NULL) x
         GROUP BY trace_id, b;
    INSERT INTO trace_xfer_counts
        SELECT t, count(*), count(*) FILTER (WHERE bounced),
               count(*) FILTER (WHERE bounced IS NULL),
               count(*) FILTER (WHERE sg_hi > 4294967296 OR sg_hi < 0)
          FROM transfers WHERE trace_id = t;
$$;

-- ---- fleet queries (schema/fleet-queries.md; `dmatrace fleet NAME`) --------
-- The order of builds is the order in which they first reached the fleet
-- (the earliest imported_at of a trace of that build).

CREATE VIEW fleet_builds AS
    SELECT driver_build, min(imported_at) AS first_seen, count(*) AS traces
      FROM traces WHERE driver_build IS NOT NULL GROUP BY driver_build;

-- Findings per rule per driver build per day (of import).
CREATE VIEW fleet_findings_over_time AS
    SELECT f.rule, t.driver_build, date_trunc('day', t.imported_at)::date AS day,
           count(*) AS traces, sum(f.findings) AS findings
      FROM trace_rule_counts f JOIN traces t ON t.id = f.trace_id
     GROUP BY f.rule, t.driver_build, day;

-- The first build (in fleet order) where each rule fired, and the trace.
CREATE VIEW fleet_first_build AS
    SELECT DISTINCT ON (f.rule) f.rule, t.driver_build, t.id AS trace_id, t.host,
           b.first_seen
      FROM trace_rule_counts f JOIN traces t ON t.id = f.trace_id
      JOIN fleet_builds b ON b.driver_build = t.driver_build
     ORDER BY f.rule, b.first_seen, b.driver_build, t.id;

-- SG list lengths per build.
CREATE VIEW fleet_sg_histogram AS
    SELECT t.driver_build, h.n_sg, sum(h.transfers) AS transfers
      FROM trace_sg_hist h JOIN traces t ON t.id = h.trace_id
     GROUP BY t.driver_build, h.n_sg;

-- Transfer sizes per build, in power-of-two buckets: size_lo <= granted <
-- 2 * size_lo (granted 0 in bucket 0).
CREATE VIEW fleet_size_histogram AS
    SELECT t.driver_build, h.size_lo, sum(h.transfers) AS transfers, sum(h.bytes) AS bytes
      FROM trace_size_hist h JOIN traces t ON t.id = h.trace_id
     GROUP BY t.driver_build, h.size_lo;

-- Bounce-buffered transfers and transfers whose SG list reaches above
-- 4 GiB, per machine (host).
CREATE VIEW fleet_highmem AS
    SELECT t.host, count(*) AS traces, sum(c.transfers) AS transfers,
           sum(c.bounced) AS bounced, sum(c.bounce_unknown) AS bounce_unknown,
           sum(c.above_4g) AS above_4g
      FROM traces t JOIN trace_xfer_counts c ON c.trace_id = t.id
     GROUP BY t.host;

-- Replay verdicts per device revision.
CREATE VIEW fleet_replay_divergences AS
    SELECT t.device_revision, count(*) AS traces,
           count(*) FILTER (WHERE r.verdict = 'diverges') AS diverging,
           sum(r.divergences) AS divergences
      FROM traces t JOIN replays r ON r.trace_id = t.id
     GROUP BY t.device_revision;
