# The front end's pure parts (docs/browser-access.md): sniffing, the PROXY
# header, forwarded headers, token files, htpasswd, static files. No Asio and
# no sockets, so vhm_proxy, the unit tests (unit_frontend) and the fuzz
# targets (which build without proxy/) share one list.
set(VHM_FRONTEND_PURE_SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/forwarded.cpp
    ${CMAKE_CURRENT_LIST_DIR}/htpasswd.cpp
    ${CMAKE_CURRENT_LIST_DIR}/ip_literal.cpp
    ${CMAKE_CURRENT_LIST_DIR}/percent_decoding.cpp
    ${CMAKE_CURRENT_LIST_DIR}/proxy_protocol.cpp
    ${CMAKE_CURRENT_LIST_DIR}/sniff.cpp
    ${CMAKE_CURRENT_LIST_DIR}/static_files.cpp
    ${CMAKE_CURRENT_LIST_DIR}/token_table.cpp)
# libcrypt (libxcrypt, Debian's libcrypt-dev): crypt_rn for htpasswd.cpp.
set(VHM_FRONTEND_PURE_LIBRARIES vhm_conf vhm_util OpenSSL::Crypto crypt spdlog::spdlog)
