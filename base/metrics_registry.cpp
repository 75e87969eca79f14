// The metrics registry and its Prometheus text renderer (format 0.0.4).
#include "base/metrics_registry.hpp"

namespace evmesh {
namespace {

// Appends `text` with backslash and newline escaped, and the double quote
// too when `quote` (label values; HELP text keeps its quotes).
void append_escaped(std::string& out, const std::string& text, bool quote) {
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quote)
      out += "\\\"";
    else
      out.push_back(c);
  }
}

const char* type_name(metric_type type) { return type == metric_type::counter_type ? "counter" : "gauge"; }

} // namespace

counter_family::counter_family(std::vector<std::string> label_names, std::size_t max_series)
    : label_names_(std::move(label_names)), max_series_(max_series) {}

counter* counter_family::series(const std::vector<std::string>& values) {
  std::lock_guard lock{mutex_};
  if (auto it = index_.find(values); it != index_.end())
    return it->second;
  if (entries_.size() >= max_series_)
    return nullptr;
  auto& made = entries_.emplace_back();
  made.values = values;
  index_.emplace(values, &made.value);
  return &made.value;
}

bool counter_family::has(const std::vector<std::string>& values) const {
  std::lock_guard lock{mutex_};
  return index_.contains(values);
}

std::vector<metric_sample> counter_family::samples() const {
  std::lock_guard lock{mutex_};
  std::vector<metric_sample> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) {
    metric_sample s{.labels = {}, .value = static_cast<int64_t>(e.value.load(std::memory_order_relaxed))};
    for (std::size_t i = 0; i < label_names_.size() && i < e.values.size(); ++i)
      s.labels.emplace_back(label_names_[i], e.values[i]);
    out.push_back(std::move(s));
  }
  return out;
}

void metrics_registry::add(std::string name, std::string help, const counter& value) {
  add(std::move(name), std::move(help), metric_type::counter_type, [&value] {
    return std::vector<metric_sample>{{.labels = {}, .value = static_cast<int64_t>(value.load(std::memory_order_relaxed))}};
  });
}

void metrics_registry::add(std::string name, std::string help, const gauge& value) {
  add(std::move(name), std::move(help), metric_type::gauge_type, [&value] {
    return std::vector<metric_sample>{{.labels = {}, .value = value.load(std::memory_order_relaxed)}};
  });
}

void metrics_registry::add(std::string name, std::string help, const counter_family& family) {
  add(std::move(name), std::move(help), metric_type::counter_type, [&family] { return family.samples(); });
}

void metrics_registry::add(std::string name, std::string help, metric_type type,
                           std::function<std::vector<metric_sample>()> collect) {
  entries_.push_back({std::move(name), std::move(help), type, std::move(collect)});
}

std::string metrics_registry::render(const std::vector<metric_family>& scraped) const {
  std::string out;
  for (const auto& e : entries_)
    render_prometheus(out, prefix_, {.name = e.name, .help = e.help, .type = e.type, .samples = e.collect()});
  for (const auto& family : scraped)
    render_prometheus(out, prefix_, family);
  return out;
}

void render_prometheus(std::string& out, const std::string& prefix, const metric_family& family) {
  out += "# HELP " + prefix + family.name + " ";
  append_escaped(out, family.help, false);
  out += "\n# TYPE " + prefix + family.name + " " + type_name(family.type) + "\n";
  for (const auto& s : family.samples) {
    out += prefix + family.name;
    if (!s.labels.empty()) {
      out.push_back('{');
      for (std::size_t i = 0; i < s.labels.size(); ++i) {
        out += (i ? "," : "") + s.labels[i].first + "=\"";
        append_escaped(out, s.labels[i].second, true);
        out.push_back('"');
      }
      out.push_back('}');
    }
    out += " " + std::to_string(s.value) + "\n";
  }
}

} // namespace evmesh
