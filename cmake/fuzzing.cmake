# -DVHM_FUZZ=ON: the libFuzzer build (docs/fuzzing.md, scripts/fuzz.sh).
# Included by the top-level CMakeLists.txt before the modules are added, so
# every library the fuzz targets link is compiled with libFuzzer's coverage
# instrumentation and with ASan + UBSan; the targets themselves link
# -fsanitize=fuzzer (fuzz/CMakeLists.txt). Only the modules below proxy/ are
# built: the targets need nothing of proxy/, service/ or app/.
if(NOT VHM_FUZZ)
  return()
endif()

if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "VHM_FUZZ needs clang's libFuzzer: configure a fresh build directory with "
                      "CC=clang CXX=clang++ (scripts/fuzz.sh does)")
endif()
if(VHM_BUILD_TESTS OR VHM_BUILD_BENCH)
  message(FATAL_ERROR "VHM_FUZZ builds only the fuzz targets: add -DVHM_BUILD_TESTS=OFF -DVHM_BUILD_BENCH=OFF")
endif()

# -O1 (VHM_FUZZ_OPT) and line tables only: the usual libFuzzer trade-off between executions
# per second, build time and readable stack traces (later flags win over the
# build type's -O3). Any UB aborts, so libFuzzer keeps the input. Without
# -fsanitize=function: clang 14 cannot emit its prologue data for C++20
# coroutines (control/control_server.cpp: "Cannot represent a difference
# across sections").
# scripts/fuzz.sh --ci builds at -O0: half the compile time, and a few
# seconds per target need coverage of the corpus, not executions per second.
set(VHM_FUZZ_OPT "-O1" CACHE STRING "Optimization of the fuzz build (-O1 for real fuzzing, -O0 for CI's short runs)")
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function -fno-sanitize-recover=all
                    -fno-omit-frame-pointer ${VHM_FUZZ_OPT} -gline-tables-only)
add_link_options(-fsanitize=address,undefined)

# lld links the sanitized executables faster than ld.bfd.
find_program(VHM_FUZZ_LLD ld.lld)
if(VHM_FUZZ_LLD)
  add_link_options(-fuse-ld=lld)
endif()
