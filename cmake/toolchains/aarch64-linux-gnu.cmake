# Cross-compiling muster and Lambda functions for arm64 (Graviton) with
# Debian's cross toolchain and arm64 libraries from multiarch:
#
#   dpkg --add-architecture arm64 && apt-get update
#   apt-get install g++-aarch64-linux-gnu \
#       libboost1.81-dev:arm64 libboost-json1.81-dev:arm64 libssl-dev:arm64 zlib1g-dev:arm64
#   cmake -B build/arm64 -G Ninja -DCMAKE_BUILD_TYPE=Release \
#       -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#       -DMUSTER_BUILD_TESTS=OFF -DMUSTER_BUILD_EXAMPLES=OFF -DMUSTER_BUILD_BENCHMARKS=OFF
#
# Libraries, headers and CMake packages come from the arm64 multiarch
# directories (/usr/lib/aarch64-linux-gnu, /usr/include/aarch64-linux-gnu);
# programs (the compiler, cmake, ninja) from the build machine. The `muster`
# CLI built this way is an arm64 program: run `muster invoke` from a native
# build. muster_add_lambda's static mode works as on x86-64; BUNDLE needs ldd
# on the function and does not (run it on an arm64 machine).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_STRIP aarch64-linux-gnu-strip)

# Debian's multiarch layout: the arm64 packages install into the same root
# as the native ones, under their own triplet directory.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
