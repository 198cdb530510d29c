# Cross-compiles the addon for linux-arm64-gnu on an x86-64 Linux host with Debian/Ubuntu's
# cross toolchain (`apt-get install g++-aarch64-linux-gnu`):
#
#   node scripts/prebuild.js linux-arm64-gnu
#
# N-API addons link against nothing of Node's on Linux (the symbols resolve in the node binary at
# load), so the host's node-api-headers serve any target. CUDA is off: no aarch64 toolkit here.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(LATENTKIT_CUDA OFF CACHE BOOL "no CUDA toolkit for aarch64 on this host" FORCE)
