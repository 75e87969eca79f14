// Command-line options for the `evmesh` subcommands. Every option can come
// from three places, later ones winning: a config file (`--config FILE`,
// lines of `name = value`, `#` comments), an EVMESH_<NAME> environment
// variable (`--admin-token` → EVMESH_ADMIN_TOKEN), and the flag itself.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace evmesh {

// Bad usage: the message says what and the caller prints the help.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct option {
  std::string name;        // "http" for --http
  std::string value_name;  // "HOST:PORT"; empty for a switch (--allow-private-targets)
  std::string help;
  std::function<void(const std::string& value)> apply;  // throws usage_error on a bad value
};

class option_parser {
public:
  option_parser(std::string usage, std::string summary);
  void add(option opt);
  // Accepts --config FILE (and EVMESH_CONFIG) for this command.
  void allow_config_file();
  // Applies file, environment and flags from args; returns the positional
  // arguments. "--help" or "-h" returns {"--help"}.
  std::vector<std::string> parse(const std::vector<std::string>& args);
  std::string help() const;

private:
  const option* find(const std::string& name) const;
  void apply_file(const std::string& path);
  void apply_environment();

  std::string usage_;
  std::string summary_;
  std::vector<option> options_;
  bool config_file_ = false;
};

// The environment variable that carries an option: EVMESH_ADMIN_TOKEN.
std::string environment_name(const std::string& option_name);

} // namespace evmesh
