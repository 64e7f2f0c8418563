package fleet

// This file measures what the fleet's protections cost per call: one Allow
// per operation (the client's rate, one rate) and one per upstream call
// (the subscription key's budget, a minute and a week rate), in memory and
// in Redis; and a Load of the fleet's session token. bench/protection.md
// puts the numbers in perspective; bench/run-protection.sh reproduces them.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// plenty is a rate shaped like the gateway's (so many events per period,
// with a burst) that no benchmark run can spend: a billion events, each
// period, and a burst as large. Allow then always takes the allowed path,
// which writes every rate's new arrival time.
func plenty(per time.Duration) Rate { return Rate{Events: 1 << 30, Per: per, Burst: 1 << 30} }

// BenchmarkLimiterAllow spends one event per op. one-rate is what every
// GraphQL operation pays (the client's rate per minute); two-rates is what
// every upstream call pays (the key's budget per minute and per week, spent
// together). refused is a key whose minute rate is spent, so every op is
// refused: what a client over its limit costs the gateway. The redis cases
// run the limiter's Lua script on the Redis of REDIS_URL, and fail if any
// call fell back to memory.
func BenchmarkLimiterAllow(b *testing.B) {
	oneRate := []Rate{plenty(time.Minute)}
	twoRates := []Rate{plenty(time.Minute), plenty(7 * 24 * time.Hour)}
	// One event an hour: the first Allow spends it, every later one is
	// refused by the minute-shaped rate before the week's is written.
	spent := []Rate{{Events: 1, Per: time.Hour}, plenty(7 * 24 * time.Hour)}

	b.Run("memory", func(b *testing.B) {
		b.Run("one-rate", func(b *testing.B) { benchAllow(b, NewMemoryLimiter(nil), true, oneRate) })
		b.Run("two-rates", func(b *testing.B) { benchAllow(b, NewMemoryLimiter(nil), true, twoRates) })
		b.Run("refused", func(b *testing.B) { benchAllow(b, NewMemoryLimiter(nil), false, spent) })
	})

	b.Run("redis", func(b *testing.B) {
		rdb := benchRedis(b)
		var logs logBuffer
		newLimiter := func(b *testing.B) *RedisLimiter {
			// The production timeout is 100ms; a shared machine can stall
			// a round trip that long, and a fallback would measure memory.
			return NewRedisLimiter(rdb, benchPrefix(b, rdb), RedisLimiterOptions{OpTimeout: time.Second, Logger: logs.logger()})
		}
		b.Cleanup(func() {
			if n := logs.count("cannot reach Redis"); n > 0 {
				b.Errorf("the limiter fell back to memory %d times; the redis numbers are not Redis's alone", n)
			}
		})
		b.Run("one-rate", func(b *testing.B) { benchAllow(b, newLimiter(b), true, oneRate) })
		b.Run("two-rates", func(b *testing.B) { benchAllow(b, newLimiter(b), true, twoRates) })
		b.Run("refused", func(b *testing.B) { benchAllow(b, newLimiter(b), false, spent) })

		// Many requests at once, each spending on its own key, as a
		// busy gateway does: 8 goroutines per core share the client's
		// connection pool. ns/op is wall time per op, the inverse of the
		// throughput, not one call's latency.
		l := newLimiter(b)
		keys := make([]string, 1024)
		for i := range keys {
			keys[i] = fmt.Sprintf("upstream:key-%04d", i)
		}
		var next atomic.Uint64
		b.Run("two-rates-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					key := keys[next.Add(1)%uint64(len(keys))]
					if d, err := l.Allow(ctx, key, 0, twoRates...); err != nil || !d.Allowed {
						b.Errorf("Allow: %+v, %v", d, err)
						return
					}
				}
			})
		})
	})
}

// benchAllow spends on one key of l with rates, once before timing (which
// loads the script into Redis, opens a connection and, for a refusal,
// spends the bucket) and then once per op, each expected to be allowed or
// refused as want says.
func benchAllow(b *testing.B, l Limiter, want bool, rates []Rate) {
	ctx := context.Background()
	const key = "upstream:bench"
	if _, err := l.Allow(ctx, key, 0, rates...); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		d, err := l.Allow(ctx, key, 0, rates...)
		if err != nil || d.Allowed != want {
			b.Fatalf("Allow: %+v, %v; want allowed %v", d, err, want)
		}
	}
}

// BenchmarkTokenLeaseLoad reads the fleet's session token, as a replica
// does when its own copy is due for refresh: Load is one GET and an
// AES-GCM open of a token the size of an OAuth access token. decrypt is the
// open alone, on the same stored bytes, to split the cost between Redis and
// the cipher.
func BenchmarkTokenLeaseLoad(b *testing.B) {
	rdb := benchRedis(b)
	name := benchPrefix(b, rdb)
	l := NewTokenLease(rdb, name, testSecret, TokenLeaseOptions{OpTimeout: time.Second})
	ctx := context.Background()
	token := "eyJ" + strings.Repeat("x", 1200) // a JWT's worth of bytes
	if err := l.Store(ctx, token, time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}

	b.Run("redis", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, _, err := l.Load(ctx)
			if err != nil || v != token {
				b.Fatalf("Load: %d bytes, %v; want the stored token", len(v), err)
			}
		}
	})
	b.Run("decrypt", func(b *testing.B) {
		raw, err := rdb.Get(ctx, l.valueKey).Bytes()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if s, ok := l.open(raw); !ok || s.V != token {
				b.Fatal("the stored token does not open")
			}
		}
	})
}

// benchRedis is a client of the Redis of REDIS_URL, on fleet's test
// database; the benchmark is skipped without REDIS_URL.
func benchRedis(b *testing.B) *redis.Client {
	b.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		b.Skip("REDIS_URL is not set")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	opt.DB = testDB
	rdb := redis.NewClient(opt)
	b.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
	return rdb
}

// benchPrefix is a limiter prefix or lease name of this benchmark alone;
// every Redis key containing it is deleted when the benchmark ends.
func benchPrefix(b *testing.B, rdb *redis.Client) string {
	b.Helper()
	r := make([]byte, 6)
	_, _ = rand.Read(r)
	p := "fleetbench-" + hex.EncodeToString(r)
	b.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, "*"+p+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return p
}
