// See private_files.hpp.
#include "base/private_files.hpp"

#include <cerrno>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>

namespace evmesh {

namespace fs = std::filesystem;

void make_private_directory(const fs::path& dir) {
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
}

void make_private_file(const fs::path& file) {
  // O_CREAT with 0600 so the file is never readable by others, not even for
  // the moment between creating and changing it.
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    throw fs::filesystem_error("cannot create", file, std::error_code(errno, std::generic_category()));
  ::close(fd);
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
}

} // namespace evmesh
