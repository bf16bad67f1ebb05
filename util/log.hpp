#pragma once
// spdlog for every file that logs, with fmt's formatting engine taken from
// libfmt instead of compiled into each of them. fmt 9 (Debian 12's) has no
// `extern template` for detail::vformat_to<char>, the function every
// spdlog::info(...) call instantiates: each translation unit that logged
// compiled its own copy (float formatting included), about 4.5 s of each
// unity batch's compile time under ASan. libfmt.so exports that one
// instantiation, so declaring it here makes every file use the library's.
// GCC only: the library is built by GCC, and clang mangles this signature
// (its type_identity_t parameters) differently, so clang keeps its own copy.
#include <fmt/format.h>

#if FMT_VERSION >= 90000 && FMT_VERSION < 100000 && !defined(FMT_HEADER_ONLY) && defined(__GNUC__) && \
    !defined(__clang__)
extern template void fmt::detail::vformat_to<char>(fmt::detail::buffer<char>&, fmt::basic_string_view<char>,
                                                   fmt::basic_format_args<fmt::buffer_context<char>>,
                                                   fmt::detail::locale_ref);
#endif

#include <spdlog/spdlog.h>
