// The live web page (GET /ui/) in a real headless Chromium against a real
// `evmesh node`: the page connects over /v1/ws with the token it is given,
// an event published over HTTP appears on it, and an event published from
// its form is acked, appears and is stored. The screenshot it leaves
// (web-ui.png in the test's working directory) is the one in docs/.
#include "support/api_client.hpp"
#include "support/headless_chromium.hpp"
#include "support/node_process.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace evmesh::test {
namespace {

using nlohmann::json;
namespace bhttp = boost::beast::http;

TEST(WebUi, PageIsServedWithoutATokenAndLoadsNothingFromElsewhere) {
  temp_dir dir;
  node_process node(dir.path());
  api_client anonymous(node.url(), "");
  auto page = anonymous.get("/ui/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.headers[bhttp::field::content_type], "text/html; charset=utf-8");
  EXPECT_NE(page.headers["Content-Security-Policy"].find("default-src 'none'"), std::string::npos);
  EXPECT_NE(page.body.find("/v1/ws"), std::string::npos);
  EXPECT_EQ(page.body.find("http://"), std::string::npos) << "the page refers to another site";
  EXPECT_EQ(page.body.find("https://"), std::string::npos) << "the page refers to another site";
  auto bare = anonymous.get("/ui");
  EXPECT_EQ(bare.status, 301);
  EXPECT_EQ(bare.headers[bhttp::field::location], "/ui/");
  EXPECT_EQ(node.stop(), 0) << node.output();
}

TEST(WebUi, EventsPublishedElsewhereAndFromThePageAppearOnIt) {
  auto executable = headless_chromium::find();
  if (!executable)
    GTEST_SKIP() << "chromium is not installed (bash scripts/install-deps.sh)";
  temp_dir dir;
  node_process node(dir.path());
  api_client http(node.url(), node.admin_token());
  headless_chromium browser(*executable);

  auto page = browser.open_page(node.url() + "/ui/#token=" + node.admin_token() + "&pattern=demo.*");
  browser.evaluate(page, "document.getElementById('connect').click()");
  ASSERT_TRUE(browser.wait_for(page, "document.getElementById('status').textContent === 'live: demo.*'"))
    << "status: " << browser.evaluate(page, "document.getElementById('status').textContent");

  // Published over HTTP by someone else: it shows up as a row.
  for (const auto& greeting : {"hello from the test", "a second event"}) {
    auto r = http.post("/v1/events", {{"topic", "demo.greeting"}, {"data", {{"greeting", greeting}}}});
    ASSERT_EQ(r.status, 202) << r.body;
    auto row = "document.querySelector('tr[data-seq=\"" + std::to_string(r.json()["seq"].get<uint64_t>()) + "\"]')";
    ASSERT_TRUE(browser.wait_for(page, row + " && " + row + ".textContent.includes('" + greeting + "')"))
      << "the event did not appear; rows: "
      << browser.evaluate(page, "document.getElementById('events').textContent");
  }

  // Published from the page's own form: acked, shown, stored.
  browser.evaluate(page,
                   "document.getElementById('pub-topic').value = 'demo.from-page';"
                   "document.getElementById('pub-data').value = '{\"clicked\": true}';"
                   "document.getElementById('publish').click()");
  ASSERT_TRUE(browser.wait_for(page, "document.getElementById('publish-result').textContent.startsWith('stored as seq')"))
    << browser.evaluate(page, "document.getElementById('publish-result').textContent");
  ASSERT_TRUE(browser.wait_for(page, "[...document.querySelectorAll('#events td.topic')].some(td => td.textContent === 'demo.from-page')"));
  auto stored = http.get("/v1/events?topic=demo.from-page").json()["events"];
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0]["data"], json({{"clicked", true}}));
  EXPECT_EQ(browser.evaluate(page, "document.getElementById('count').textContent"), "3 received");

  auto png = browser.screenshot(page);
  ASSERT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  std::ofstream(std::filesystem::current_path() / "web-ui.png", std::ios::binary) << png;
  EXPECT_EQ(node.stop(), 0) << node.output();
}

TEST(WebUi, AWrongTokenIsReportedOnThePage) {
  auto executable = headless_chromium::find();
  if (!executable)
    GTEST_SKIP() << "chromium is not installed (bash scripts/install-deps.sh)";
  temp_dir dir;
  node_process node(dir.path());
  headless_chromium browser(*executable);
  auto page = browser.open_page(node.url() + "/ui/#token=evm_wrong");
  browser.evaluate(page, "document.getElementById('connect').click()");
  EXPECT_TRUE(browser.wait_for(page, "document.getElementById('status').textContent.startsWith('could not connect')"))
    << browser.evaluate(page, "document.getElementById('status').textContent");
  EXPECT_EQ(node.stop(), 0) << node.output();
}

} // namespace
} // namespace evmesh::test
