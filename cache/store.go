package cache

import (
	"context"
	"time"
)

// Store is where the Service keeps its entries. It offers exactly the
// primitives a race-free read-through cache needs: every value key has a
// generation that invalidation bumps, and a reader's write-back is
// conditional on the generation it saw before it went upstream, so a read
// that started before an invalidation can never put the old value back, on
// this replica or another.
//
// NewRedisStore and NewMemoryStore implement it; a Store must be safe for
// concurrent use. The Service bounds every call by Options.OpTimeout.
type Store interface {
	// Get reads the value and the generation of each key, in one round
	// trip. Entries are in the order of keys.
	Get(ctx context.Context, keys []string) ([]Entry, error)
	// Set writes items in one round trip. An item is written only if its
	// key's generation (or Item.GenOf's) still equals Item.Gen, unless
	// Item.Unconditional.
	Set(ctx context.Context, items []Item) error
	// Invalidate bumps the generation of each key and deletes its value,
	// atomically per key, in one round trip. Generations outlive values.
	Invalidate(ctx context.Context, keys []string) error
	// Has reports, in one round trip, which keys hold a value, without
	// reading the values: what the mirror's worker asks of every held day
	// every round.
	Has(ctx context.Context, keys []string) ([]bool, error)
	// Bump bumps the generation of each key and leaves its value, in one
	// round trip, and returns the new generations in the order of keys.
	// The mirror re-reads a held value under the generation it bumped, so
	// the value stays served until the re-read replaces it, and a re-read
	// that started earlier can no longer write.
	Bump(ctx context.Context, keys []string) ([]int64, error)
	// Claim sets key for ttl unless it exists (SETNX) and reports whether
	// this caller set it: the webhook receiver de-duplicates delivery ids
	// with it (see DeliveryKey).
	Claim(ctx context.Context, key string, ttl time.Duration) (first bool, err error)
	// Release deletes a claimed key, so a delivery that failed to process
	// can be retried.
	Release(ctx context.Context, key string) error
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
}

// Entry is one key as Get found it.
type Entry struct {
	Value []byte
	// Found is false when the value is missing or expired.
	Found bool
	// Gen is the key's generation; 0 when it was never invalidated (or its
	// generation expired, which takes much longer than any value's TTL).
	Gen int64
	// Expires is when a found value expires; zero when it does not.
	Expires time.Time
}

// Item is one write-back.
type Item struct {
	Key   string
	Value []byte
	TTL   time.Duration
	// Gen is the generation the reader saw before going upstream.
	Gen int64
	// GenOf, when set, names the key whose generation Gen guards instead
	// of Key's own. A last-known-good copy is guarded by its value's
	// generation, so a read that started before an invalidation cannot
	// replace a newer copy with the older answer. It must share Key's hash
	// tag.
	GenOf string
	// Unconditional items (the cache's indexes) are written whatever the
	// generation.
	Unconditional bool
}

// DefaultGenTTL is how long a generation lives after its last bump: far
// longer than any value, so a generation never resets under a value or an
// in-flight read it guards.
const DefaultGenTTL = 24 * time.Hour
