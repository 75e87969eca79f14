// Safe defaults of the real binary (issue 19): a cluster port that may be
// reachable from outside the host needs --cluster-key, or an explicit
// --insecure-cluster that the node logs as a warning.
//
// No test here opens a port off loopback: the refused forms are refused
// before anything is bound, and the form that starts is the interface name
// `lo` (ZeroMQ binds interface names; the loopback interface is not a
// loopback literal, so the node must treat it like any interface — it
// cannot tell `lo` from `eth0` without looking — and the bind stays on
// 127.0.0.1). No name is resolved, so no DNS query can leave the machine.
#include "support/node_process.hpp"

#include <gtest/gtest.h>

namespace evmesh::test {
namespace {

std::vector<std::string> node_args(const temp_dir& dir, const std::string& cluster, std::vector<std::string> more = {}) {
  std::vector<std::string> args{"node", "--data", (dir.path() / "data").string(), "--http", "127.0.0.1:0",
                                "--cluster", cluster};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

void expect_refused(const command_result& r, const temp_dir& dir, const std::string& cluster) {
  EXPECT_EQ(r.exit_code, 1) << cluster << "\nstdout: " << r.out << "\nstderr: " << r.err;
  EXPECT_NE(r.err.find("refusing to start"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not on loopback"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--cluster-key"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--insecure-cluster"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("serving"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "data" / "admin.token")) << "refused before anything is created";
}

// Wildcards and non-loopback literals are refused before the bind.
TEST(SafeDefaults, WildcardClusterPortWithoutKeyRefusesToStart) {
  for (const char* cluster : {"0.0.0.0:0", "[::]:0", "*:0", "192.0.2.1:0"}) {
    temp_dir dir;
    expect_refused(run_evmesh(node_args(dir, cluster), {}, {}, std::chrono::seconds{20}), dir, cluster);
  }
  temp_dir env_dir;  // the same from the environment
  expect_refused(run_evmesh({"node", "--data", (env_dir.path() / "data").string(), "--http", "127.0.0.1:0"},
                            {"EVMESH_CLUSTER=0.0.0.0:0"}, {}, std::chrono::seconds{20}),
                 env_dir, "EVMESH_CLUSTER=0.0.0.0:0");
}

// An interface (or host) name is not known to be loopback: refused without
// a key; with --insecure-cluster the node starts and logs a warning; with a
// key it starts without one. Loopback literals and "localhost" need neither.
TEST(SafeDefaults, ClusterInterfaceNameNeedsAKeyOrInsecureCluster) {
  const std::string cluster = "lo:0";
  {
    temp_dir dir;
    expect_refused(run_evmesh(node_args(dir, cluster), {}, {}, std::chrono::seconds{20}), dir, cluster);
  }
  {
    temp_dir dir;
    node_process node(dir.path(), {"--cluster", cluster, "--insecure-cluster"});
    auto out = node.output();
    EXPECT_NE(out.find("warning: --insecure-cluster"), std::string::npos) << out;
    EXPECT_NE(out.find("anyone who reaches it is a cluster member"), std::string::npos) << out;
    EXPECT_EQ(node.stop(), 0);
  }
  {
    temp_dir dir;
    node_process node(dir.path(), {"--cluster", cluster, "--cluster-key", "a shared secret"});
    EXPECT_EQ(node.output().find("warning"), std::string::npos) << node.output();
    EXPECT_EQ(node.stop(), 0);
  }
  {
    temp_dir dir;
    node_process node(dir.path(), {"--cluster", "127.0.0.1:0"});
    EXPECT_EQ(node.output().find("insecure"), std::string::npos) << node.output();
    EXPECT_EQ(node.stop(), 0);
  }
  // "localhost" and [::1] pass the check; whether ZeroMQ can bind them here
  // (it takes names as interface names; IPv6 may be off) is not this test's.
  for (const char* loopback : {"localhost:0", "127.1.2.3:0", "[::1]:0"}) {
    temp_dir dir;
    try {
      node_process node(dir.path(), {"--cluster", loopback});
      EXPECT_EQ(node.output().find("insecure"), std::string::npos) << node.output();
      EXPECT_EQ(node.stop(), 0);
    } catch (const std::exception& e) {
      EXPECT_EQ(std::string(e.what()).find("refusing to start"), std::string::npos) << loopback << ": " << e.what();
    }
  }
}

} // namespace
} // namespace evmesh::test
