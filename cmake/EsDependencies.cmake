# Every third-party dependency comes from Debian bookworm packages (scripts/install-deps.sh).
# Boost 1.81 is asked for by exact minor version: bookworm also ships 1.74 under other names.
find_package(Boost 1.81...<1.82 REQUIRED CONFIG COMPONENTS json url system)
find_package(spdlog REQUIRED CONFIG)
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
if(ES_BUILD_POSTGRES)
  # Debian's libpqxx-dev ships only a pkg-config file.
  pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET GLOBAL libpqxx)
endif()
if(ES_BUILD_REDIS)
  pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET GLOBAL hiredis)
  find_package(OpenSSL REQUIRED)
endif()
