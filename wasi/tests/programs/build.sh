#!/bin/sh
# Rebuilds every NAME.wasm in this folder from its NAME.c.
#
# Usage: wasi/tests/programs/build.sh            (from anywhere)
#
# The toolchain is found by toolchain.sh: clang-19 and wasm-ld-19 with ../shared/toolchain,
# or $WEFT_TOOLCHAIN and $CLANG.
#
# Each source names its target on a line of its header comment:
#   Target: wasm32-wasip1            a single-threaded WASI program
#   Target: wasm32-wasip1-threads    a wasi-threads program (pthreads)
#
# The exact command lines, for TOOLCHAIN the toolchain folder:
#
#   clang-19 --target=wasm32-wasip1 --sysroot=$TOOLCHAIN/wasi-sysroot \
#     -resource-dir=$TOOLCHAIN/clang-resource -O2 -Wall -Wextra -Werror NAME.c -o NAME.wasm
#
#   clang-19 --target=wasm32-wasip1-threads --sysroot=$TOOLCHAIN/wasi-sysroot \
#     -resource-dir=$TOOLCHAIN/clang-resource -O2 -Wall -Wextra -Werror -pthread NAME.c -o NAME.wasm \
#     -Wl,--import-memory,--export-memory,--max-memory=67108864
#
# The threaded programs import a shared `env.memory` of at most 64 MiB (1024 pages) and
# `wasi.thread-spawn`, and export `memory`, `_start` and `wasi_thread_start`.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
. "$here/toolchain.sh"

cd "$here"
for source in *.c; do
    name=${source%.c}
    target=$(sed -n 's/^.*Target: *\(wasm32-wasip1[a-z-]*\).*$/\1/p' "$source" | head -n 1)
    common="--sysroot=$toolchain/wasi-sysroot -resource-dir=$toolchain/clang-resource -O2 -Wall -Wextra -Werror"
    case $target in
        wasm32-wasip1)
            # shellcheck disable=SC2086
            "$clang" --target=wasm32-wasip1 $common "$source" -o "$name.wasm"
            ;;
        wasm32-wasip1-threads)
            # shellcheck disable=SC2086
            "$clang" --target=wasm32-wasip1-threads $common -pthread "$source" -o "$name.wasm" \
                -Wl,--import-memory,--export-memory,--max-memory=67108864
            ;;
        *)
            echo "build.sh: $source names no target (a 'Target: wasm32-wasip1[-threads]' line)" >&2
            exit 1
            ;;
    esac
    chmod 644 "$name.wasm"
    echo "built $name.wasm ($target)"
done
