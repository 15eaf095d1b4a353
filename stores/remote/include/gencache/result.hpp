#pragma once
/// \file
/// What remote operations return: a value or the `status` of why there is none, and the
/// exception a remote store throws when the caller must hear of a failure (an invalidation
/// the server did not confirm). Shared by the remote store, its backends and their
/// connection pools.

#include <stdexcept>
#include <utility>

#include <boost/outcome/result.hpp>

#include "gencache/status.hpp"

namespace gencache {

/// A value or the `status` of why there is none (Boost.Outcome; `r.value()` throws
/// `boost::outcome_v2::bad_result_access_with<status>` when there is none).
template <class T>
using result = boost::outcome_v2::checked<T, status>;

/// A remote store could not do what was asked, in a way the caller must hear about (only
/// invalidations throw it; see remote_store.hpp).
class store_error : public std::runtime_error {
 public:
  explicit store_error(status s) : std::runtime_error(s.message()), status_(std::move(s)) {}
  [[nodiscard]] const status& error() const noexcept { return status_; }

 private:
  status status_;
};

}  // namespace gencache
