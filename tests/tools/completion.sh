#!/bin/bash
# The bash completion (lua/completion.bash) sourced in bash and asked as
# bash asks it: COMP_WORDS/COMP_CWORD in, COMPREPLY out.
#   completion.sh COMPLETION-SCRIPT VCLAUNCH-BINARY
set -u
script=$(realpath "$1") bin=$(realpath "$2")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=/dev/null
. "$script"
fails=0

# complete WORD... : completes the last word of "vclaunch WORD..."
complete_() {
    COMP_WORDS=("$bin" "$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _vclaunch
    printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

expect() { # expect WANT WORD...
    local want=$1 got
    shift
    got=$(complete_ "$@")
    if [[ $got == "$want" ]]; then
        echo "ok   vclaunch $* -> $got"
    else
        echo "FAIL vclaunch $*: got '$got', want '$want'"
        fails=$((fails + 1))
    fi
}

# options, from --help
expect "--dry-run --dry-run=json" --dry
expect "--accel" --acc
expect "kvm tcg" --accel ""
expect "debug" --log-level d
expect "--help" --he
# every option --help lists is offered
all=$(complete_ --)
for o in $("$bin" --help | sed -n 's/^  \(--[a-z][a-z-]*\).*/\1/p'); do
    [[ " $all " == *" $o "* ]] || { echo "FAIL --help's $o is not offered"; fails=$((fails + 1)); }
done
# subcommands and recipes
cd "$tmp" || exit 1
touch recipe.lua notes.txt
mkdir sub
expect "ls" l
expect "qmp" q
expect "recipe.lua" rec
expect "" notes
expect "--json" ls --
expect "--kill --timeout" stop --
expect "--pretty" qmp --
# running VM names: the runtime dirs (NAME-XXXXXX) under --runtime-dir
mkdir -p run/web-a1B2c3 run/db-Zz9x8Y run/.tmp-abcdef run/web-Qq1w2e
expect "db web" --runtime-dir run stop ""
expect "web" --runtime-dir=run stop w
expect "db web" --runtime-dir run qmp ""
expect "query-status" --runtime-dir run qmp web query-st
expect "" --runtime-dir run stop web ""
# ... and under XDG_RUNTIME_DIR/vclaunch by default
mkdir -p xdg/vclaunch/hello-abc123
XDG_RUNTIME_DIR=$tmp/xdg expect "hello" stop ""
# kind names after --kinds
expect "virtio-blk" --kinds virtio-bl
[[ $fails == 0 ]] && echo "all passed" || { echo "$fails failed"; exit 1; }
