// Tests of the command-line option parser (cli/options.hpp, options.cpp):
// flags with separate and `=` values, switches, positional arguments, --help,
// usage errors and their text, the config file (comments, quotes, switches,
// errors with file:line), EVMESH_* environment variables, the precedence
// file < environment < flags, environment_name and help().
#include "cli/options.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using evmesh::environment_name;
using evmesh::option_parser;
using evmesh::usage_error;

using args = std::vector<std::string>;

// Sets (or unsets, for nullopt) an environment variable and restores the old
// value when it goes out of scope.
class scoped_env {
public:
  scoped_env(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str()))
      old_ = old;
    set(value);
  }
  ~scoped_env() { set(old_); }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

private:
  void set(const std::optional<std::string>& value) {
    if (value)
      ::setenv(name_.c_str(), value->c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  std::string name_;
  std::optional<std::string> old_;
};

// A config file in the temp dir with the given text, removed at the end.
class config_file {
public:
  explicit config_file(const std::string& text) {
    static std::atomic<int> counter{0};
    path_ = (fs::temp_directory_path() / ("evmesh-options-" + std::to_string(::getpid()) + "-" +
                                          std::to_string(counter++) + ".conf"))
              .string();
    std::ofstream(path_) << text;
  }
  ~config_file() {
    std::error_code ignored;
    fs::remove(path_, ignored);
  }
  config_file(const config_file&) = delete;
  config_file& operator=(const config_file&) = delete;
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

// Every option the parser under test knows; none of their variables may leak
// in from the environment the tests run in.
const std::vector<std::string> option_names{"http", "data-dir", "name", "verbose",
                                            "allow-private-targets", "port", "config"};

class options_test : public ::testing::Test {
protected:
  options_test() {
    for (const auto& name : option_names)
      clean_env_.push_back(std::make_unique<scoped_env>(environment_name(name), std::nullopt));
    parser.allow_config_file();
    add_value("http", "HOST:PORT", "where to listen for HTTP");
    add_value("data-dir", "DIR", "where the event log lives");
    add_value("name", "NAME", "this node's name");
    add_switch("verbose", "log more");
    add_switch("allow-private-targets", "let webhooks call private addresses");
    parser.add({"port", "N", "a port number", [this](const std::string& v) {
                  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
                    throw usage_error("--port must be a number, not \"" + v + "\"");
                  applied["port"].push_back(v);
                }});
  }

  void add_value(const std::string& name, const std::string& value_name, const std::string& help) {
    parser.add({name, value_name, help, [this, name](const std::string& v) { applied[name].push_back(v); }});
  }
  void add_switch(const std::string& name, const std::string& help) {
    parser.add({name, "", help, [this, name](const std::string& v) { applied[name].push_back(v); }});
  }

  // The value an option ended with (the last one applied), if any.
  std::optional<std::string> value(const std::string& name) const {
    auto it = applied.find(name);
    if (it == applied.end() || it->second.empty())
      return std::nullopt;
    return it->second.back();
  }

  // The usage_error message parse() throws for `arguments`.
  std::string parse_error(const args& arguments) {
    try {
      parser.parse(arguments);
    } catch (const usage_error& e) {
      return e.what();
    }
    ADD_FAILURE() << "no usage_error";
    return {};
  }

  std::vector<std::unique_ptr<scoped_env>> clean_env_;
  option_parser parser{"evmesh node [options]", "Runs a node."};
  std::map<std::string, std::vector<std::string>> applied;
};

// ---- flags ---------------------------------------------------------------

TEST_F(options_test, flag_values_separate_or_after_equals) {
  struct row {
    args arguments;
    std::string expected;
  };
  for (const auto& [arguments, expected] : {
         row{{"--http", "127.0.0.1:8080"}, "127.0.0.1:8080"},
         row{{"--http=127.0.0.1:8080"}, "127.0.0.1:8080"},
         row{{"--http=a=b"}, "a=b"},            // only the first '=' separates
         row{{"--http="}, ""},                  // an explicitly empty value
         row{{"--http", "--not-a-flag"}, "--not-a-flag"}, // the next argument, whatever it is
         row{{"--http", "a", "--http=b"}, "b"}, // the last flag wins
       }) {
    applied.clear();
    EXPECT_TRUE(parser.parse(arguments).empty());
    EXPECT_EQ(value("http"), expected) << ::testing::PrintToString(arguments);
  }
}

TEST_F(options_test, switches_apply_true_only_when_given) {
  parser.parse({"--verbose", "--http", "x"});
  EXPECT_EQ(applied["verbose"], (std::vector<std::string>{"true"}));
  EXPECT_FALSE(value("allow-private-targets"));
}

TEST_F(options_test, positional_arguments_are_returned_in_order) {
  auto rest = parser.parse({"orders.created", "--http", "h:1", "payload", "-", "--verbose", "last"});
  EXPECT_EQ(rest, (args{"orders.created", "payload", "-", "last"}));
  EXPECT_EQ(value("http"), "h:1");
  EXPECT_EQ(value("verbose"), "true");
}

TEST_F(options_test, help_wins_and_applies_nothing) {
  for (const auto& arguments : {args{"--help"}, args{"-h"}, args{"--http", "x", "--help"},
                                args{"pos", "-h", "--bogus"}}) {
    applied.clear();
    EXPECT_EQ(parser.parse(arguments), args{"--help"}) << ::testing::PrintToString(arguments);
    EXPECT_TRUE(applied.empty()) << ::testing::PrintToString(arguments);
  }
}

TEST_F(options_test, bad_usage_throws_usage_error_saying_what) {
  struct row {
    args arguments;
    std::string message;
  };
  for (const auto& [arguments, message] : {
         row{{"--bogus"}, "unknown option --bogus"},
         row{{"--bogus=1"}, "unknown option --bogus"},
         row{{"--http"}, "--http needs a HOST:PORT"},
         row{{"--verbose", "--data-dir"}, "--data-dir needs a DIR"},
         row{{"--verbose=yes"}, "--verbose takes no value"},
         row{{"--config"}, "--config needs a FILE"},
         row{{"--port", "80x"}, "--port must be a number, not \"80x\""}, // from apply
       })
    EXPECT_EQ(parse_error(arguments), message) << ::testing::PrintToString(arguments);
}

TEST_F(options_test, config_flag_is_unknown_unless_allowed) {
  option_parser plain{"evmesh publish TOPIC", "Publishes."};
  try {
    plain.parse({"--config", "x.conf"});
    FAIL() << "no usage_error";
  } catch (const usage_error& e) {
    EXPECT_STREQ(e.what(), "unknown option --config");
  }
}

// ---- config file ---------------------------------------------------------

TEST_F(options_test, config_file_values_comments_quotes_and_switches) {
  config_file file{"# a comment\n"
                   "   # an indented comment\n"
                   "\n"
                   "http = 10.0.0.1:8080\n"
                   "  name=\"quoted value\"  \r\n"
                   "data-dir = '/var/lib/evmesh'\n"
                   "port = 99\n"
                   "verbose = true\n"
                   "allow-private-targets = false\n"};
  EXPECT_EQ(parser.parse({"--config", file.path()}), args{});
  EXPECT_EQ(value("http"), "10.0.0.1:8080");
  EXPECT_EQ(value("name"), "quoted value");
  EXPECT_EQ(value("data-dir"), "/var/lib/evmesh");
  EXPECT_EQ(value("port"), "99");
  EXPECT_EQ(value("verbose"), "true");
  EXPECT_FALSE(value("allow-private-targets"));
}

TEST_F(options_test, config_file_from_equals_flag_and_from_environment) {
  config_file file{"name = from-file\n"};
  parser.parse({"--config=" + file.path()});
  EXPECT_EQ(value("name"), "from-file");

  applied.clear();
  scoped_env env{"EVMESH_CONFIG", file.path()};
  parser.parse({});
  EXPECT_EQ(value("name"), "from-file");
}

TEST_F(options_test, config_file_errors_name_file_and_line) {
  struct row {
    std::string text;
    std::string message_after_path;
  };
  for (const auto& [text, message_after_path] : {
         row{"# ok\nhttp = x\nbogus = 1\n", ":3: unknown option \"bogus\""},
         row{"http\n", ":1: expected `name = value`"},
         row{"\nverbose = yes\n", ":2: \"verbose\" takes true or false"},
       }) {
    config_file file{text};
    EXPECT_EQ(parse_error({"--config", file.path()}), file.path() + message_after_path) << text;
  }
}

TEST_F(options_test, unreadable_config_file_is_a_usage_error) {
  auto missing = (fs::temp_directory_path() / "evmesh-options-does-not-exist.conf").string();
  EXPECT_EQ(parse_error({"--config", missing}), "cannot read config file " + missing);
}

// ---- environment ---------------------------------------------------------

TEST(options_environment_name, maps_option_names_to_variables) {
  EXPECT_EQ(environment_name("admin-token"), "EVMESH_ADMIN_TOKEN");
  EXPECT_EQ(environment_name("http"), "EVMESH_HTTP");
  EXPECT_EQ(environment_name("allow-private-targets"), "EVMESH_ALLOW_PRIVATE_TARGETS");
  EXPECT_EQ(environment_name("data_dir2"), "EVMESH_DATA_DIR2");
}

TEST_F(options_test, environment_variables_supply_values) {
  scoped_env http{"EVMESH_HTTP", "0.0.0.0:9000"};
  scoped_env dir{"EVMESH_DATA_DIR", "/srv/evmesh"};
  scoped_env empty{"EVMESH_NAME", ""};
  parser.parse({});
  EXPECT_EQ(value("http"), "0.0.0.0:9000");
  EXPECT_EQ(value("data-dir"), "/srv/evmesh");
  EXPECT_EQ(value("name"), ""); // set but empty still counts
  EXPECT_FALSE(value("port"));
}

TEST_F(options_test, environment_switches_accept_1_and_true) {
  struct row {
    const char* text;
    bool on;
  };
  for (auto [text, on] : {row{"1", true}, row{"true", true}, row{"0", false}, row{"false", false},
                          row{"", false}}) {
    applied.clear();
    scoped_env verbose{"EVMESH_VERBOSE", text};
    parser.parse({});
    EXPECT_EQ(value("verbose").has_value(), on) << "EVMESH_VERBOSE=" << text;
  }
}

TEST_F(options_test, environment_values_go_through_apply) {
  scoped_env port{"EVMESH_PORT", "eighty"};
  EXPECT_EQ(parse_error({}), "--port must be a number, not \"eighty\"");
}

// ---- precedence ----------------------------------------------------------

TEST_F(options_test, flags_beat_environment_beats_config_file) {
  config_file file{"http = from-file\n"};
  struct row {
    bool file, env, flag;
    std::optional<std::string> expected;
  };
  for (const auto& [use_file, use_env, use_flag, expected] : {
         row{true, true, true, "from-flag"},
         row{true, true, false, "from-env"},
         row{true, false, true, "from-flag"},
         row{false, true, true, "from-flag"},
         row{true, false, false, "from-file"},
         row{false, false, false, std::nullopt},
       }) {
    applied.clear();
    scoped_env env{"EVMESH_HTTP", use_env ? std::optional<std::string>{"from-env"} : std::nullopt};
    args arguments;
    if (use_flag)
      arguments = {"--http", "from-flag"};
    if (use_file)
      arguments.insert(arguments.end(), {"--config", file.path()}); // even given after the flag
    parser.parse(arguments);
    EXPECT_EQ(value("http"), expected)
      << "file " << use_file << ", env " << use_env << ", flag " << use_flag;
  }
}

// ---- help ----------------------------------------------------------------

TEST_F(options_test, help_lists_every_option_with_its_variable) {
  auto text = parser.help();
  EXPECT_EQ(text.rfind("usage: evmesh node [options]\n\nRuns a node.\n", 0), 0u) << text;
  struct row {
    const char* flag;
    const char* help;
    const char* variable;
  };
  for (const auto& [flag, help, variable] : {
         row{"--config FILE", "read options from FILE", "[EVMESH_CONFIG]"},
         row{"--http HOST:PORT", "where to listen for HTTP", "[EVMESH_HTTP]"},
         row{"--data-dir DIR", "where the event log lives", "[EVMESH_DATA_DIR]"},
         row{"--name NAME", "this node's name", "[EVMESH_NAME]"},
         row{"--port N", "a port number", "[EVMESH_PORT]"},
         row{"--verbose", "log more", "[EVMESH_VERBOSE]"},
         row{"--allow-private-targets", "let webhooks call private addresses",
             "[EVMESH_ALLOW_PRIVATE_TARGETS]"},
         row{"-h, --help", "show this help", ""},
       }) {
    // "  --flag VALUE", padding, the help text, then the variable
    auto at = text.find("\n  " + std::string(flag) + " ");
    ASSERT_NE(at, std::string::npos) << flag << " missing from\n" << text;
    auto entry = text.substr(at + 1, text.find("\n  -", at + 1) - at - 1);
    auto rest = entry.substr(2 + std::string(flag).size());
    EXPECT_EQ(rest.substr(rest.find_first_not_of(" \n")).rfind(help, 0), 0u) << entry;
    EXPECT_NE(entry.find(variable), std::string::npos) << entry;
  }
}

TEST_F(options_test, help_leaves_out_config_unless_allowed) {
  option_parser plain{"evmesh publish TOPIC", "Publishes."};
  plain.add({"http", "HOST:PORT", "node address", [](const std::string&) {}});
  auto text = plain.help();
  EXPECT_EQ(text.find("--config"), std::string::npos) << text;
  EXPECT_NE(text.find("--http HOST:PORT"), std::string::npos) << text;
  EXPECT_NE(text.find("[EVMESH_HTTP]"), std::string::npos) << text;
}

} // namespace
