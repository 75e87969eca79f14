// The live web page served at GET /ui/ (http/ui/index.html, compiled into
// the binary by CMake so the node serves it without any files around).
#pragma once

#include <string_view>

namespace evmesh {

std::string_view web_ui_page();

} // namespace evmesh
