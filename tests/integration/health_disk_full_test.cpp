// /healthz on a full disk (issue 19): the node's data dir is on a small
// tmpfs the test mounts; once the disk is filled, appends fail ("database
// or disk is full") while reads and pings still work. /healthz must answer
// 503 with the reason while appends fail, and 200 again once one succeeds.
// Needs mount(2) (root, as in CI); skips with a message where it is not
// permitted.
#include "support/api_client.hpp"
#include "support/node_process.hpp"

#include <gtest/gtest.h>

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace evmesh::test {
namespace {

class tmpfs_mount {
public:
  tmpfs_mount(const std::filesystem::path& at, const std::string& size) : at_(at) {
    std::filesystem::create_directories(at);
    auto options = "size=" + size + ",mode=0700";
    if (::mount("tmpfs", at.c_str(), "tmpfs", 0, options.c_str()) == 0)
      mounted_ = true;
    else
      why_ = std::string("mount -t tmpfs not permitted here: ") + std::strerror(errno);
  }
  ~tmpfs_mount() {
    if (mounted_)
      ::umount2(at_.c_str(), MNT_DETACH);
  }
  tmpfs_mount(const tmpfs_mount&) = delete;
  tmpfs_mount& operator=(const tmpfs_mount&) = delete;
  bool ok() const { return mounted_; }
  const std::string& why() const { return why_; }

private:
  std::filesystem::path at_;
  bool mounted_ = false;
  std::string why_;
};

// Writes `path` until the file system says it is full (bounded by `limit`
// bytes); the bytes written.
uint64_t fill(const std::filesystem::path& path, uint64_t limit) {
  std::ofstream out(path, std::ios::binary);
  const std::string block(64 * 1024, 'f');
  uint64_t written = 0;
  while (written < limit) {
    out.write(block.data(), static_cast<std::streamsize>(block.size()));
    out.flush();
    if (!out)
      break;
    written += block.size();
  }
  return written;
}

TEST(HealthDiskFull, HealthzIsUnhealthyWhileAppendsFailAndOkOnceOneSucceeds) {
  temp_dir dir;
  tmpfs_mount disk(dir.path() / "disk", "4m");
  if (!disk.ok())
    GTEST_SKIP() << disk.why();
  node_process node(dir.path() / "disk" / "data");
  api_client api(node.url(), node.admin_token());
  ASSERT_EQ(api.get("/healthz").status, 200);
  ASSERT_EQ(api.post("/v1/events", {{"topic", "disk.before"}, {"data", 1}}).status, 202);

  auto filler = dir.path() / "disk" / "filler";
  ASSERT_GT(fill(filler, 8u << 20), 0u);
  ASSERT_LT(fill(dir.path() / "disk" / "filler2", 8u << 20), 8u << 20) << "the tmpfs is not full";

  // The WAL may still have room from before: publish until an append fails.
  const std::string payload(16 * 1024, 'p');
  api_response refused;
  int accepted_while_full = 0;
  for (int i = 0; i < 2000; ++i) {
    auto r = api.post("/v1/events", {{"topic", "disk.full"}, {"data", payload}});
    if (r.status != 202) {
      refused = r;
      break;
    }
    ++accepted_while_full;
  }
  ASSERT_NE(refused.status, 0) << "no append failed on a full disk (" << accepted_while_full << " accepted)";
  EXPECT_EQ(refused.status, 503) << refused.body;

  // Reads and pings still work on a full disk; health must still say no.
  for (int i = 0; i < 3; ++i) {
    auto health = api.get("/healthz");
    EXPECT_EQ(health.status, 503) << "while appends fail: " << health.body;
    auto body = nlohmann::json::parse(health.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << health.body;
    EXPECT_EQ(body.value("status", ""), "unavailable") << health.body;
    EXPECT_NE(body.value("reason", "").find("full"), std::string::npos) << health.body;
  }
  EXPECT_NE(api.get("/metrics").body.find("evmesh_store_appends_failing 1"), std::string::npos);

  std::filesystem::remove(filler);
  std::filesystem::remove(dir.path() / "disk" / "filler2");
  api_response after;
  for (int i = 0; i < 50 && after.status != 202; ++i)  // the next append succeeds (bounded)
    after = api.post("/v1/events", {{"topic", "disk.after"}, {"data", 2}});
  ASSERT_EQ(after.status, 202) << after.body;
  auto health = api.get("/healthz");
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_NE(api.get("/metrics").body.find("evmesh_store_appends_failing 0"), std::string::npos);
  EXPECT_EQ(node.stop(), 0);
}

} // namespace
} // namespace evmesh::test
