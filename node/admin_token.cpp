// See admin_token.hpp.
#include "node/admin_token.hpp"
#include "base/private_files.hpp"

#include "model/auth.hpp"

#include <evmesh/error.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

namespace evmesh {

std::string resolve_admin_token(const std::filesystem::path& data_dir, const std::string& given) {
  if (!given.empty())
    return given;
  make_private_directory(data_dir);
  auto path = data_dir / "admin.token";
  if (std::ifstream in{path}) {
    std::string token;
    std::getline(in, token);
    if (!token.empty())
      return token;
  }
  auto token = make_token();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    throw error(errc::unavailable, "cannot write " + path.string() + ": " + std::strerror(errno));
  auto line = token + "\n";
  bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                 ::fsync(fd) == 0;
  ::close(fd);
  if (!written)
    throw error(errc::unavailable, "cannot write " + path.string() + ": " + std::strerror(errno));
  std::cerr << "evmesh: generated admin token " << token << " (saved to " << path.string()
            << ", mode 0600; it is not printed again)" << std::endl;
  return token;
}

} // namespace evmesh
