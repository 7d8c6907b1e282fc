#!/bin/bash
# vclaunch as a C library, as a user gets it: the tree installed into a
# staging prefix that differs from the configure-time one, then used through
# pkg-config alone.
#
#   run.sh install  SRC BUILD LIBDIR CC CMAKE  installs BUILD into BUILD/c-api/stage
#   run.sh examples SRC BUILD LIBDIR CC        builds examples/c against the stage
#                                              (shared and static, then the stage
#                                              moved elsewhere) and runs them
#   run.sh layout   SRC BUILD LIBDIR CC        the installed headers, libraries
#                                              and .pc files
#
# LIBDIR is CMake's CMAKE_INSTALL_LIBDIR (relative to the prefix).
set -euo pipefail

mode=$1 src=$2 build=$3 libdir=$4 cc=$5
work=$build/c-api
stage=$work/stage
cflags=(-Wall -Wextra -Werror)

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# pkg-config sees the stage (plus the system's .pc files, for libuv,
# libcjson and lua5.4), never a vclaunch installed elsewhere.
use_prefix() {
    export PKG_CONFIG_PATH=$1/$libdir/pkgconfig
    pkg-config --exists --print-errors vclaunch vclaunch-lua || fail "pkg-config cannot use $1"
}

# The QEMU that qmp-status started (its pid on stderr) is gone, and so is
# everything it made under its runtime base.
check_qmp_status() { # binary base
    local err=$work/$(basename "$1").err out pid
    mkdir -p "$2"
    out=$("$1" "$2" 2>"$err") || { cat "$err" >&2; fail "$1 failed"; }
    [ "$out" = prelaunch ] || { cat "$err" >&2; fail "$1 printed '$out', not prelaunch"; }
    pid=$(sed -n 's/^qmp-status: QEMU pid \([0-9]*\)$/\1/p' "$err")
    [ -n "$pid" ] || fail "$1 did not name QEMU's pid"
    if [ -e "/proc/$pid" ] && grep -q qemu "/proc/$pid/comm" 2>/dev/null; then
        fail "$1 left QEMU (pid $pid) running"
    fi
    [ -z "$(ls -A "$2")" ] || fail "$1 left $(ls -A "$2") in its runtime base $2"
    echo "ok: $1: prelaunch, QEMU $pid gone, $2 empty"
}

check_embed_lua() { # binary
    local out
    out=$("$1") || fail "$1 failed"
    printf '%s\n' "$out"
    grep -q '^task slow slept [0-9]* ms$' <<<"$out" || fail "$1: no slow task"
    grep -q '^task quick slept [0-9]* ms$' <<<"$out" || fail "$1: no quick task"
    grep -qxF 'escaped for QEMU: file=a,,b' <<<"$out" || fail "$1: no escape"
    echo "ok: $1"
}

# Which libvclaunch*.so the binary loads, as the dynamic loader resolves it.
loads_from() { # binary dir
    local libs
    libs=$(ldd "$1" | grep libvclaunch) || fail "$1 loads no libvclaunch"
    if grep -v -F " => $2/" <<<"$libs"; then fail "$1 loads libvclaunch from outside $2"; fi
}

case $mode in
install)
    cmake=$6
    configured=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
    [ "$configured" != "$stage" ] || fail "configured for the stage itself: proves no relocation"
    rm -rf "$work"
    mkdir -p "$work"
    "$cmake" --install "$build" --prefix "$stage" >"$work/install.log"
    echo "ok: installed into $stage (configured for $configured)"
    ;;

examples)
    use_prefix "$stage"
    [[ $(pkg-config --cflags vclaunch) == *"$stage/"* ]] || fail "Cflags do not point into the stage"
    ex=$src/examples/c
    # Shared libraries, as pkg-config gives them.
    "$cc" "${cflags[@]}" -o "$work/qmp-status" "$ex/qmp-status.c" \
        $(pkg-config --cflags --libs vclaunch)
    "$cc" "${cflags[@]}" -o "$work/embed-lua" "$ex/embed-lua.c" \
        $(pkg-config --cflags --libs vclaunch-lua)
    lib=$(pkg-config --variable=libdir vclaunch)
    (
        export LD_LIBRARY_PATH=$lib
        loads_from "$work/qmp-status" "$lib"
        loads_from "$work/embed-lua" "$lib"
        check_qmp_status "$work/qmp-status" "$work/run"
        check_embed_lua "$work/embed-lua"
    )
    # The static libraries: the archives first, then what --static adds for
    # them; --as-needed drops the shared libvclaunch that -lvclaunch names.
    "$cc" "${cflags[@]}" -o "$work/qmp-status-static" "$ex/qmp-status.c" \
        $(pkg-config --cflags vclaunch) -Wl,--as-needed "$lib/libvclaunch.a" \
        $(pkg-config --static --libs vclaunch)
    "$cc" "${cflags[@]}" -o "$work/embed-lua-static" "$ex/embed-lua.c" \
        $(pkg-config --cflags vclaunch-lua) -Wl,--as-needed "$lib/libvclaunch-lua.a" \
        "$lib/libvclaunch.a" $(pkg-config --static --libs vclaunch-lua)
    for b in qmp-status-static embed-lua-static; do
        ! readelf -d "$work/$b" | grep NEEDED | grep libvclaunch || fail "$b needs a shared libvclaunch"
    done
    check_qmp_status "$work/qmp-status-static" "$work/run-static"
    check_embed_lua "$work/embed-lua-static"
    # The installed tree moved elsewhere still builds and runs: the .pc
    # files find their prefix from where they are.
    moved=$work/moved
    rm -rf "$moved"
    cp -a "$stage" "$moved"
    use_prefix "$moved"
    [[ $(pkg-config --cflags --libs vclaunch-lua) != *"$stage/"* ]] || fail "flags still name the stage"
    "$cc" "${cflags[@]}" -o "$work/embed-lua-moved" "$ex/embed-lua.c" \
        $(pkg-config --cflags --libs vclaunch-lua)
    lib=$(pkg-config --variable=libdir vclaunch)
    [[ $lib == "$moved/"* ]] || fail "libdir $lib is not in $moved"
    (
        export LD_LIBRARY_PATH=$lib
        loads_from "$work/embed-lua-moved" "$lib"
        check_embed_lua "$work/embed-lua-moved"
    )
    ;;

layout)
    use_prefix "$stage"
    inc=$(pkg-config --variable=includedir vclaunch)
    [ "$(ls "$inc")" = vclaunch ] || fail "$inc holds more than vclaunch/: $(ls "$inc")"
    [ ! -e "$inc/vclaunch/kinds_def.h" ] || fail "the private kinds_def.h is installed"
    # Every other core header is installed, and the Lua opener's.
    for h in "$src"/core/*.h; do
        h=$(basename "$h")
        [ "$h" = kinds_def.h ] || [ -f "$inc/vclaunch/$h" ] || fail "core/$h is not installed"
    done
    [ -f "$inc/vclaunch/lua.h" ] || fail "vclaunch/lua.h is not installed"
    # Each header stands alone and survives being included twice, in the
    # compiler's default dialect and in strict C11 (with the POSIX level
    # that libuv's <uv.h> needs).
    for h in "$inc"/vclaunch/*.h; do
        h=vclaunch/$(basename "$h")
        for std in "" "-std=c11 -D_POSIX_C_SOURCE=200809L -pedantic"; do
            printf '#include <%s>\n#include <%s>\n' "$h" "$h" |
                "$cc" "${cflags[@]}" $std -fsyntax-only -x c - $(pkg-config --cflags vclaunch-lua) ||
                fail "<$h> does not compile on its own ${std:-}"
        done
    done
    echo "ok: headers: $(cd "$inc" && echo vclaunch/*.h)"
    # <error.h> is glibc's next to vclaunch's headers, in either order.
    for order in "error.h vclaunch/qmp.h" "vclaunch/qmp.h error.h"; do
        set -- $order
        cat >"$work/errorh.c" <<EOF
#include <$1>
#include <$2>
#ifndef _ERROR_H
#error "<error.h> is not glibc's"
#endif
int main(void)
{
    vc_error_t e;
    vc_error_set(&e, VC_EQMP, "from %s", "vclaunch");
    error(0, 0, "%s (%s)", e.msg, vc_error_kind(e.code));
    return 0;
}
EOF
        "$cc" "${cflags[@]}" -o "$work/errorh" "$work/errorh.c" $(pkg-config --cflags --libs vclaunch)
        msg=$(LD_LIBRARY_PATH=$(pkg-config --variable=libdir vclaunch) "$work/errorh" 2>&1)
        [ "$msg" = "$work/errorh: from vclaunch (qmp)" ] || fail "error(): '$msg'"
    done
    echo "ok: <error.h> is glibc's beside <vclaunch/qmp.h>"
    # Shared libraries with a soname and the project's version, and archives.
    lib=$(pkg-config --variable=libdir vclaunch)
    version=$(pkg-config --modversion vclaunch)
    for l in libvclaunch libvclaunch-lua; do
        [ -f "$lib/$l.so.$version" ] || fail "no $l.so.$version"
        [ -L "$lib/$l.so" ] && [ -L "$lib/$l.so.0" ] || fail "no $l.so / $l.so.0 links"
        soname=$(readelf -d "$lib/$l.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
        [ "$soname" = "$l.so.0" ] || fail "$l soname is '$soname'"
        [ -f "$lib/$l.a" ] || fail "no $l.a"
    done
    readelf -d "$lib/libvclaunch-lua.so.$version" | grep -q 'NEEDED.*\[libvclaunch\.so\.0\]' ||
        fail "libvclaunch-lua does not use libvclaunch.so.0"
    echo "ok: libraries: $(cd "$lib" && echo libvclaunch*)"
    # The .pc files hold no absolute path, and say what the headers need.
    for pc in vclaunch vclaunch-lua; do
        ! grep -n "$stage\|^prefix=/" "$lib/pkgconfig/$pc.pc" || fail "$pc.pc holds an absolute path"
    done
    [ "$(pkg-config --print-requires vclaunch | awk '{print $1}' | sort | xargs)" = "libcjson libuv" ] ||
        fail "vclaunch.pc requires $(pkg-config --print-requires vclaunch | xargs)"
    [[ " $(pkg-config --libs vclaunch) " == *" -luv "*" -lcjson "* ]] ||
        fail "vclaunch Libs: $(pkg-config --libs vclaunch)"
    echo "ok: pkg-config: $(pkg-config --libs vclaunch-lua)"
    ;;

*)
    fail "unknown mode $mode"
    ;;
esac
