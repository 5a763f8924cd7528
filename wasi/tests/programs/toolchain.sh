# Sourced by the build.sh scripts of the committed C programs (here, in benches/programs and
# in engine/tests/programs):
# finds the C toolchain for wasm32-wasip1[-threads] and sets `toolchain` (an absolute path)
# and `clang`. Expects `root`, the repository root.
#
# The toolchain is clang-19 and wasm-ld-19 (apt-get install clang-19 lld-19) with the
# wasi-libc sysroot and clang resource directory of ../shared/toolchain, relative to the
# repository root; WEFT_TOOLCHAIN names another copy of that folder, and CLANG another clang
# (LLVM 19 keeps the committed .wasm files byte for byte the same).
toolchain=${WEFT_TOOLCHAIN:-$root/../shared/toolchain}
clang=${CLANG:-clang-19}

if [ ! -d "$toolchain/wasi-sysroot" ] || [ ! -d "$toolchain/clang-resource" ]; then
    echo "build.sh: no toolchain at $toolchain (set WEFT_TOOLCHAIN)" >&2
    exit 1
fi
toolchain=$(cd "$toolchain" && pwd)
