#!/bin/sh
# Rebuilds the engine tests' C programs: every NAME.wasm in this folder from its NAME.c.
#
# Usage: engine/tests/programs/build.sh            (from anywhere)
#
# The toolchain is found by wasi/tests/programs/toolchain.sh (clang-19 and wasm-ld-19). These
# programs are freestanding (no libc), so only its clang resource directory is used:
#
#   clang-19 --target=wasm64-unknown-unknown -resource-dir=$TOOLCHAIN/clang-resource \
#     -O2 -Wall -Wextra -Werror -nostdlib -mbulk-memory -matomics NAME.c -o NAME.wasm \
#     -Wl,--no-entry,--import-memory,--shared-memory,--max-memory=16777216
#
# The result imports a shared 64-bit `env.memory` of at most 16 MiB (256 pages) and exports
# the functions its source marks with `export_name`.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
. "$root/wasi/tests/programs/toolchain.sh"

cd "$here"
for source in *.c; do
    name=${source%.c}
    "$clang" --target=wasm64-unknown-unknown -resource-dir="$toolchain/clang-resource" \
        -O2 -Wall -Wextra -Werror -nostdlib -mbulk-memory -matomics "$source" -o "$name.wasm" \
        -Wl,--no-entry,--import-memory,--shared-memory,--max-memory=16777216
    chmod 644 "$name.wasm"
    echo "built $name.wasm (wasm64-unknown-unknown)"
done
