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
