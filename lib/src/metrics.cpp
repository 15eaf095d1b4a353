// The metrics registry and the Prometheus text format (metrics.hpp).
#include "gencache/metrics.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace gencache {

struct metrics_registry::state {
  struct source {
    std::uint64_t id;
    std::string name;
    source_reader read;
  };
  // Recursive: a source's stats() may collect, or remove a registration, on this thread.
  mutable std::recursive_mutex mutex;
  std::vector<source> sources;
  bool destroyed = false;  // by ~metrics_registry: handles collect nothing
  std::uint64_t next_id = 1;
};

namespace {

// errc's names as label values (to_string(errc) has spaces: "too large").
constexpr std::array<std::string_view, errc_count> error_kinds = {
    "ok",         "too_large", "type_mismatch", "timeout",
    "connection", "protocol",  "serialization", "busy"};

static_assert(!error_kinds.back().empty(), "every errc has a label value");

// Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF): Prometheus
// refuses a whole scrape over one bad label value.
bool is_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xbf;  // the bounds of the second byte
    if (lead < 0x80) {
      ++i;
      continue;
    }
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead == 0xe0) low = 0xa0;
      if (lead == 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead == 0xf0) low = 0x90;
      if (lead == 0xf4) high = 0x8f;
    } else {
      return false;
    }
    if (text.size() - i < length) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      if (c < (k == 1 ? low : 0x80) || c > (k == 1 ? high : 0xbf)) return false;
    }
    i += length;
  }
  return true;
}

void check_name(const std::string& name) {
  if (name.empty()) throw std::invalid_argument("gencache: a metrics source needs a name");
  if (!is_utf8(name)) {
    throw std::invalid_argument("gencache: a metrics source's name must be UTF-8");
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    // C0 and DEL, and C1 (U+0080 to U+009F: 0xC2 then 0x80 to 0x9F).
    const bool c1 =
        c == 0xc2 && i + 1 < name.size() && static_cast<unsigned char>(name[i + 1]) <= 0x9f;
    if (c < 0x20 || c == 0x7f || c1) {
      throw std::invalid_argument(
          "gencache: a metrics source's name must not hold control characters");
    }
  }
}

// The families every collection returns, in this order (metrics.hpp's table).
enum family_index : std::size_t {
  gets,
  puts,
  evictions,
  size,
  size_bytes,
  invalidations,
  errors,
  loads,
  load_duration,
  single_flight_joins,
  family_count
};

struct family_spec {
  std::string_view name;
  std::string_view help;
  metric_type type;
};

// By family_index.
constexpr std::array<family_spec, family_count> family_specs = {{
    {"cache_gets_total", "Cache lookups, by result (hit or miss).", metric_type::counter},
    {"cache_puts_total", "Values stored.", metric_type::counter},
    {"cache_evictions_total",
     "Entries dropped, by cause: size (the entry bound), bytes (the bytes bound), expiry "
     "(their TTL had passed).",
     metric_type::counter},
    {"cache_size", "Entries held (0 for a remote store).", metric_type::gauge},
    {"gencache_size_bytes",
     "Accounted bytes held: keys, values and overhead (0 for a remote store).", metric_type::gauge},
    {"gencache_invalidations_total", "Generation bumps.", metric_type::counter},
    {"gencache_errors_total",
     "Errors, by kind: a store's by error code, a memoized function's results the store "
     "refused (store_refused).",
     metric_type::counter},
    {"cache_loads_total",
     "Computations of values (misses and refresh calls), by result (success or failure: it "
     "threw).",
     metric_type::counter},
    {"cache_load_duration_seconds",
     "How long successful computations of values (misses and refresh calls) took.",
     metric_type::histogram},
    {"gencache_single_flight_joins_total",
     "Misses that waited for another thread's computation of the same value instead of "
     "computing it.",
     metric_type::counter},
}};

std::vector<metric_family> empty_families() {
  std::vector<metric_family> families;
  families.reserve(family_count);
  for (const family_spec& f : family_specs) {
    families.push_back({std::string(f.name), std::string(f.help), f.type, {}});
  }
  return families;
}

metric_point point(const std::string& cache, double value) { return {{{"cache", cache}}, value}; }
metric_point point(const std::string& cache, std::string_view label, std::string_view label_value,
                   double value) {
  return {{{"cache", cache}, {std::string(label), std::string(label_value)}}, value};
}
double as_double(std::uint64_t v) { return static_cast<double>(v); }

void add_store(std::vector<metric_family>& f, const std::string& cache, const store_stats& s) {
  f[gets].points.push_back(point(cache, "result", "hit", as_double(s.hits)));
  f[gets].points.push_back(point(cache, "result", "miss", as_double(s.misses)));
  f[puts].points.push_back(point(cache, as_double(s.sets)));
  const std::uint64_t for_bytes = s.evictions_for_bytes <= s.evictions ? s.evictions_for_bytes : 0;
  f[evictions].points.push_back(point(cache, "cause", "size", as_double(s.evictions - for_bytes)));
  f[evictions].points.push_back(point(cache, "cause", "bytes", as_double(for_bytes)));
  f[evictions].points.push_back(point(cache, "cause", "expiry", as_double(s.expirations)));
  f[size].points.push_back(point(cache, as_double(s.entries)));
  f[size_bytes].points.push_back(point(cache, as_double(s.bytes)));
  f[invalidations].points.push_back(point(cache, as_double(s.invalidations)));
  for (std::size_t kind = 1; kind < errc_count; ++kind) {
    f[errors].points.push_back(
        point(cache, "kind", error_kinds[kind], as_double(s.errors_by_kind[kind])));
  }
}

void add_memoized(std::vector<metric_family>& f, const std::string& cache, const memoize_stats& s) {
  f[gets].points.push_back(point(cache, "result", "hit", as_double(s.hits)));
  f[gets].points.push_back(point(cache, "result", "miss", as_double(s.misses)));
  f[errors].points.push_back(point(cache, "kind", "store_refused", as_double(s.errors)));
  const duration_histogram& h = s.load_durations;
  f[loads].points.push_back(point(cache, "result", "success", as_double(h.count())));
  f[loads].points.push_back(point(cache, "result", "failure", as_double(s.exceptions)));
  metric_point histogram = point(cache, 0);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < duration_histogram::bucket_count; ++i) {
    cumulative += h.counts[i];
    const double bound =
        i + 1 == duration_histogram::bucket_count
            ? std::numeric_limits<double>::infinity()
            : static_cast<double>(duration_histogram::upper_bound(i).count()) / 1e9;
    histogram.buckets.emplace_back(bound, cumulative);
  }
  histogram.count = cumulative;
  histogram.sum = static_cast<double>(h.sum.count()) / 1e9;
  f[load_duration].points.push_back(std::move(histogram));
  f[single_flight_joins].points.push_back(point(cache, as_double(s.waits)));
}

// Label values escape backslash, quote and newline; help texts backslash and newline.
void append_escaped(std::string& out, std::string_view value, bool quote = true) {
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// Prometheus' text format: integers exactly, others in the shortest form that reads back.
void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buffer[40];
    const bool integral =
        v >= 0 && v < 9007199254740992.0 && v == static_cast<double>(static_cast<std::uint64_t>(v));
    const auto written =
        integral ? fmt::format_to_n(buffer, sizeof buffer, "{}", static_cast<std::uint64_t>(v))
                 : fmt::format_to_n(buffer, sizeof buffer, "{}", v);
    out.append(buffer, std::min(written.size, sizeof buffer));
  }
}

void append_count(std::string& out, std::uint64_t n) {
  char buffer[24];
  const auto written = fmt::format_to_n(buffer, sizeof buffer, "{}", n);
  out.append(buffer, std::min(written.size, sizeof buffer));
}

// `name` `suffix` {labels[, le="bound"]} and the space before the value.
void append_series_head(std::string& out, std::string_view name, std::string_view suffix,
                        const std::vector<metric_label>& labels, const double* le) {
  out += name;
  out += suffix;
  if (!labels.empty() || le != nullptr) {
    out += '{';
    bool first = true;
    for (const metric_label& l : labels) {
      if (!first) out += ',';
      first = false;
      out += l.name;
      out += "=\"";
      append_escaped(out, l.value);
      out += '"';
    }
    if (le != nullptr) {
      if (!first) out += ',';
      out += "le=\"";
      append_number(out, *le);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
}

}  // namespace

std::string to_prometheus_text(std::span<const metric_family> families) {
  std::string out;
  for (const metric_family& f : families) {
    if (f.points.empty()) continue;
    out += "# HELP ";
    out += f.name;
    out += ' ';
    append_escaped(out, f.help, false);
    out += "\n# TYPE ";
    out += f.name;
    out += f.type == metric_type::counter ? " counter\n"
           : f.type == metric_type::gauge ? " gauge\n"
                                          : " histogram\n";
    for (const metric_point& p : f.points) {
      if (f.type != metric_type::histogram) {
        append_series_head(out, f.name, "", p.labels, nullptr);
        append_number(out, p.value);
        out += '\n';
        continue;
      }
      for (const auto& [bound, cumulative] : p.buckets) {
        append_series_head(out, f.name, "_bucket", p.labels, &bound);
        append_count(out, cumulative);
        out += '\n';
      }
      append_series_head(out, f.name, "_sum", p.labels, nullptr);
      append_number(out, p.sum);
      out += '\n';
      append_series_head(out, f.name, "_count", p.labels, nullptr);
      append_count(out, p.count);
      out += '\n';
    }
  }
  return out;
}

metrics_registry::registration::registration(registration&& other) noexcept
    : registry_(std::move(other.registry_)), id_(std::exchange(other.id_, 0)) {}

metrics_registry::registration& metrics_registry::registration::operator=(
    registration&& other) noexcept {
  if (this != &other) {
    reset();
    registry_ = std::move(other.registry_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void metrics_registry::registration::reset() noexcept {
  const std::uint64_t id = std::exchange(id_, 0);
  if (id == 0) return;
  if (const std::shared_ptr<state> registry = registry_.lock()) {
    // Waits for a collection in progress on another thread: after this, none reads the source.
    const std::lock_guard lock(registry->mutex);
    std::erase_if(registry->sources, [id](const state::source& s) { return s.id == id; });
  }
  registry_.reset();
}

metrics_registry::metrics_registry() : state_(std::make_shared<state>()) {}
metrics_registry::~metrics_registry() {
  const std::lock_guard lock(state_->mutex);  // waits for a handle's collection in progress
  state_->destroyed = true;
  state_->sources.clear();
}

metrics_registry::registration metrics_registry::add_source(std::string name, source_reader read) {
  check_name(name);
  const std::lock_guard lock(state_->mutex);
  for (const state::source& s : state_->sources) {
    if (s.name == name) {
      throw std::invalid_argument("gencache: a metrics source named '" + name +
                                  "' is already registered");
    }
  }
  const std::uint64_t id = state_->next_id++;  // ascending: sources stay sorted by id
  state_->sources.push_back({id, std::move(name), std::move(read)});
  return {state_, id};
}

std::vector<metric_family> metrics_registry::collect() const { return share().collect(); }

std::vector<metric_family> metrics_registry::handle::collect() const {
  const std::shared_ptr<state> registry = registry_.lock();
  if (!registry) return {};
  std::vector<metric_family> families = empty_families();
  const std::lock_guard lock(registry->mutex);
  if (registry->destroyed) return {};
  // By id, not by position: a source's stats() may add or remove sources (the lock is
  // recursive), which moves the vector. A source removed meanwhile is not read; one added
  // meanwhile is read too.
  std::uint64_t last = 0;
  for (;;) {
    const auto next =
        std::upper_bound(registry->sources.begin(), registry->sources.end(), last,
                         [](std::uint64_t id, const state::source& s) { return id < s.id; });
    if (next == registry->sources.end()) break;
    last = next->id;
    const std::string name = next->name;
    const source_reader read = next->read;  // a copy: the vector may move while it runs
    // A source whose stats() throws (an empty memoized_function) is left out, whole.
    if (const auto* store = std::get_if<std::function<store_stats()>>(&read)) {
      std::optional<store_stats> snapshot;
      try {
        snapshot = (*store)();
      } catch (...) {  // NOLINT(bugprone-empty-catch): left out of this collection
      }
      if (snapshot) add_store(families, name, *snapshot);
    } else {
      std::optional<memoize_stats> snapshot;
      try {
        snapshot = std::get<std::function<memoize_stats()>>(read)();
      } catch (...) {  // NOLINT(bugprone-empty-catch): left out of this collection
      }
      if (snapshot) add_memoized(families, name, *snapshot);
    }
  }
  return families;
}

std::string metrics_registry::to_prometheus_text() const {
  const std::vector<metric_family> families = collect();
  return gencache::to_prometheus_text(families);
}

std::size_t metrics_registry::size() const {
  const std::lock_guard lock(state_->mutex);
  return state_->sources.size();
}

}  // namespace gencache
