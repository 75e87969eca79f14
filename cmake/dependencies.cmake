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

find_path(ZMQ_INCLUDE zmq.hpp)
find_library(ZMQ_LIB zmq)
if(NOT ZMQ_INCLUDE OR NOT ZMQ_LIB)
  message(FATAL_ERROR "ZeroMQ not found: apt-get install cppzmq-dev libzmq3-dev")
endif()
if(NOT TARGET zmq::zmq)
  add_library(zmq::zmq UNKNOWN IMPORTED)
  set_target_properties(zmq::zmq PROPERTIES
    IMPORTED_LOCATION "${ZMQ_LIB}"
    INTERFACE_INCLUDE_DIRECTORIES "${ZMQ_INCLUDE}")
endif()

find_package(Boost 1.74 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(msgpack CONFIG REQUIRED)   # target msgpackc-cxx

# libpq (libpq-dev): the PostgreSQL store. The C library, not libpqxx: it is
# what Debian's libpqxx wraps anyway, and the store needs only prepare /
# exec-prepared / binary results, a page of RAII (node/postgres_connection).
find_path(PQ_INCLUDE libpq-fe.h PATH_SUFFIXES postgresql)
find_library(PQ_LIB pq)
if(NOT PQ_INCLUDE OR NOT PQ_LIB)
  message(FATAL_ERROR "libpq not found: apt-get install libpq-dev")
endif()
if(NOT TARGET pq::pq)
  add_library(pq::pq UNKNOWN IMPORTED)
  set_target_properties(pq::pq PROPERTIES
    IMPORTED_LOCATION "${PQ_LIB}"
    INTERFACE_INCLUDE_DIRECTORIES "${PQ_INCLUDE}")
endif()
