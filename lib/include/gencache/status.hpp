#pragma once
/// \file
/// Outcome of a store operation that can fail for reasons other than absence.
/// Absence is `std::optional`; failure is a `status` with a code and a message.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace gencache {

/// Why a store operation failed.
enum class errc : std::uint8_t {
  ok = 0,
  too_large,      ///< key or value exceeds what the store can hold
  type_mismatch,  ///< the stored value has another type than the one asked for
  timeout,        ///< a remote server did not answer in time
  connection,     ///< a remote server could not be reached or dropped the connection
  protocol,       ///< a remote server answered something unexpected
  serialization,  ///< bytes read back do not decode to the requested type
  busy,  ///< the memory store cannot take a value now: it is being destroyed, or removed values
         ///< wait for a read section held open (a visit callback or a copy that waits)
};

/// How many `errc` values there are (errc::ok included): the size of
/// `store_stats::errors_by_kind`. A new code goes last and moves this.
inline constexpr std::size_t errc_count = static_cast<std::size_t>(errc::busy) + 1;

[[nodiscard]] std::string_view to_string(errc code) noexcept;

/// `ok()` or an error code with a message that names the bad value. Cheap when ok.
class status {
 public:
  status() noexcept = default;
  status(errc code, std::string message) : code_(code), message_(std::move(message)) {}

  [[nodiscard]] bool ok() const noexcept { return code_ == errc::ok; }
  explicit operator bool() const noexcept { return ok(); }
  [[nodiscard]] errc code() const noexcept { return code_; }
  [[nodiscard]] const std::string& message() const noexcept { return message_; }

 private:
  errc code_ = errc::ok;
  std::string message_;
};

}  // namespace gencache
