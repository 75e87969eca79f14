// See options.hpp.
#include "cli/options.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace evmesh {
namespace {

std::string trim(const std::string& s) {
  auto begin = s.find_first_not_of(" \t\r");
  if (begin == std::string::npos)
    return {};
  auto end = s.find_last_not_of(" \t\r");
  return s.substr(begin, end - begin + 1);
}

std::string unquote(const std::string& s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front())
    return s.substr(1, s.size() - 2);
  return s;
}

} // namespace

std::string environment_name(const std::string& option_name) {
  std::string out = "EVMESH_";
  for (char c : option_name)
    out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

option_parser::option_parser(std::string usage, std::string summary)
  : usage_(std::move(usage)), summary_(std::move(summary)) {}

void option_parser::add(option opt) { options_.push_back(std::move(opt)); }

void option_parser::allow_config_file() { config_file_ = true; }

const option* option_parser::find(const std::string& name) const {
  for (const auto& opt : options_)
    if (opt.name == name)
      return &opt;
  return nullptr;
}

void option_parser::apply_file(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    throw usage_error("cannot read config file " + path);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    line = trim(line);
    if (line.empty() || line.front() == '#')
      continue;
    auto eq = line.find('=');
    auto where = path + ":" + std::to_string(number) + ": ";
    if (eq == std::string::npos)
      throw usage_error(where + "expected `name = value`");
    auto name = trim(line.substr(0, eq));
    auto value = unquote(trim(line.substr(eq + 1)));
    auto opt = find(name);
    if (!opt)
      throw usage_error(where + "unknown option \"" + name + "\"");
    if (opt->value_name.empty() && value != "true" && value != "false")
      throw usage_error(where + "\"" + name + "\" takes true or false");
    if (opt->value_name.empty() && value == "false")
      continue;
    opt->apply(value);
  }
}

void option_parser::apply_environment() {
  for (const auto& opt : options_) {
    const char* value = std::getenv(environment_name(opt.name).c_str());
    if (!value)
      continue;
    std::string text = value;
    if (opt.value_name.empty()) {
      if (text == "1" || text == "true")
        opt.apply("true");
      continue;
    }
    opt.apply(text);
  }
}

std::vector<std::string> option_parser::parse(const std::vector<std::string>& args) {
  std::vector<std::pair<const option*, std::string>> flags;
  std::vector<std::string> positional;
  std::string config_path;
  if (config_file_)
    if (const char* env = std::getenv("EVMESH_CONFIG"))
      config_path = env;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg == "--help" || arg == "-h")
      return {"--help"};
    if (arg.rfind("--", 0) != 0 || arg == "--" || arg == "-") {
      positional.push_back(arg);
      continue;
    }
    auto body = arg.substr(2);
    std::string value;
    bool inline_value = false;
    if (auto eq = body.find('='); eq != std::string::npos) {
      value = body.substr(eq + 1);
      body.resize(eq);
      inline_value = true;
    }
    if (body == "config" && config_file_) {
      if (!inline_value) {
        if (++i >= args.size())
          throw usage_error("--config needs a FILE");
        value = args[i];
      }
      config_path = value;
      continue;
    }
    auto opt = find(body);
    if (!opt)
      throw usage_error("unknown option --" + body);
    if (opt->value_name.empty()) {
      if (inline_value)
        throw usage_error("--" + body + " takes no value");
      flags.emplace_back(opt, "true");
      continue;
    }
    if (!inline_value) {
      if (++i >= args.size())
        throw usage_error("--" + body + " needs a " + opt->value_name);
      value = args[i];
    }
    flags.emplace_back(opt, value);
  }
  if (!config_path.empty())
    apply_file(config_path);
  apply_environment();
  for (const auto& [opt, value] : flags)
    opt->apply(value);
  return positional;
}

std::string option_parser::help() const {
  std::ostringstream out;
  out << "usage: " << usage_ << "\n\n" << summary_ << "\n\noptions:\n";
  auto line = [&](const std::string& flag, const std::string& help) {
    out << "  " << flag;
    if (flag.size() < 30)
      out << std::string(30 - flag.size(), ' ');
    else
      out << "\n" << std::string(32, ' ');
    out << help << "\n";
  };
  if (config_file_)
    line("--config FILE", "read options from FILE (lines of `name = value`)  [EVMESH_CONFIG]");
  for (const auto& opt : options_)
    line("--" + opt.name + (opt.value_name.empty() ? "" : " " + opt.value_name),
         opt.help + "  [" + environment_name(opt.name) + "]");
  line("-h, --help", "show this help");
  return out.str();
}

} // namespace evmesh
