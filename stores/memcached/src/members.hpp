#pragma once
// The members of a memcached pool, each behind a breaker of its own (detail/breaker.hpp),
// shared by all client handles: after a request on a member fails because it could not be
// reached or did not answer in time, requests whose keys live there fail fast for
// `retry_after`, then one tries again. Counts how many times a member went down, so that a
// handle holding connections from before can close them. Thread-safe: the breakers lock
// themselves and the count is atomic.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <boost/container/small_vector.hpp>

#include "gencache/connection_options.hpp"
#include "gencache/detail/breaker.hpp"
#include "gencache/memcached_store.hpp"
#include "gencache/status.hpp"

namespace gencache::detail::memcached {

/// Members by index, in the URL's order (libmemcached's): the members a request goes to.
using member_set = boost::container::small_vector<std::uint32_t, 4>;
/// The breakers' passes of a request, one per member of its member_set.
using member_passes = boost::container::small_vector<breaker::pass, 4>;

class member_breakers {
 public:
  member_breakers(const memcached_url& url, const std::string& location,
                  const connection_options& connection) {
    const auto time = connection.clock ? connection.clock : steady_clock();
    for (const server_address& s : url.servers) {
      members_.push_back(std::make_unique<member>(
          url.servers.size() == 1 ? location : fmt::format("{}:{} in {}", s.host, s.port, location),
          connection.retry_after, time));
    }
  }

  [[nodiscard]] std::size_t size() const noexcept { return members_.size(); }
  /// For messages: host:port in the pool's location.
  [[nodiscard]] const std::string& name(std::uint32_t i) const { return members_[i]->name; }

  /// Admits a request on `members`, each by its breaker, into `passes`: the refusal of the
  /// first in its fail-fast period (the passes taken before it given back), else ok.
  status admit(const member_set& members, member_passes& passes) {
    for (const std::uint32_t i : members) {
      passes.push_back(members_[i]->breaker.admit());
      if (!passes.back().refusal.ok()) {
        status refusal = passes.back().refusal;
        give_back(members, passes);
        return refusal;
      }
    }
    return {};
  }
  /// A request that never reached its members gives back the probes it was admitted as.
  void give_back(const member_set& members, const member_passes& passes) {
    for (std::size_t i = 0; i < passes.size(); ++i) {
      members_[members[i]]->breaker.release(passes[i]);
    }
  }
  /// Member `i` failed a request with `why`: its breaker opens.
  void failed(std::uint32_t i, const status& why) {
    if (members_[i]->breaker.failed(why)) downs_.fetch_add(1, std::memory_order_acq_rel);
  }
  /// Member `i` answered: its breaker closes.
  void answered(std::uint32_t i) { members_[i]->breaker.answered(); }
  /// How many times a member went down (its breaker opened while closed).
  [[nodiscard]] std::uint64_t downs() const noexcept {
    return downs_.load(std::memory_order_acquire);
  }

 private:
  struct member {
    member(std::string label, std::chrono::milliseconds retry_after,
           std::shared_ptr<const ::gencache::clock> time)
        : name(std::move(label)), breaker(retry_after, std::move(time)) {}
    const std::string name;
    gencache::detail::breaker breaker;
  };
  std::vector<std::unique_ptr<member>> members_;
  std::atomic<std::uint64_t> downs_{0};
};

}  // namespace gencache::detail::memcached
