#!/bin/sh
# Rebuilds the wasi-threads programs of the thread-model benchmarks from pthread_kernels.c:
#
#   pthread_kernels.wasm       the kernels, as a wasm32-wasip1-threads reactor
#   pthread_kernels_10k.wasm   the same with 10,000 more address-taken functions (-DFILLERS),
#                              the code section and function table of a real program
#
# Usage: benches/programs/build.sh            (from anywhere)
#
# The toolchain is found by wasi/tests/programs/toolchain.sh: clang-19 and wasm-ld-19 with
# ../shared/toolchain, or $WEFT_TOOLCHAIN and $CLANG. The native build of the same source is
# benches/build.rs's.
#
# The command line, for TOOLCHAIN the toolchain folder and EXTRA empty or -DFILLERS:
#
#   clang-19 --target=wasm32-wasip1-threads --sysroot=$TOOLCHAIN/wasi-sysroot \
#     -resource-dir=$TOOLCHAIN/clang-resource -O2 -Wall -Wextra -Werror -pthread \
#     -mexec-model=reactor $EXTRA pthread_kernels.c -o NAME.wasm \
#     -Wl,--import-memory,--export-memory,--max-memory=67108864
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/wasi/tests/programs/toolchain.sh"

cd "$here"
build() {
    name=$1
    shift
    "$clang" --target=wasm32-wasip1-threads --sysroot="$toolchain/wasi-sysroot" \
        -resource-dir="$toolchain/clang-resource" -O2 -Wall -Wextra -Werror -pthread \
        -mexec-model=reactor "$@" pthread_kernels.c -o "$name.wasm" \
        -Wl,--import-memory,--export-memory,--max-memory=67108864
    chmod 644 "$name.wasm"
    echo "built $name.wasm"
}
build pthread_kernels
build pthread_kernels_10k -DFILLERS
