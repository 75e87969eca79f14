# The house's layers as CMake libraries (docs/ARCHITECTURE.md, "Layers").
# evmesh_layer(NAME SOURCES ... [DEPS lower layers ...] [LIBS external ...]
#              [PUBLIC_HEADERS evmesh/x.hpp ...])
# builds the static library evmesh_<NAME> from the folder NAME/. Its include
# root is a directory made at configure time in the build tree that holds
# links to NAME/ and to the folders DEPS names, and to the public headers
# PUBLIC_HEADERS names (plus those its DEPS see) — nothing else. So
# `#include "http/..."` from actors/ does not find the file, and an include
# that climbs fails to build, as Redpanda's v_cc_library(... DEPS ...) keeps
# its layers. scripts/check-layers.py reads the same DEPS lines and says
# which file and line climbed before the compiler gets there.
set(EVMESH_LAYER_ROOT "${CMAKE_BINARY_DIR}/layers")

function(evmesh_layer name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;DEPS;LIBS;PUBLIC_HEADERS")
  set(target evmesh_${name})
  set(root "${EVMESH_LAYER_ROOT}/${name}")
  file(REMOVE_RECURSE "${root}")
  file(MAKE_DIRECTORY "${root}/evmesh")
  set(visible ${name} ${arg_DEPS})
  foreach(folder IN LISTS visible)
    file(CREATE_LINK "${PROJECT_SOURCE_DIR}/${folder}" "${root}/${folder}" SYMBOLIC)
  endforeach()
  set(headers ${arg_PUBLIC_HEADERS})
  foreach(dep IN LISTS arg_DEPS)
    get_property(dep_headers GLOBAL PROPERTY evmesh_layer_headers_${dep})
    list(APPEND headers ${dep_headers})
  endforeach()
  list(REMOVE_DUPLICATES headers)
  set_property(GLOBAL PROPERTY evmesh_layer_headers_${name} ${headers})
  foreach(header IN LISTS headers)
    file(CREATE_LINK "${PROJECT_SOURCE_DIR}/include/${header}" "${root}/${header}" SYMBOLIC)
  endforeach()

  add_library(${target} STATIC ${arg_SOURCES})
  target_include_directories(${target} PUBLIC "${root}")
  target_compile_options(${target} PRIVATE ${EVMESH_WARNINGS})
  target_compile_definitions(${target} PUBLIC EVMESH_VERSION="${PROJECT_VERSION}")
  set(dep_targets)
  foreach(dep IN LISTS arg_DEPS)
    list(APPEND dep_targets evmesh_${dep})
  endforeach()
  target_link_libraries(${target} PUBLIC ${dep_targets} ${arg_LIBS})
endfunction()
