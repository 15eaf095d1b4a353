// The names of the error codes (status.hpp).
#include "gencache/status.hpp"

namespace gencache {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::ok:
      return "ok";
    case errc::too_large:
      return "too large";
    case errc::type_mismatch:
      return "type mismatch";
    case errc::timeout:
      return "timeout";
    case errc::connection:
      return "connection";
    case errc::protocol:
      return "protocol";
    case errc::serialization:
      return "serialization";
    case errc::busy:
      return "busy";
  }
  return "unknown";
}

}  // namespace gencache
