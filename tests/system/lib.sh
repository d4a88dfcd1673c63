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

finish() {
    if [[ $fails -ne 0 ]]; then
        echo "$fails failure(s)" >&2
        exit 1
    fi
    echo "all checks passed"
}
