# lib.sh - helpers shared by the system tests (sourced).
# $1 of every test: the dmatrace binary; $2: tests/tools.
set -euo pipefail
DMT=$1
TOOLS=$2
PY=/usr/bin/python3
WORK=$(mktemp -d -t dmt-system-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fails=0

fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

# expect_status WANT CMD...: run CMD, compare its exit status.
expect_status() {
    local want=$1
    shift
    local got=0
    "$@" >"$WORK/out" 2>"$WORK/err" || got=$?
    if [[ $got -ne $want ]]; then
        fail "'$*' exited $got, want $want; stderr: $(head -c 400 "$WORK/err")"
        return 1
    fi
    return 0
}

# One line on stderr naming the file.
expect_one_line_error() {
    local file=$1
    local n
    n=$(wc -l <"$WORK/err")
    if [[ $n -ne 1 ]]; then
        fail "expected one error line, got $n: $(cat "$WORK/err")"
    elif ! grep -qF -- "$file" "$WORK/err"; then
        fail "error does not name $file: $(cat "$WORK/err")"
    fi
}

# wait_for_file FILE [SECONDS]: wait (default 2 s) until FILE is not empty.
wait_for_file() {
    local i
    for i in $(seq 1 $((${2:-2} * 100))); do
        [[ -s $1 ]] && return 0
        sleep 0.01
    done
    return 1
}

# wait_for_ring FILE [SECONDS]: the same for a recorder's ring file, which
# appears before its header is formatted, so wait a little more.
wait_for_ring() {
    wait_for_file "$@" && sleep 0.05
}

# json_field JSON NAME: one field of a JSON object (booleans as 0/1).
json_field() {
    "$PY" -c 'import json,sys; v=json.loads(sys.argv[1])[sys.argv[2]]; print(int(v) if isinstance(v, bool) else v)' "$1" "$2"
}

# ring_losses ERRFILE: the losses the recorder's "ring counters" line
# counted (refused + overwritten + torn); empty without that line.
ring_losses() {
    sed -n 's/.* \([0-9]*\) refused (full), \([0-9]*\) overwritten, \([0-9]*\) torn/\1 \2 \3/p' \
        "$1" | awk '{print $1+$2+$3}'
}

finish() {
    if [[ $fails -ne 0 ]]; then
        echo "$fails failure(s)" >&2
        exit 1
    fi
    echo "all checks passed"
}
