// libFuzzer target: naming keys on remote servers.
// - remote_key (escaping and shortening) of arbitrary prefix, text and canonical bytes, at
//   an arbitrary length limit: it throws std::invalid_argument only for a limit too small
//   for the prefix (escaped: at most 3 bytes per byte) and the hash (41 bytes), and
//   otherwise returns a name within the limit, of printable non-space ASCII only (what
//   memcached accepts), ending in '#' and 32 hex digits; names of different canonical bytes
//   differ.
// - render_key_bytes (a key's readable text from its canonical bytes) of arbitrary bytes
//   never throws or crashes.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <FuzzedDataProvider.h>  // from LLVM (libclang-rt-19-dev)

#include <gencache/key.hpp>
#include <gencache/remote_key.hpp>

namespace {

void check_name(const std::string& name, std::size_t max_length) {
  if (name.size() > max_length || name.size() < 33) std::abort();
  for (const char c : name) {
    if (c <= ' ' || c > '~') std::abort();
  }
  if (name[name.size() - 33] != '#') std::abort();
  for (std::size_t i = name.size() - 32; i < name.size(); ++i) {
    const char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const std::size_t max_length = in.ConsumeIntegralInRange<std::size_t>(0, 600);
  const std::string prefix = in.ConsumeRandomLengthString(64);
  const std::string text = in.ConsumeRandomLengthString(1000);
  const std::string canonical = in.ConsumeRandomLengthString(1000);
  const std::string other = in.ConsumeRemainingBytesAsString();

  (void)gencache::render_key_bytes(canonical);
  (void)gencache::render_key_bytes(other);

  std::string name;
  try {
    name = gencache::remote_key(prefix, text, canonical, max_length);
  } catch (const std::invalid_argument&) {
    // Only a limit that leaves no room for the prefix and the hash may be refused.
    if (max_length >= 3 * prefix.size() + 41) std::abort();
    return 0;
  }
  if (max_length < prefix.size() + 41) std::abort();  // a name too short for its parts
  check_name(name, max_length);
  if (gencache::remote_key(prefix, text, canonical, max_length) != name) std::abort();
  if (other != canonical && gencache::remote_key(prefix, text, other, max_length) == name) {
    std::abort();  // two keys, one name
  }
  return 0;
}
