// The metrics registry's Prometheus text: families in registration order,
// labelled and callback families, and the escaping of label values and HELP.
#include "base/metrics_registry.hpp"

#include <gtest/gtest.h>

using namespace evmesh;

TEST(MetricsRegistry, renders_counters_and_gauges_with_help_and_type) {
  metrics_registry registry{"evmesh_"};
  counter published{3};
  gauge streams{-2};
  registry.add("events_published_total", "Events made durable.", published);
  registry.add("sse_streams", "SSE streams open now.", streams);
  published.fetch_add(1, std::memory_order_relaxed);
  EXPECT_EQ(registry.render(),
            "# HELP evmesh_events_published_total Events made durable.\n"
            "# TYPE evmesh_events_published_total counter\n"
            "evmesh_events_published_total 4\n"
            "# HELP evmesh_sse_streams SSE streams open now.\n"
            "# TYPE evmesh_sse_streams gauge\n"
            "evmesh_sse_streams -2\n");
}

TEST(MetricsRegistry, escapes_label_values_and_help_text) {
  std::string out;
  render_prometheus(out, "evmesh_",
                    {.name = "bridge_state",
                     .help = "A \\ back\"slash\nand a newline.",
                     .type = metric_type::gauge_type,
                     .samples = {{.labels = {{"bridge", "a\\b\"c\nd"}, {"state", "up"}}, .value = 1}}});
  EXPECT_EQ(out,
            "# HELP evmesh_bridge_state A \\\\ back\"slash\\nand a newline.\n"
            "# TYPE evmesh_bridge_state gauge\n"
            "evmesh_bridge_state{bridge=\"a\\\\b\\\"c\\nd\",state=\"up\"} 1\n");
}

TEST(MetricsRegistry, labelled_family_keeps_series_order_and_its_bound) {
  counter_family family{{"source", "result"}, 2};
  family.series({"gh", "accepted"})->fetch_add(2);
  family.series({"gh", "error"})->fetch_add(1);
  EXPECT_EQ(family.series({"other", "accepted"}), nullptr);  // full
  family.series({"gh", "accepted"})->fetch_add(1);
  metrics_registry registry{"evmesh_"};
  registry.add("ingest_requests_total", "By source and result.", family);
  EXPECT_EQ(registry.render(),
            "# HELP evmesh_ingest_requests_total By source and result.\n"
            "# TYPE evmesh_ingest_requests_total counter\n"
            "evmesh_ingest_requests_total{source=\"gh\",result=\"accepted\"} 3\n"
            "evmesh_ingest_requests_total{source=\"gh\",result=\"error\"} 1\n");
}

TEST(MetricsRegistry, callback_families_are_read_at_scrape_time_and_scraped_ones_follow) {
  metrics_registry registry{"evmesh_"};
  int64_t open = 1;
  registry.add("http_open_connections", "Open now.", metric_type::gauge_type,
               [&] { return std::vector<metric_sample>{{.labels = {}, .value = open}}; });
  open = 5;
  auto text = registry.render({{.name = "store_up", .help = "Up.", .type = metric_type::gauge_type,
                                .samples = {{.labels = {}, .value = 1}}}});
  EXPECT_NE(text.find("\nevmesh_http_open_connections 5\n"), std::string::npos) << text;
  EXPECT_GT(text.find("evmesh_store_up 1\n"), text.find("evmesh_http_open_connections 5"));
}
