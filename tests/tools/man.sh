#!/bin/sh
# The man page the build made (help2man, from --help): man renders it, and
# it names every option --help lists. Skipped (77) where help2man was not
# there at build time.
#   man.sh PAGE VCLAUNCH-BINARY
page=$1 bin=$2
if [ ! -f "$page" ]; then
    echo "skip: no $page (help2man was not found at build time)"
    exit 77
fi
text=$(MANWIDTH=100 man -l "$page" 2>&1) || { echo "FAIL man -l $page: $text"; exit 1; }
fails=0
for o in $("$bin" --help | sed -n 's/^  \(--[a-z][a-z-]*\).*/\1/p') "ls \[--json\]" "stop NAME"; do
    if printf '%s\n' "$text" | grep -q -- "$o"; then
        echo "ok   the man page has $o"
    else
        echo "FAIL the man page lacks $o"
        fails=$((fails + 1))
    fi
done
printf '%s\n' "$text" | grep -q "^NAME" || { echo "FAIL no NAME section"; fails=$((fails + 1)); }
printf '%s\n' "$text" | grep -q "vclaunch - launch and drive QEMU" ||
    { echo "FAIL no name line"; fails=$((fails + 1)); }
[ $fails = 0 ] && echo "all passed" || exit 1
