/*
 * test_export.c - export: the Chrome/Perfetto Trace Event JSON checked
 * structurally by a small python3 checker (every event has ph, ts, pid, tid,
 * name; timestamps ordered per track; counts equal the trace's), and the
 * CSV files loaded back with the sqlite3 shell reproducing the row counts of
 * the database, table by table.  A synthetic trace covers the awkward cases
 * (transfers completing out of order on one adapter, times out of order,
 * register buffer writes, a failed StartDma, a transfer never completed,
 * lost records, a finding); when `dmatrace capture` is built a captured
 * trace is checked through the command line too.  Skips (77) the parts whose
 * tools are missing.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dmt/testkit.h"
#include "dmt/tktrace.h"
#include "dmt/audit.h"
#include "dmt/export.h"
#include "dmt/store.h"

static char tmpdir[256], bin[512];
static const char *py = "python3";

/* The structural checker: argv = JSON file, then expected counts as
 * key=value (X, C, interrupt, dpc, finding, marker, lost, xfers=1,2,3). */
static const char checker_py[] =
    "import json,sys\n"
    "d=json.load(open(sys.argv[1]))\n"
    "exp=dict(a.split('=',1) for a in sys.argv[2:])\n"
    "assert isinstance(d,dict) and isinstance(d['traceEvents'],list)\n"
    "ev=d['traceEvents']\n"
    "last={}\n"
    "xend={}\n"
    "n={'X':0,'C':0,'M':0,'interrupt':0,'dpc':0,'finding':0,'marker':0,'lost':0}\n"
    "xfers=set()\n"
    "for i,e in enumerate(ev):\n"
    "  for k in ('ph','ts','pid','tid','name'):\n"
    "    assert k in e, (i,k,e)\n"
    "  assert isinstance(e['ts'],(int,float)) and e['ts']>=0, e\n"
    "  assert isinstance(e['pid'],int) and isinstance(e['tid'],int), e\n"
    "  assert isinstance(e['name'],str), e\n"
    "  assert e['ph'] in ('X','C','i','M'), e\n"
    "  key=(e['pid'],e['tid'])\n"
    "  if e['ph']!='M':\n"
    "    assert e['ts']>=last.get(key,0), ('track order',i,e,last.get(key))\n"
    "    last[key]=e['ts']\n"
    "  if e['ph']=='X':\n"
    "    n['X']+=1; assert e['dur']>=0, e; xfers.add(e['args']['xfer'])\n"
    "    assert e['ts']>=xend.get(key,0)-1e-6, ('overlapping slices on one track',e)\n"
    "    xend[key]=e['ts']+e['dur']\n"
    "    a=e['args']\n"
    "    if 'sg' in a: assert len(a['sg'])==a['sg_elements'], a\n"
    "  elif e['ph']=='C': n['C']+=1; assert isinstance(e['args']['value'],(int,float))\n"
    "  elif e['ph']=='M': n['M']+=1\n"
    "  else: n[e['cat']]+=1\n"
    "for k,v in exp.items():\n"
    "  if k=='xfers': assert sorted(xfers)==sorted(int(x) for x in v.split(',') if x), (xfers,v)\n"
    "  else: assert n[k]==int(v), (k,n[k],v)\n"
    "names=[e['args']['name'] for e in ev if e['ph']=='M' and e['name']=='thread_name']\n"
    "assert len(names)==len(set(names)), names\n"
    "print('chrome json ok: %d events' % len(ev))\n";

/* ---- the synthetic trace ------------------------------------------------------- */

static uint32_t n_start, n_regw, n_irq, n_dpc, n_marker, n_lost;

static void count_kinds(void)
{
    n_start = n_regw = n_irq = n_dpc = n_marker = n_lost = 0;
    for (uint32_t i = 0; i < tk_nrec; i++) {
        switch (tk_rec[i].kind) {
        case DMT_K_START_DMA:
            n_start++;
            break;
        case DMT_K_REG_WRITE:
            n_regw++;
            break;
        case DMT_K_REG_WRITE_BUF:
            n_regw += tk_rec[i].n_values;
            break;
        case DMT_K_INTERRUPT:
            n_irq++;
            break;
        case DMT_K_DPC:
            n_dpc++;
            break;
        case DMT_K_MARKER:
            n_marker++;
            break;
        case DMT_K_LOST:
            n_lost++;
            break;
        default:
            break;
        }
    }
}

static void build(void)
{
    static const dmt_sg_elem a[] = {{0x100000, 0x1000}, {0x200000, 0x2000}};
    static const dmt_sg_elem b[] = {{0x300000, 0x800}};
    static const dmt_sg_elem dup[] = {{0x300000, 0x800}, {0x300000, 0x800}};
    static uint64_t vals[3] = {1, 2, 3};
    static const char text[] = "phase \"two\", with a comma\nand a newline";
    tk_reset();
    tk_setup(64, true, 1 << 20, 257, UINT64_MAX);
    dmt_record *r = tk_add(DMT_K_MARKER);
    r->n_bytes = (uint32_t)strlen(text);
    r->bytes = (const uint8_t *)text;
    r = tk_add(DMT_K_REG_WRITE_BUF);
    r->dev = 1;
    r->off = 0x14;
    r->n_values = 3;
    r->values = vals;
    tk_lock(1, 0x7f0000000000, 0x3000, DMT_LOCK_READ);
    tk_lock(2, 0x7f0000100000, 0x800, DMT_LOCK_READ);
    /* xfer 1 and 2 on adapter 1; 2 completes first */
    tk_start(1, 1, 1, 0, 0x3000, true);
    tk_exec(1, 1, 0x3000, 2, a);
    tk_start_end(1, 1, 0, 0x3000);
    tk_start(2, 1, 2, 0, 0x800, true);
    tk_exec(2, 1, 0x800, 1, b);
    tk_start_end(2, 1, 0, 0x800);
    tk_complete(2, 1, true);
    /* a record stamped before its predecessor (another CPU) */
    tk_rec[tk_nrec - 1].ts -= 5000;
    tk_complete(1, 1, true);
    tk_unlock(1);
    tk_unlock(2);
    /* a failed StartDma */
    tk_lock(3, 0x7f0000200000, 0x800, DMT_LOCK_READ);
    tk_start(3, 2, 3, 0, 0x800, true);
    tk_start_end(3, 2, 0xC0000017u, 0);
    tk_unlock(3);
    tk_lost(7);
    /* a duplicate programmed (a finding), the usual path with an interrupt */
    tk_lock(4, 0x7f0000300000, 0x800, DMT_LOCK_WRITE);
    tk_start(4, 2, 4, 0, 0x800, false);
    tk_exec(4, 2, 0x800, 1, b);
    tk_desc(2, 0, 2, dup, -1);
    tk_ring(1, 1, TK_RING1, 2);
    tk_start_end(4, 2, 0, 0x800);
    tk_irq(1, 1, 4);
    tk_complete(4, 2, false);
    tk_unlock(4);
    /* never completed */
    tk_lock(5, 0x7f0000400000, 0x3000, DMT_LOCK_READ);
    tk_start(5, 1, 5, 0, 0x3000, true);
    tk_exec(5, 1, 0x3000, 2, a);
    tk_start_end(5, 1, 0, 0x3000);
    count_kinds();
}

static uint64_t audit_count(const char *path)
{
    dmt_audit_config cfg;
    dmt_audit_stats st;
    dmt_error err;
    memset(&cfg, 0, sizeof cfg);
    if (dmt_audit_file(path, &cfg, &st, &err) != 0)
        return UINT64_MAX;
    return st.findings;
}

static void test_chrome(void)
{
    char trace[512], json[512], chk[512];
    snprintf(trace, sizeof trace, "%s/synthetic.dmat", tmpdir);
    snprintf(json, sizeof json, "%s/synthetic.json", tmpdir);
    snprintf(chk, sizeof chk, "%s/check_chrome.py", tmpdir);
    build();
    CHECK(tk_write_trace(trace, "test_export") == 0);
    uint64_t nf = audit_count(trace);
    CHECK(nf >= 2); /* prog-duplicate, leak-sglist, leak-mdl */

    dmt_export_stats st;
    dmt_error err;
    CHECK(dmt_export_chrome(trace, json, NULL, &st, &err) == 0);
    CHECK(st.transfers == n_start);
    CHECK(st.counters == n_regw);
    CHECK(st.interrupts == n_irq && st.dpcs == n_dpc);
    CHECK(st.markers == n_marker && st.lost == n_lost);
    CHECK(st.findings == nf);
    CHECK(st.records == tk_nrec);
    /* without findings */
    dmt_export_opts o;
    memset(&o, 0, sizeof o);
    o.no_findings = true;
    char json2[600];
    snprintf(json2, sizeof json2, "%s.nofind.json", json);
    CHECK(dmt_export_chrome(trace, json2, &o, &st, &err) == 0 && st.findings == 0);
    /* errors: a missing input leaves no output; an unwritable output */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/missing.json", tmpdir);
    CHECK(dmt_export_chrome("/nonexistent.dmat", missing, NULL, NULL, &err) < 0);
    CHECK(access(missing, F_OK) != 0);
    CHECK(dmt_export_chrome(trace, "/nonexistent-dir/x.json", NULL, NULL, &err) == DMT_E_IO);

    FILE *f = fopen(chk, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs(checker_py, f);
    fclose(f);
    if (tk_sh("%s -c 'import json' >/dev/null 2>&1", py) != 0) {
        fprintf(stderr, "test_export: python3 missing, JSON structure not checked\n");
        return;
    }
    CHECK(tk_sh("%s %s %s X=%u C=%u interrupt=%u dpc=%u marker=%u lost=%u finding=%" PRIu64
                " xfers=1,2,3,4,5",
                py, chk, json, n_start, n_regw, n_irq, n_dpc, n_marker, n_lost, nf) == 0);
    /* the checker can fail: a wrong count is caught */
    CHECK(tk_sh("%s %s %s X=%u >/dev/null 2>&1", py, chk, json, n_start + 1) != 0);
    /* and so is a track out of order */
    CHECK(tk_sh("%s -c \"import json; d=json.load(open('%s')); ev=d['traceEvents']; "
                "x=[e for e in ev if e['ph']=='X']; x=[e for e in x if e['tid']==x[0]['tid']]; "
                "x[0]['ts'],x[1]['ts']=x[1]['ts']+1,x[0]['ts']; "
                "json.dump(d,open('%s.bad','w'))\" && %s %s %s.bad >/dev/null 2>&1",
                py, json, json, py, chk, json) != 0);
    /* xfer 2 ran inside xfer 1 on adapter 1: a second lane */
    CHECK(tk_sh("%s -c \"import json,sys; ev=json.load(open('%s'))['traceEvents']; "
                "n=[e['args']['name'] for e in ev if e['ph']=='M' and e['name']=='thread_name']; "
                "sys.exit(0 if 'adapter 1 (dev1) #2' in n else 1)\"",
                py, json) == 0);
    /* the transfers of adapter 1 leave in start order though 2 completed first */
    CHECK(tk_sh("%s -c \"import json,sys; ev=json.load(open('%s'))['traceEvents']; "
                "x=[e['args']['xfer'] for e in ev if e['ph']=='X' and e['args']['adapter']==1]; "
                "sys.exit(0 if x==[1,2,5] else 1)\"",
                py, json) == 0);
    CHECK(tk_sh("%s -c \"import json,sys; ev=json.load(open('%s'))['traceEvents']; "
                "o={e['args']['xfer']:e['args']['outcome'] for e in ev if e['ph']=='X'}; "
                "sys.exit(0 if o=={1:'completed',2:'completed',3:'failed',4:'completed',"
                "5:'not-completed'} else 1)\"",
                py, json) == 0);
}

/* Row counts of every table of a database, "name count" lines, sorted (a
 * store's view `transfers` stands for its table transfer_rows, as in the
 * export). */
static int counts(const char *db, const char *out)
{
    return tk_sh("for t in $(sqlite3 %s \"SELECT name FROM sqlite_master WHERE (type='table' AND "
                 "name != 'transfer_rows' OR type='view' AND name='transfers') AND "
                 "name NOT LIKE 'sqlite_%%' ORDER BY name\"); do echo \"$t $(sqlite3 %s "
                 "\"SELECT count(*) FROM \\\"$t\\\"\")\"; done >%s",
                 db, db, out);
}

static void test_csv(void)
{
    char trace[512], db[512], dir1[512], dir2[512], c1[600], c2[600], c3[600];
    snprintf(trace, sizeof trace, "%s/synthetic.dmat", tmpdir);
    snprintf(db, sizeof db, "%s/synthetic.db", tmpdir);
    snprintf(dir1, sizeof dir1, "%s/csv-db", tmpdir);
    snprintf(dir2, sizeof dir2, "%s/csv-trace", tmpdir);
    dmt_error err;
    dmt_store_import_result ir;
    int rc = dmt_store_import(trace, db, NULL, &ir, &err);
    CHECKF(rc == 0, "import: %s", err.msg);
    if (rc)
        return;
    /* the audit's findings of the trace */
    dmt_finding fs[16];
    size_t nfs = (size_t)audit_count(trace);
    CHECK(nfs >= 2);
    /* write placeholder findings twice: the second write replaces the first */
    memset(fs, 0, sizeof fs);
    for (size_t i = 0; i < 3; i++) {
        fs[i].rule = DMT_R_LEAK_MDL;
        fs[i].severity = DMT_SEV_WARNING;
        fs[i].seq = i;
        snprintf(fs[i].message, sizeof fs[i].message, "placeholder %zu, with a comma", i);
        fs[i].n_refs = 2;
        fs[i].refs[0] = i;
        fs[i].refs[1] = i + 1;
    }
    CHECK(dmt_audit_store_findings(db, fs, 3, &err) == 0);
    CHECK(dmt_audit_store_findings(db, fs, 2, &err) == 0);
    CHECK(tk_sh("test \"$(sqlite3 %s 'SELECT count(*), max(records) FROM findings')\" = "
                "'2|1,2'",
                db) == 0);
    CHECK(dmt_audit_store_findings("/nonexistent.db", fs, 1, &err) < 0);

    dmt_export_stats st;
    rc = dmt_export_csv(db, dir1, NULL, &st, &err);
    CHECKF(rc == 0, "csv from db: %s", err.msg);
    CHECK(st.tables >= 10);
    rc = dmt_export_csv(trace, dir2, NULL, &st, &err);
    CHECKF(rc == 0, "csv from trace: %s", err.msg);
    if (tk_sh("sqlite3 -version >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_export: sqlite3 shell missing, CSV reload not checked\n");
        return;
    }
    snprintf(c1, sizeof c1, "%s/counts-db", tmpdir);
    snprintf(c2, sizeof c2, "%s/counts-csv-db", tmpdir);
    snprintf(c3, sizeof c3, "%s/counts-csv-trace", tmpdir);
    CHECK(counts(db, c1) == 0);
    CHECK(tk_sh("cd %s && sqlite3 loaded.db < load.sqlite", dir1) == 0);
    CHECK(tk_sh("cd %s && sqlite3 loaded.db < load.sqlite", dir2) == 0);
    char l1[600], l2[600];
    snprintf(l1, sizeof l1, "%s/loaded.db", dir1);
    snprintf(l2, sizeof l2, "%s/loaded.db", dir2);
    CHECK(counts(l1, c2) == 0);
    CHECK(counts(l2, c3) == 0);
    CHECKF(tk_sh("cmp -s %s %s", c1, c2) == 0, "CSV of the db reloads to other counts");
    if (tk_sh("cmp -s %s %s", c1, c2) != 0)
        tk_sh("diff %s %s >&2", c1, c2);
    CHECK(tk_sh("test $(wc -l <%s) -ge 10", c1) == 0);
    /* from the trace: the same tables and counts, the findings being the
     * audit's (the db above holds 2 placeholders) */
    CHECK(
        tk_sh("grep -v '^findings ' %s >%s.x && grep -v '^findings ' %s >%s.x && cmp -s %s.x %s.x",
              c1, c1, c3, c3, c1, c3) == 0);
    CHECK(tk_sh("grep -qx 'findings %zu' %s", nfs, c3) == 0);
    /* a CSV field with a comma, a quote and a newline survives */
    char hex[256];
    static const char text[] = "phase \"two\", with a comma\nand a newline";
    for (size_t i = 0; text[i]; i++)
        snprintf(hex + 2 * i, 3, "%02X", (unsigned char)text[i]);
    CHECK(tk_sh("test \"$(sqlite3 %s \"SELECT hex(text) FROM markers\")\" = %s", l1, hex) == 0);
}

/* A captured trace through the command line: JSON counts equal `info`'s. */
static void test_cli(void)
{
    if (!tk_have_capture("test_export: command test"))
        return;
    if (tk_sh("%s -c 'import json' >/dev/null 2>&1", py) != 0)
        return;
    char trace[512], json[512], db[512], dir[512], chk[512];
    snprintf(trace, sizeof trace, "%s/cap.dmat", tmpdir);
    snprintf(json, sizeof json, "%s/cap.json", tmpdir);
    snprintf(db, sizeof db, "%s/cap.db", tmpdir);
    snprintf(dir, sizeof dir, "%s/cap-csv", tmpdir);
    snprintf(chk, sizeof chk, "%s/check_chrome.py", tmpdir);
    CHECK(tk_sh("%s capture --scenario burst --transfers 100 --seed 2 --inject sg-dup -o %s "
                ">/dev/null 2>&1",
                bin, trace) == 0);
    CHECK(tk_sh("%s export %s --format chrome -o %s >/dev/null", bin, trace, json) == 0);
    /* counts from info --json and audit --json */
    CHECK(tk_sh("%s %s %s $(%s info --json %s | %s -c \"import json,sys; d=json.load(sys.stdin); "
                "k=d['kinds']; print('X=%%d C=%%d interrupt=%%d dpc=%%d marker=%%d lost=%%d' %% "
                "(k['start_dma'], k['reg_write'], k['interrupt'], k['dpc'], k['marker'], "
                "k['lost']))\") finding=$(%s audit --json %s | %s -c \"import json,sys; "
                "print(json.load(sys.stdin)['findings_total'])\")",
                py, chk, json, bin, trace, py, bin, trace, py) == 0);
    CHECK(tk_sh("%s export %s --format csv -o %s >/dev/null", bin, trace, dir) == 0);
    /* the database: imported, then audited (findings into its table) */
    CHECK(tk_sh("%s import %s -o %s >/dev/null 2>&1", bin, trace, db) == 0);
    CHECK(tk_sh("%s audit %s >/dev/null", bin, db) == 1);
    /* JSON from the database equals JSON from the trace (but the source name) */
    CHECK(tk_sh("%s export %s --format chrome -o %s.db.json >/dev/null", bin, db, json) == 0);
    CHECK(
        tk_sh(
            "%s -c \"import json,sys; a=json.load(open('%s'))['traceEvents']; "
            "b=json.load(open('%s.db.json'))['traceEvents']; sys.exit(0 if a[1:]==b[1:] else 1)\"",
            py, json, json) == 0);
    char c1[600], c2[600], l[600];
    snprintf(c1, sizeof c1, "%s/cap-counts-db", tmpdir);
    snprintf(c2, sizeof c2, "%s/cap-counts-csv", tmpdir);
    snprintf(l, sizeof l, "%s/loaded.db", dir);
    CHECK(tk_sh("cd %s && sqlite3 loaded.db < load.sqlite", dir) == 0);
    CHECK(counts(db, c1) == 0 && counts(l, c2) == 0);
    /* every table, findings included, has the same rows */
    CHECKF(tk_sh("cmp -s %s %s", c1, c2) == 0,
           "CSV of the trace reloads to other counts than its db");
    if (tk_sh("cmp -s %s %s", c1, c2) != 0)
        tk_sh("diff %s %s >&2", c1, c2);
    CHECK(tk_sh("grep -q '^findings [1-9]' %s", c1) == 0);
    CHECK(tk_sh("%s export %s --format bogus -o x >/dev/null 2>&1", bin, trace) == 2);
    CHECK(tk_sh("%s export %s --format chrome >/dev/null 2>&1", bin, trace) == 2);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_export.%d", (int)getpid());
    mkdir(tmpdir, 0700);
    snprintf(bin, sizeof bin, "%s/dmatrace", DMT_BIN_DIR);
    if (access("/usr/bin/python3", X_OK) == 0)
        py = "/usr/bin/python3";

    test_chrome();
    test_csv();
    test_cli();

    if (!tk_failures)
        tk_sh("rm -rf %s", tmpdir);
    return tk_result("test_export");
}
