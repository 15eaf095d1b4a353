// Benchmark entry point. glibc takes a cheaper path for mutexes and atomics' callers while a
// process has a single thread, which under-reports lock costs about 3x; a parked second
// thread makes every figure the multi-threaded one a server would see.
#include <future>
#include <thread>

#include <benchmark/benchmark.h>

int main(int argc, char** argv) {
  std::promise<void> done;
  std::thread parked([f = done.get_future()]() mutable { f.wait(); });
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  done.set_value();
  parked.join();
  return 0;
}
