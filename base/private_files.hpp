// The node's data directory and the files in it hold secrets (endpoint and
// source secrets in evmesh.db and its -wal/-shm, the admin token), so they
// are private to the node's user: the directory 0700, each file 0600,
// whatever the umask — and tightened to that when an older evmesh left them
// readable to others.
#pragma once

#include <filesystem>

namespace evmesh {

// Creates `dir` (and its parents) if needed and sets it to 0700.
void make_private_directory(const std::filesystem::path& dir);

// Creates `file` empty if it does not exist, with mode 0600, or sets an
// existing one to 0600. Throws std::filesystem::filesystem_error.
void make_private_file(const std::filesystem::path& file);

} // namespace evmesh
