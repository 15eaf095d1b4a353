#pragma once
// A temporary directory of the test's own (server configs, sockets, password files),
// removed with everything in it.

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace test {

struct scratch_dir {
  scratch_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "gencache-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("test: mkdtemp failed");
    path = pattern;
  }
  ~scratch_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  std::filesystem::path path;
};

}  // namespace test
