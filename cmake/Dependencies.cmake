# Every dependency is a Debian package; nothing is downloaded at build time.
# scripts/install-deps.sh installs the packages named here.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)            # libssl-dev
find_package(ZLIB REQUIRED)                 # zlib1g-dev
find_package(yaml-cpp REQUIRED)             # libyaml-cpp-dev
find_package(spdlog REQUIRED)               # libspdlog-dev
find_package(nlohmann_json 3 REQUIRED)      # nlohmann-json3-dev (header-only; the chat plugin)
pkg_check_modules(LIBEVENT REQUIRED IMPORTED_TARGET libevent_core libevent_pthreads)  # libevent-dev
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)                           # libhiredis-dev (cluster/)
pkg_check_modules(LIBSYSTEMD REQUIRED IMPORTED_TARGET libsystemd)                     # libsystemd-dev

# libhttp-parser-dev ships neither a CMake config nor a pkg-config file.
find_path(HTTP_PARSER_INCLUDE_DIR http_parser.h REQUIRED)
find_library(HTTP_PARSER_LIBRARY http_parser REQUIRED)
add_library(http_parser::http_parser UNKNOWN IMPORTED)
set_target_properties(http_parser::http_parser PROPERTIES
  IMPORTED_LOCATION "${HTTP_PARSER_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${HTTP_PARSER_INCLUDE_DIR}")

if(WSD_TESTS)
  find_package(doctest REQUIRED)            # doctest-dev
endif()
if(WSD_BENCH)
  find_package(benchmark REQUIRED)          # libbenchmark-dev
endif()
