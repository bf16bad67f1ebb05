# Build speed (docs/building.md): CI builds everything once, under the
# sanitizers, on 2 cores, so every second of compile is everyone's wait.
#  - Unity builds: a module's .cpp files are compiled a few at a time as one
#    translation unit, so Asio's, spdlog's and Catch's headers are parsed and
#    their coroutine templates instantiated once per batch, not once per file.
#    Files in one module therefore must not define the same name in an
#    anonymous namespace. VHM_UNITY=OFF compiles file by file (for IDEs and
#    for checking that each file includes what it uses).
#  - A faster linker from Debian when there is one (mold, else lld).
option(VHM_UNITY "Unity builds: compile each module's files in batches" ON)
set(VHM_UNITY_BATCH 6 CACHE STRING "Files per unity batch: more is less total work, fewer is more parallelism")
if(VHM_UNITY)
  set(CMAKE_UNITY_BUILD ON)
  set(CMAKE_UNITY_BUILD_BATCH_SIZE ${VHM_UNITY_BATCH})
  # In a unity file every .cpp is an included file, and GCC then flags each
  # coroutine frame or class holding a type from that file's anonymous
  # namespace; with one definition per translation unit nothing can clash.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-subobject-linkage)
  endif()
endif()
# GCC 12 pairs Asio's awaitable frame allocation with the wrong delete once it
# inlines across coroutines, a false alarm (ASan checks the real pairs).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  add_compile_options(-Wno-mismatched-new-delete)
endif()
# GCC 12 at -O2 warns that `"text" + std::string&&` copies ~2^63 bytes with
# overlap (GCC bug 105329, a false alarm fixed in GCC 13): optimized builds only.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  add_compile_options(-Wno-restrict)
endif()

option(VHM_FAST_LINKER "Link with mold or lld when installed" ON)
if(VHM_FAST_LINKER AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  find_program(VHM_MOLD mold)
  find_program(VHM_LLD ld.lld)
  if(VHM_MOLD)
    add_link_options(-fuse-ld=mold)
  elseif(VHM_LLD)
    add_link_options(-fuse-ld=lld)
  endif()
endif()
