#!/bin/sh
# genman.sh - make the manual pages and the bash completion from the text
# the programs print for --help, so the pages can never disagree with it.
#
# usage: genman.sh DMATRACE DMATRACE-VIEWER|- OUTDIR VERSION
#   OUTDIR/dmatrace.1, OUTDIR/dmatrace-COMMAND.1 for every command listed by
#   `dmatrace --help`, OUTDIR/dmatrace-viewer.1, OUTDIR/dmatrace.bash
set -eu
dmt=$1 viewer=$2 out=$3 version=$4
mkdir -p "$out"

# roff-safe preformatted text: backslashes, leading dots and quotes, and
# hyphens as real minus signs (options must paste back into a shell).
roffify() {
    sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
}

# page NAME SUMMARY HELPFILE: NAME(1) with the help text as its body.
page() {
    name=$1 summary=$2 help=$3
    upper=$(printf '%s' "$name" | tr '[:lower:]' '[:upper:]')
    {
        printf '.TH %s 1 "" "dmatrace %s" "dmatrace manual"\n' "$upper" "$version"
        printf '.SH NAME\n%s \\- %s\n' "$(printf '%s' "$name" | roffify)" "$(printf '%s' "$summary" | roffify)"
        printf '.SH SYNOPSIS\n.nf\n'
        # the usage lines: the first paragraph, "usage:" dropped
        awk 'NR==1,/^$/' "$help" | sed -e 's/^[Uu]sage: //' -e '/^$/d' -e 's/^       //' | roffify
        printf '.fi\n.SH DESCRIPTION\n.nf\n'
        awk 'f{print} /^$/{f=1}' "$help" | roffify
        printf '.fi\n.SH SEE ALSO\n'
        if [ "$name" = dmatrace ]; then
            printf '%s\n' "$cmds" | sed 's/^/.BR dmatrace\\-/; s/$/ (1),/' | sed '$ s/,$//'
            printf '.PP\nThe documents installed with dmatrace: the trace format, the store schema, the audit rules and the probe (see\n.IR /usr/share/doc/dmatrace ).\n'
        else
            printf '.BR dmatrace (1)\n'
        fi
    } >"$out/$name.1"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$dmt" --help >"$tmp/main"
# "  record    drain a shared-memory ring ..." lines of the command list
cmds=$(awk '/^commands:/{f=1; next} f && /^  [a-z]/{print $1} f && /^$/{f=0}' "$tmp/main")
page dmatrace "record, replay, audit and view the DMA sessions of a Windows video miniport" "$tmp/main"
for c in $cmds; do
    summary=$(awk -v c="$c" '$1==c {sub(/^  [a-z]+ +/, ""); print; exit}' "$tmp/main")
    "$dmt" "$c" --help >"$tmp/$c" 2>&1 || true
    page "dmatrace-$c" "$summary" "$tmp/$c"
done
if [ "$viewer" != - ]; then
    "$viewer" --help >"$tmp/viewer" 2>&1 || true
    page dmatrace-viewer "the dmatrace GUI: timelines, register waveforms and transfer layouts" "$tmp/viewer"
fi

# bash completion: commands, each command's long options, and the values of
# the options whose help lists them (scenarios, faults, policies, formats).
{
    printf '# bash completion for dmatrace (generated from --help by man/genman.sh)\n'
    printf '_dmatrace()\n{\n    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n'
    printf '    if [[ $COMP_CWORD -eq 1 ]]; then\n        COMPREPLY=($(compgen -W "%s --help --version" -- "$cur"))\n        return\n    fi\n' "$(echo $cmds)"
    printf '    case $prev in\n'
    scen=$(awk '/^scenarios:/{f=1; next} f && /^  [a-z]/{print $1} f && /^$/{f=0}' "$tmp/capture" 2>/dev/null | tr '\n' ' ')
    faults=$(awk '/^faults/{f=1; next} f && /^  [a-z]/{print $1} f && /^$/{f=0}' "$tmp/capture" 2>/dev/null | tr '\n' ' ')
    printf '        --scenario) COMPREPLY=($(compgen -W "%s" -- "$cur")); return ;;\n' "$scen"
    printf '        --inject) COMPREPLY=($(compgen -W "%s" -- "$cur")); return ;;\n' "$faults"
    printf '        --policy) COMPREPLY=($(compgen -W "drop overwrite" -- "$cur")); return ;;\n'
    printf '        --format) COMPREPLY=($(compgen -W "chrome csv" -- "$cur")); return ;;\n'
    printf '        --order) COMPREPLY=($(compgen -W "auto strict cpus" -- "$cur")); return ;;\n'
    printf '        -o|--output|--ring|--junit|--regmap|--merge|--status) COMPREPLY=($(compgen -f -- "$cur")); return ;;\n'
    printf '    esac\n    case ${COMP_WORDS[1]} in\n'
    for c in $cmds; do
        opts=$(grep -o -- '--[a-z][a-z0-9-]*' "$tmp/$c" | sort -u | tr '\n' ' ')
        printf '        %s) [[ $cur == -* ]] && COMPREPLY=($(compgen -W "%s" -- "$cur")) || COMPREPLY=($(compgen -f -- "$cur")) ;;\n' "$c" "$opts"
    done
    printf '    esac\n}\ncomplete -F _dmatrace dmatrace\n'
} >"$out/dmatrace.bash"
