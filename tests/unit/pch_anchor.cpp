// Gives the shared precompiled test header (tests/CMakeLists.txt) a target to be built in.
