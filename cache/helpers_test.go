package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/engagegql/gateway/workplace"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// redisOptions returns the options of the Redis the test script started
// (REDIS_URL). Without REDIS_URL the test fails when CI or REQUIRE_REDIS is
// set, and is skipped otherwise.
//
// Cache tests always use DB 1, whatever database REDIS_URL names, so they
// never share a database with another package's tests; within DB 1 every
// test also has its own key namespace, deleted when it ends, so the tests
// never FLUSHDB.
func redisOptions(t *testing.T) *redis.Options {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		if os.Getenv("CI") != "" || os.Getenv("REQUIRE_REDIS") != "" {
			t.Fatal("REDIS_URL is not set, and CI or REQUIRE_REDIS requires Redis")
		}
		t.Skip("REDIS_URL is not set; skipping a test that needs Redis")
	}
	opt, err := redis.ParseURL(url)
	require.NoError(t, err)
	opt.DB = 1
	return opt
}

// redisClient opens a client on the test Redis and closes it at the end.
func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(redisOptions(t))
	t.Cleanup(func() { _ = rdb.Close() })
	require.NoError(t, rdb.Ping(context.Background()).Err())
	return rdb
}

// namespace returns a key namespace of this test alone, whose keys are
// deleted when the test ends.
func namespace(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	ns := "test:" + strings.ReplaceAll(t.Name(), "/", ".") + ":" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, ns+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return ns
}

// storeCase opens one kind of Store for a test.
type storeCase struct {
	name string
	open func(t *testing.T) Store
}

// stores are the stores every contract test runs against.
func stores() []storeCase {
	return []storeCase{
		{name: "memory", open: func(*testing.T) Store { return NewMemoryStore() }},
		{name: "redis", open: func(t *testing.T) Store {
			rdb := redisClient(t)
			return NewRedisStore(rdb, StoreOptions{Namespace: namespace(t, rdb)})
		}},
	}
}

// forEachStore runs fn as a subtest against every store.
func forEachStore(t *testing.T, fn func(t *testing.T, store Store)) {
	t.Helper()
	for _, sc := range stores() {
		t.Run(sc.name, func(t *testing.T) { fn(t, sc.open(t)) })
	}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newService wraps inner with a generous OpTimeout: these tests are about
// caching, and fifty connections dialling at once under -race may take
// longer than the production bound (the fail-open test keeps the default).
func newService(inner workplace.Service, store Store) *Service {
	return New(inner, store, Options{Logger: quiet(), OpTimeout: 5 * time.Second})
}

// day0 is the first day of the tests' windows.
var day0 = workplace.Date{Year: 2026, Month: time.November, Day: 27}

func sydney(t *testing.T) *time.Location {
	t.Helper()
	l, err := time.LoadLocation("Australia/Sydney")
	require.NoError(t, err)
	return l
}

// dailyBookings answers Bookings with one booking per room per day, 10:00
// to 11:00 in loc, with an id made of the room and the day.
func dailyBookings(loc *time.Location, roomLoc func(workplace.RoomID) workplace.LocationID) func(context.Context, workplace.RoomID, workplace.Date, workplace.Date) ([]workplace.Booking, error) {
	return func(_ context.Context, r workplace.RoomID, from, to workplace.Date) ([]workplace.Booking, error) {
		var out []workplace.Booking
		for d := from; !d.After(to); d = d.AddDays(1) {
			start := d.In(loc).Add(10 * time.Hour)
			out = append(out, workplace.Booking{ID: dailyID(r, d), RoomID: r, LocationID: roomLoc(r),
				Title: "daily", Start: start, End: start.Add(time.Hour)})
		}
		return out, nil
	}
}

func dailyID(r workplace.RoomID, d workplace.Date) workplace.BookingID {
	return workplace.BookingID(int64(r)*100_000_000 + int64(d.Year*10000+int(d.Month)*100+d.Day))
}

// costs returns how many inner calls fn made.
func costs(inner *fakeInner, fn func()) int {
	before := inner.total()
	fn()
	return inner.total() - before
}
