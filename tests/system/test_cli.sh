#!/usr/bin/env bash
# test_cli.sh - the command-line contract: --help everywhere, exit statuses,
# one-line errors that name the file and the byte offset, nothing written
# on bad input.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

expect_status 0 "$DMT" --help
grep -q "^  info " "$WORK/out" || fail "--help does not list info"
expect_status 2 "$DMT"
expect_status 2 "$DMT" no-such-command
for cmd in $("$DMT" --help | awk '/^commands:/{on=1;next} on && /^  [a-z]/{print $1}'); do
    expect_status 0 "$DMT" "$cmd" --help
    grep -q "usage: dmatrace $cmd" "$WORK/out" || fail "$cmd --help has no usage line"
    expect_status 2 "$DMT" "$cmd" --no-such-option
done

# Bad input: a foreign file, a truncated header, a hostile SG length.
printf 'hello world\n' >"$WORK/foreign.dmat"
printf '\xd9\xd9\xf7\xa2\x65magi' >"$WORK/trunc.dmat"
for f in foreign trunc; do
    for cmd in info dump; do
        expect_status 2 "$DMT" "$cmd" "$WORK/$f.dmat" && expect_one_line_error "$WORK/$f.dmat"
        grep -q "byte [0-9]" "$WORK/err" || fail "$cmd $f: no byte offset: $(cat "$WORK/err")"
    done
done
expect_status 3 "$DMT" info "$WORK/does-not-exist.dmat"
expect_one_line_error "$WORK/does-not-exist.dmat"

# recover refuses a foreign file and writes nothing.
expect_status 2 "$DMT" recover "$WORK/foreign.dmat"
[[ $(ls "$WORK" | grep -c tmp) -eq 0 ]] || fail "recover left a temporary file"
finish
