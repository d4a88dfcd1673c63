# pg_cluster.sh - a throwaway PostgreSQL cluster for the fleet test and
# benchmark (sourced).  pg_start DIR: initdb into DIR (as nobody when run as
# root), password auth (user fleet, password s3cret), a unix socket in DIR,
# no TCP; sets PGBIN, PGDIR, URL and psqlq.  pg_stop: immediate shutdown.
# Returns 77 from pg_start when no PostgreSQL server binaries are installed.
pg_start() {
    PGDIR=$1
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    [[ -x $PGBIN/initdb ]] || return 77
    mkdir -p "$PGDIR"
    chmod 755 "$(dirname "$PGDIR")"
    PG_AS=()
    if [[ $(id -u) -eq 0 ]]; then
        chown nobody "$PGDIR"
        PG_AS=(runuser -u nobody --)
    fi
    echo 's3cret' >"$PGDIR.pw" && chmod 644 "$PGDIR.pw"
    "${PG_AS[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -U fleet --pwfile="$PGDIR.pw" \
        --auth=scram-sha-256 >"$PGDIR.initdb.log" 2>&1 || { cat "$PGDIR.initdb.log"; return 1; }
    "${PG_AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
        -o "-c listen_addresses='' -c unix_socket_directories='$PGDIR'" start >/dev/null
    URL="postgresql://fleet:s3cret@/postgres?host=$PGDIR"
}

pg_stop() {
    [[ -n ${PGDIR:-} ]] && "${PG_AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1
    return 0
}

pg_restart() {
    "${PG_AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -m immediate -w \
        -o "-c listen_addresses='' -c unix_socket_directories='$PGDIR'" restart >/dev/null
}

psqlq() { PGPASSWORD=s3cret "$PGBIN/psql" -X -A -t -q -h "$PGDIR" -U fleet -d postgres -c "$1"; }
