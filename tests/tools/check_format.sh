#!/usr/bin/env bash
# check_format.sh SRC - every C file the repository tracks is formatted as
# .clang-format says (clang-format --dry-run --Werror).  Lists the files
# that are not and how to fix them.  Skips (77) outside a git checkout (a
# source tarball has no list of tracked files) or without clang-format.
set -uo pipefail
src=$1
command -v clang-format >/dev/null || { echo "clang-format is not installed (scripts/deps installs it)"; exit 77; }
git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "not a git checkout"; exit 77; }
mapfile -t files < <(git -C "$src" ls-files '*.c' '*.h')
((${#files[@]} > 0)) || { echo "no C files tracked under $src"; exit 1; }
cd "$src" || exit 1
present=()
for f in "${files[@]}"; do [[ -f $f ]] && present+=("$f"); done   # skip deletions not yet committed
# One clang-format for all files; each unformatted place is one
# "FILE:LINE:COL: error: ..." line.
mapfile -t bad < <(clang-format --dry-run --Werror "${present[@]}" 2>&1 |
    sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: .*/\1/p' | sort -u)
if ((${#bad[@]} > 0)); then
    echo "not formatted as .clang-format says (${#bad[@]} of ${#files[@]} files):"
    printf '  %s\n' "${bad[@]}"
    echo "fix: clang-format -i FILE..."
    exit 1
fi
echo "${#files[@]} C files formatted"
