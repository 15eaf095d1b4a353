// The Caffeine side of `gencache-bench throughput` (issue 27's side-by-side): replays a key
// stream (one key per line, written by `gencache-bench throughput --write-trace`) through a
// Caffeine cache that holds every key, and prints calls per second, in the same table rows
// as gencache-bench. Each call is getIfPresent, and a miss puts; keys are boxed once, before
// timing (the draws are precomputed, as gencache's are). The batch case calls getAll over 16
// consecutive keys of the stream. One untimed pass first (it fills the cache, and the JIT
// compiles the loop), then WARMUP seconds more untimed, then SECONDS timed.
//
//   java -cp /usr/share/java/caffeine.jar benchmarks/peers/CaffeineThroughput.java \
//       TRACE [THREADS=1[,2...]] [SECONDS=2]
//
// Debian 12: apt-get install openjdk-17-jdk-headless libcaffeine-java (Caffeine 2.6.2).
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.LoadingCache;
import java.io.BufferedReader;
import java.io.FileReader;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;

public final class CaffeineThroughput {
  static final int BATCH = 16;
  static long sink;  // keeps the JIT from dropping what a call returns (races are harmless)

  static long value(int key) {
    return (key & 0xffffffffL) * 2654435761L;
  }

  static double measure(int length, int threads, double seconds, IntConsumer call, int step)
      throws InterruptedException {
    for (int i = 0; i + step <= length; i += step) call.accept(i);  // fill, and warm the JIT
    double rate = 0;
    for (int round = 0; round < 2; ++round) {  // round 0: one more second of warm-up
      final AtomicBoolean stop = new AtomicBoolean(false);
      final AtomicLong calls = new AtomicLong();
      final List<Thread> workers = new ArrayList<>();
      final long started = System.nanoTime();
      for (int t = 0; t < threads; ++t) {
        final int first = (length / threads * t) / step * step;
        final Thread w = new Thread(() -> {
          int i = first;
          long done = 0;
          while (!stop.get()) {
            for (int n = 0; n < 4096; n += step) {
              call.accept(i);
              i += step;
              if (i + step > length) i = 0;
            }
            done += 4096;
          }
          calls.addAndGet(done);
        });
        workers.add(w);
        w.start();
      }
      Thread.sleep((long) ((round == 0 ? 1.0 : seconds) * 1000));
      stop.set(true);
      for (Thread w : workers) w.join();
      rate = calls.get() / ((System.nanoTime() - started) / 1e9);
    }
    return rate;
  }

  public static void main(String[] args) throws IOException, InterruptedException {
    if (args.length < 1 || args.length > 3) {
      System.err.println("usage: CaffeineThroughput TRACE [THREADS=1[,2...]] [SECONDS=2]");
      System.exit(2);
    }
    final int[] threadCounts = Arrays.stream((args.length > 1 ? args[1] : "1").split(","))
        .mapToInt(Integer::parseInt).toArray();
    final double seconds = args.length > 2 ? Double.parseDouble(args[2]) : 2.0;
    final List<Integer> read = new ArrayList<>();
    try (BufferedReader in = new BufferedReader(new FileReader(args[0]), 1 << 20)) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        if (!line.isEmpty()) read.add(Integer.valueOf(line));
      }
    }
    final Integer[] stream = read.toArray(new Integer[0]);
    int distinct = 0;
    for (Integer k : stream) distinct = Math.max(distinct, k + 1);
    // Boxed once, so that a call allocates nothing for its key (Integer.valueOf caches only
    // -128..127).
    final Integer[] boxes = new Integer[distinct];
    for (int k = 0; k < distinct; ++k) boxes[k] = k;
    for (int i = 0; i < stream.length; ++i) stream[i] = boxes[stream[i]];
    final List<List<Integer>> batches = new ArrayList<>();
    for (int i = 0; i + BATCH <= stream.length; i += BATCH) {
      batches.add(Arrays.asList(Arrays.copyOfRange(stream, i, i + BATCH)));
    }
    System.out.printf("stream: %d requests over %d keys, all cached, %s s per case%n",
        stream.length, distinct, args.length > 2 ? args[2] : "2");
    System.out.println("| case | threads | keys/s | ns/key |");
    System.out.println("|---|---:|---:|---:|");
    for (int threads : threadCounts) {
      // A loading cache, for getAll (Caffeine 2.6's plain Cache has no bulk get); the single
      // calls still use getIfPresent and put, as a cache-aside caller does.
      final LoadingCache<Integer, Long> cache = Caffeine.newBuilder()
          .maximumSize(4L * distinct).executor(Runnable::run).build(k -> value(k));
      final double single = measure(stream.length, threads, seconds, i -> {
        final Integer k = stream[i];
        final Long got = cache.getIfPresent(k);
        if (got == null) {
          cache.put(k, value(k));
        } else {
          sink += got;
        }
      }, 1);
      print("Caffeine getIfPresent, put on a miss", threads, single);
      final double batch = measure(stream.length, threads, seconds, i -> {
        final Map<Integer, Long> got = cache.getAll(batches.get(i / BATCH));
        sink += got.size();  // a batch may hold a key twice: Zipf draws repeat
      }, BATCH);
      print("Caffeine getAll, batches of 16", threads, batch);
    }
  }

  static void print(String name, int threads, double callsPerSecond) {
    System.out.printf(java.util.Locale.ROOT, "| %s | %d | %.3gM | %.1f |%n", name, threads,
        callsPerSecond / 1e6,
        1e9 * threads / callsPerSecond);
  }
}
