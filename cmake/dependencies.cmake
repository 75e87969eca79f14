# Finds evmesh's dependencies, all from Debian 12 packages (see README).
# CAF 0.17 ships no CMake config, so it is wrapped in imported targets here.
find_package(Threads REQUIRED)

find_path(CAF_INCLUDE caf/all.hpp)
find_library(CAF_CORE caf_core)
if(NOT CAF_INCLUDE OR NOT CAF_CORE)
  message(FATAL_ERROR "CAF not found: apt-get install libcaf-dev")
endif()
if(NOT TARGET caf::core)
  add_library(caf::core UNKNOWN IMPORTED)
  set_target_properties(caf::core PROPERTIES
    IMPORTED_LOCATION "${CAF_CORE}"
    INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE}"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()

# A library without a CMake config as an imported target: finds `header`
# (also under the PATH_SUFFIXES given after `package`) and lib`name`; fails
# naming the Debian package to install.
function(evmesh_import_library target header name package)
  find_path(${name}_include ${header} PATH_SUFFIXES ${ARGN})
  find_library(${name}_library ${name})
  if(NOT ${name}_include OR NOT ${name}_library)
    message(FATAL_ERROR "${name} not found: apt-get install ${package}")
  endif()
  if(NOT TARGET ${target})
    add_library(${target} UNKNOWN IMPORTED)
    set_target_properties(${target} PROPERTIES
      IMPORTED_LOCATION "${${name}_library}"
      INTERFACE_INCLUDE_DIRECTORIES "${${name}_include}")
  endif()
endfunction()

evmesh_import_library(zmq::zmq zmq.hpp zmq "cppzmq-dev libzmq3-dev")

find_package(Boost 1.74 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(msgpack CONFIG REQUIRED)   # target msgpackc-cxx

# libpq (libpq-dev): the PostgreSQL store. The C library, not libpqxx: it is
# what Debian's libpqxx wraps anyway, and the store needs only prepare /
# exec-prepared / binary results, a page of RAII (store/postgres_connection).
evmesh_import_library(pq::pq libpq-fe.h pq libpq-dev postgresql)
