// The admin token (CONTRACT "Command line"): the one given by flag or
// environment, else the one in <data>/admin.token, else a new one written
// there with mode 0600 and printed once to standard error.
#pragma once

#include <filesystem>
#include <string>

namespace evmesh {

std::string resolve_admin_token(const std::filesystem::path& data_dir, const std::string& given);

} // namespace evmesh
