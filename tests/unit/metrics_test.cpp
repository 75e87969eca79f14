// The metrics registry's Prometheus text: families in registration order,
// labelled and callback families, and the escaping of label values and HELP;
// and what the ingest and cluster probes register in it.
#include "base/metrics_registry.hpp"
#include "cluster/cluster_probe.hpp"
#include "http/http_probe.hpp"

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

TEST(MetricsRegistry, ingest_probe_shows_every_result_of_a_source_once_it_is_counted) {
  ingest_probe probe;
  metrics_registry registry{"evmesh_"};
  probe.register_in(registry);
  probe.count("gh", ingest_result::duplicate);
  probe.count("gh", ingest_result::duplicate);
  probe.unknown_source.fetch_add(1);
  auto text = registry.render();
  EXPECT_NE(text.find("\nevmesh_ingest_unknown_source_total 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nevmesh_ingest_requests_total{source=\"gh\",result=\"duplicate\"} 2\n"), std::string::npos)
    << text;
  for (const char* result : {"accepted", "rejected_signature", "rejected_stale", "rejected_invalid", "error"})
    EXPECT_NE(text.find(std::string("\nevmesh_ingest_requests_total{source=\"gh\",result=\"") + result + "\"} 0\n"),
              std::string::npos)
      << result;
}

TEST(MetricsRegistry, cluster_member_labels_are_escaped_and_shown_only_when_clustered) {
  cluster::cluster_probe probe;
  probe.members.store(std::make_shared<const std::vector<metric_sample>>(std::vector<metric_sample>{
    {.labels = {{"name", "a\"b"}, {"addr", "tcp://h:1"}, {"state", "alive"}}, .value = 1}}));
  metrics_registry alone{"evmesh_"}, clustered{"evmesh_"};
  probe.register_in(alone, false);
  probe.register_in(clustered, true);
  EXPECT_EQ(alone.render().find("cluster_member_state"), std::string::npos);
  EXPECT_NE(clustered.render().find(
              "\nevmesh_cluster_member_state{name=\"a\\\"b\",addr=\"tcp://h:1\",state=\"alive\"} 1\n"),
            std::string::npos)
    << clustered.render();
}
