// Replays a key stream (one key per line, as written by `gencache-bench simulate
// --write-trace`) against Caffeine bounded to CAPACITY entries and prints its hit ratio, so
// that the eviction-policy table compares gencache's S3-FIFO with Caffeine on the very same
// requests. A miss inserts its key; every key weighs 1, as in `simulate`. Maintenance runs
// on the calling thread so that no request races an eviction.
//
//   java -cp /usr/share/java/caffeine.jar benchmarks/peers/CaffeineReplay.java TRACE CAPACITY
//
// Debian 12: apt-get install openjdk-17-jdk-headless libcaffeine-java (Caffeine 2.6.2).
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.io.BufferedReader;
import java.io.FileReader;
import java.io.IOException;

public final class CaffeineReplay {
  public static void main(String[] args) throws IOException {
    if (args.length != 2) {
      System.err.println("usage: CaffeineReplay TRACE CAPACITY");
      System.exit(2);
    }
    final long capacity = Long.parseLong(args[1]);
    final Cache<Long, Boolean> cache =
        Caffeine.newBuilder().maximumSize(capacity).executor(Runnable::run).build();
    long requests = 0;
    long hits = 0;
    try (BufferedReader in = new BufferedReader(new FileReader(args[0]), 1 << 20)) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        if (line.isEmpty()) continue;
        final Long key = Long.valueOf(line);
        ++requests;
        if (cache.getIfPresent(key) != null) {
          ++hits;
        } else {
          cache.put(key, Boolean.TRUE);
        }
      }
    }
    System.out.printf(java.util.Locale.ROOT, "| caffeine | %.4f |%n", (double) hits / requests);
  }
}
