# INGESTOR_STATIC=ON: a fully static `ingestor` (-static), used as the Lambda `bootstrap` on
# provided.al2023 (glibc 2.34, older than Debian 12's 2.36) and as the release binary.
# Included from CMakeLists.txt before its find_package() calls; the normal build never reads it.
# `make lambda-zip` configures build-static/ with it and builds only the `ingestor` target.
#
# Debian bookworm ships static archives (.a) for every dependency except two:
#   Boost.JSON/URL/Container  libboost_*.a          -> Boost_USE_STATIC_LIBS
#   OpenSSL                   libssl.a libcrypto.a  -> OPENSSL_USE_STATIC_LIBS
#   SQLite, zlib, bzip2       libsqlite3.a libz.a libbz2.a  -> .a first in CMAKE_FIND_LIBRARY_SUFFIXES
#   snappy                    libsnappy.a (pkg-config's -lsnappy, found as .a under -static)
#   zstd, pugixml             libzstd.a libpugixml.a, but their CMake configs point the targets the
#                             project links (zstd::libzstd_shared, pugixml::pugixml) at the .so:
#                             defined here first, on the .a, so the configs keep ours
#   spdlog, fmt               NO .a in libspdlog-dev/libfmt-dev: both are used in their header-only
#                             form (SPDLOG_HEADER_ONLY is spdlog's default without
#                             SPDLOG_COMPILED_LIB; FMT_HEADER_ONLY), the same sources compiled in
#   glibc, libstdc++, libgcc  libc.a, libstdc++.a   -> -static
# glibc warns that getaddrinfo in a static binary needs the shared NSS modules at run time: since
# glibc 2.34 the `files` and `dns` modules are built into libc, which is what /etc/nsswitch.conf
# uses on Amazon Linux 2023 and in Debian images, so host names still resolve.
# A dependency added to CMakeLists.txt later needs a line here too if its config names a .so.

set(_lib /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE})
if(NOT CMAKE_LIBRARY_ARCHITECTURE)
  set(_lib /usr/lib/x86_64-linux-gnu)
endif()

set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
set(Boost_USE_STATIC_LIBS ON)
set(OPENSSL_USE_STATIC_LIBS TRUE)
set(ZLIB_USE_STATIC_LIBS ON)
add_link_options(-static)

foreach(t fmt::fmt fmt::fmt-header-only)
  add_library(${t} INTERFACE IMPORTED)
  set_target_properties(${t} PROPERTIES INTERFACE_COMPILE_DEFINITIONS "FMT_HEADER_ONLY=1")
endforeach()
foreach(t spdlog::spdlog spdlog::spdlog_header_only)
  add_library(${t} INTERFACE IMPORTED)
  set_target_properties(${t} PROPERTIES
    INTERFACE_COMPILE_DEFINITIONS "SPDLOG_FMT_EXTERNAL"
    INTERFACE_LINK_LIBRARIES "Threads::Threads;fmt::fmt-header-only")
endforeach()
foreach(t zstd::libzstd_shared zstd::libzstd_static)
  add_library(${t} STATIC IMPORTED)
  set_target_properties(${t} PROPERTIES IMPORTED_LOCATION ${_lib}/libzstd.a)
endforeach()
foreach(t pugixml::shared pugixml::static)
  add_library(${t} STATIC IMPORTED)
  set_target_properties(${t} PROPERTIES IMPORTED_LOCATION ${_lib}/libpugixml.a)
endforeach()
add_library(pugixml::pugixml INTERFACE IMPORTED)
set_target_properties(pugixml::pugixml PROPERTIES INTERFACE_LINK_LIBRARIES pugixml::static)
foreach(need libzstd.a libpugixml.a libsqlite3.a libz.a libbz2.a libssl.a libcrypto.a libboost_json.a
        libboost_url.a libsnappy.a libc.a)
  if(NOT EXISTS ${_lib}/${need})
    message(FATAL_ERROR "INGESTOR_STATIC: ${_lib}/${need} is missing (which Debian package "
                        "provides it: `dpkg -S ${need}`; see cmake/StaticBuild.cmake)")
  endif()
endforeach()
