// The `evmesh` command line as a user meets it: help, version, flag errors,
// `evmesh publish`, and options from flags, EVMESH_* variables and a config
// file (flags win over the environment, which wins over the file).
#include "support/api_client.hpp"
#include "support/node_process.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

namespace evmesh::test {
namespace {

TEST(Cli, VersionAndHelp) {
  auto v = run_evmesh({"version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out, std::string("evmesh ") + EVMESH_VERSION + "\n");
  auto help = run_evmesh({"node", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* flag : {"--config", "--name", "--data", "--http", "--cluster", "--join",
                           "--admin-token", "--allow-private-targets", "--retry-schedule",
                           "EVMESH_ADMIN_TOKEN"})
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  EXPECT_NE(run_evmesh({"publish", "--help"}).out.find("--token"), std::string::npos);
  auto none = run_evmesh({});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("usage"), std::string::npos);
}

TEST(Cli, BadFlagsAreRefusedWithTheReason) {
  auto unknown = run_evmesh({"node", "--bogus"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown option --bogus"), std::string::npos) << unknown.err;
  auto missing = run_evmesh({"node", "--http"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("--http needs a HOST:PORT"), std::string::npos) << missing.err;
  auto bad_port = run_evmesh({"node", "--http", "127.0.0.1:99999", "--data", "/tmp/evmesh-never"});
  EXPECT_EQ(bad_port.exit_code, 1);
  EXPECT_NE(bad_port.err.find("no valid port"), std::string::npos) << bad_port.err;
}

TEST(Cli, PublishPrintsTheAckAndReadsStdin) {
  temp_dir dir;
  node_process node(dir.path());
  auto r = run_evmesh({"publish", "cli.t", R"({"a":1})", "--url", node.url(), "--data", dir.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto ack = nlohmann::json::parse(r.out);
  EXPECT_EQ(ack["seq"], 1);
  auto piped = run_evmesh({"publish", "cli.t", "-", "--url", node.url(), "--id", "from-stdin"},
                          {"EVMESH_TOKEN=" + node.admin_token()}, R"({"b":2})");
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(nlohmann::json::parse(piped.out)["id"], "from-stdin");
  auto events = api_client(node.url(), node.admin_token()).get("/v1/events?topic=cli.t").json()["events"];
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1]["data"]["b"], 2);

  auto bad_json = run_evmesh({"publish", "cli.t", "{", "--url", node.url(), "--token", "x"});
  EXPECT_EQ(bad_json.exit_code, 2);
  EXPECT_NE(bad_json.err.find("not valid JSON"), std::string::npos);
  auto bad_token = run_evmesh({"publish", "cli.t", "1", "--url", node.url(), "--token", "wrong"});
  EXPECT_EQ(bad_token.exit_code, 1);
  EXPECT_NE(bad_token.err.find("401"), std::string::npos) << bad_token.err;
  auto bad_topic = run_evmesh({"publish", "cli..t", "1", "--url", node.url(), "--token", node.admin_token()});
  EXPECT_EQ(bad_topic.exit_code, 1);
  EXPECT_NE(bad_topic.err.find("token 2"), std::string::npos) << bad_topic.err;
}

TEST(Cli, GeneratedAdminTokenIsPrivateAndStable) {
  temp_dir dir;
  std::string token;
  {
    node_process node(dir.path());
    token = node.admin_token();
    EXPECT_EQ(token.rfind("evm_", 0), 0u);
    EXPECT_NE(node.output().find("generated admin token"), std::string::npos);
    struct stat st {};
    ASSERT_EQ(stat((dir.path() / "admin.token").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600);
    EXPECT_EQ(node.stop(), 0);
  }
  node_process again(dir.path());
  EXPECT_EQ(again.admin_token(), token);
  EXPECT_EQ(again.output().find("generated admin token"), std::string::npos) << "printed only once";
  EXPECT_EQ(api_client(again.url(), token).get("/v1/events").status, 200);
}

TEST(Cli, OptionsComeFromFileEnvironmentAndFlagsInThatOrder) {
  temp_dir dir;
  auto config = dir.path() / "evmesh.conf";
  std::ofstream(config) << "# a comment\nadmin-token = from-file\nname = \"file-name\"\n";
  {
    node_process node(dir.path() / "a", {"--config", config.string()});
    EXPECT_EQ(api_client(node.url(), "from-file").get("/v1/events").status, 200);
    EXPECT_NE(node.output().find("node file-name serving"), std::string::npos) << node.output();
  }
  {
    node_process node(dir.path() / "b", {"--config", config.string()}, {"EVMESH_ADMIN_TOKEN=from-env"});
    EXPECT_EQ(api_client(node.url(), "from-env").get("/v1/events").status, 200);
    EXPECT_EQ(api_client(node.url(), "from-file").get("/v1/events").status, 401);
  }
  {
    node_process node(dir.path() / "c", {"--config", config.string(), "--admin-token", "from-flag"},
                      {"EVMESH_ADMIN_TOKEN=from-env"});
    EXPECT_EQ(api_client(node.url(), "from-flag").get("/v1/events").status, 200);
    EXPECT_EQ(api_client(node.url(), "from-env").get("/v1/events").status, 401);
  }
  std::ofstream(config) << "no-such-option = 1\n";
  auto bad = run_evmesh({"node", "--config", config.string()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("evmesh.conf:1: unknown option \"no-such-option\""), std::string::npos) << bad.err;
}

} // namespace
} // namespace evmesh::test

namespace evmesh::test {
namespace {

TEST(Cli, TailPrintsRetainedThenLiveEventsOfItsPatternOnly) {
  temp_dir dir;
  node_process node(dir.path());
  api_client c(node.url(), node.admin_token());
  for (int i = 1; i <= 2; ++i)
    ASSERT_EQ(c.post("/v1/events", {{"topic", "tail.old"}, {"data", i}}).status, 202);
  running_command tail({"tail", "tail.>", "--since", "0", "--url", node.url(), "--token", node.admin_token()});
  for (int i = 1; i <= 2; ++i) {
    auto line = tail.next_line();
    ASSERT_TRUE(line) << "no retained event " << i;
    auto e = nlohmann::json::parse(*line);
    EXPECT_EQ(e["seq"], i);
    EXPECT_EQ(e["topic"], "tail.old");
  }
  ASSERT_EQ(c.post("/v1/events", {{"topic", "other.topic"}, {"data", 0}}).status, 202);
  ASSERT_EQ(c.post("/v1/events", {{"topic", "tail.new"}, {"data", {{"live", true}}}}).status, 202);
  auto live = tail.next_line();
  ASSERT_TRUE(live);
  auto e = nlohmann::json::parse(*live);
  EXPECT_EQ(e["topic"], "tail.new") << "other.topic does not match tail.>";
  EXPECT_EQ(e["data"]["live"], true);
  EXPECT_EQ(node.stop(), 0);
  EXPECT_EQ(tail.wait(), 1);
  EXPECT_NE(tail.err().find("the node ended the stream"), std::string::npos) << tail.err();
}

TEST(Cli, TailRefusesBadPatternsAndTokensWithTheReason) {
  temp_dir dir;
  node_process node(dir.path());
  auto bad_pattern = run_evmesh({"tail", "a..b", "--url", node.url(), "--token", node.admin_token()});
  EXPECT_EQ(bad_pattern.exit_code, 1);
  EXPECT_NE(bad_pattern.err.find("400"), std::string::npos) << bad_pattern.err;
  EXPECT_NE(bad_pattern.err.find("token 2"), std::string::npos) << bad_pattern.err;
  auto bad_token = run_evmesh({"tail", "a.b", "--url", node.url(), "--token", "wrong"});
  EXPECT_EQ(bad_token.exit_code, 1);
  EXPECT_NE(bad_token.err.find("401"), std::string::npos) << bad_token.err;
  EXPECT_EQ(run_evmesh({"tail"}).exit_code, 2);
}

} // namespace
} // namespace evmesh::test
