package cache

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStoreContract(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		k1, k2 := roomDayKey(1, day0), roomDayKey(2, day0)

		es, err := st.Get(ctx, []string{k1, k2})
		require.NoError(t, err)
		assert.Equal(t, []Entry{{}, {}}, es, "missing keys are not found, at generation 0")

		require.NoError(t, st.Set(ctx, []Item{{Key: k1, Value: []byte("a"), TTL: time.Minute, Gen: 0}}))
		es, err = st.Get(ctx, []string{k1, k2})
		require.NoError(t, err)
		assert.Equal(t, Entry{Value: []byte("a"), Found: true}, expiring(t, es[0], time.Minute))
		assert.False(t, es[1].Found)

		require.NoError(t, st.Invalidate(ctx, []string{k1}))
		es, err = st.Get(ctx, []string{k1})
		require.NoError(t, err)
		assert.Equal(t, Entry{Gen: 1}, es[0], "invalidation deletes the value and bumps the generation")

		require.NoError(t, st.Set(ctx, []Item{{Key: k1, Value: []byte("stale"), TTL: time.Minute, Gen: 0}}))
		es, err = st.Get(ctx, []string{k1})
		require.NoError(t, err)
		assert.False(t, es[0].Found, "a write-back with an old generation is refused")

		require.NoError(t, st.Set(ctx, []Item{{Key: k1, Value: []byte("fresh"), TTL: time.Minute, Gen: 1}}))
		es, err = st.Get(ctx, []string{k1})
		require.NoError(t, err)
		assert.Equal(t, Entry{Value: []byte("fresh"), Found: true, Gen: 1}, expiring(t, es[0], time.Minute))

		require.NoError(t, st.Set(ctx, []Item{{Key: k2, Value: []byte("idx"), TTL: time.Minute, Gen: 7, Unconditional: true}}))
		es, err = st.Get(ctx, []string{k2})
		require.NoError(t, err)
		assert.True(t, es[0].Found, "unconditional items ignore generations")

		require.NoError(t, st.Invalidate(ctx, []string{k1, k1}))
		es, err = st.Get(ctx, []string{k1})
		require.NoError(t, err)
		assert.Equal(t, int64(3), es[0].Gen)
		require.NoError(t, st.Ping(ctx))
	})
}

// expiring checks that a found entry expires within ttl from now, as it was
// written, and returns it without its expiry, for comparing.
func expiring(t *testing.T, e Entry, ttl time.Duration) Entry {
	t.Helper()
	now := time.Now()
	assert.True(t, e.Expires.After(now) && !e.Expires.After(now.Add(ttl)), "expires %s, within %s of %s", e.Expires, ttl, now)
	e.Expires = time.Time{}
	return e
}

func TestStoreClaimRelease(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		key := DeliveryKey("4b1c-delivery")
		tests := []struct {
			name    string
			op      func() (bool, error)
			want    bool
			release bool
		}{
			{name: "first claim wins", want: true},
			{name: "second claim loses", want: false},
			{name: "claim after release wins", want: true, release: true},
			{name: "and then loses again", want: false},
		}
		for _, tt := range tests {
			if tt.release {
				require.NoError(t, st.Release(ctx, key))
			}
			first, err := st.Claim(ctx, key, time.Minute)
			require.NoError(t, err, tt.name)
			assert.Equal(t, tt.want, first, tt.name)
		}
		other, err := st.Claim(ctx, DeliveryKey("another"), time.Minute)
		require.NoError(t, err)
		assert.True(t, other, "claims of different ids are independent")
	})
}

func TestMemoryStoreExpiry(t *testing.T) {
	m := NewMemoryStore()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	ctx := context.Background()
	k := bookingKey(1)
	require.NoError(t, m.Set(ctx, []Item{{Key: k, Value: []byte("v"), TTL: time.Minute}}))
	first, err := m.Claim(ctx, "claim", time.Minute)
	require.NoError(t, err)
	require.True(t, first)

	now = now.Add(61 * time.Second)
	es, err := m.Get(ctx, []string{k})
	require.NoError(t, err)
	assert.False(t, es[0].Found, "values expire")
	first, err = m.Claim(ctx, "claim", time.Minute)
	require.NoError(t, err)
	assert.True(t, first, "claims expire")
}

// TestStoreGenOf: an item guarded by another key's generation (a value's
// last-known-good copy) is written only while that generation is the one
// seen, and invalidating that key leaves the item alone.
func TestStoreGenOf(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		k := bookingKey(1)
		copyOf := func() string {
			t.Helper()
			es, err := st.Get(ctx, []string{shadowKey(k)})
			require.NoError(t, err)
			return string(es[0].Value)
		}
		require.NoError(t, st.Set(ctx, []Item{{Key: shadowKey(k), Value: []byte("a"), TTL: time.Minute, GenOf: k}}))
		assert.Equal(t, "a", copyOf())

		require.NoError(t, st.Invalidate(ctx, []string{k}))
		assert.Equal(t, "a", copyOf(), "invalidating the value leaves the copy")

		require.NoError(t, st.Set(ctx, []Item{{Key: shadowKey(k), Value: []byte("old"), TTL: time.Minute, Gen: 0, GenOf: k}}))
		assert.Equal(t, "a", copyOf(), "a write guarded by an old generation of the value is refused")

		require.NoError(t, st.Set(ctx, []Item{{Key: shadowKey(k), Value: []byte("b"), TTL: time.Minute, Gen: 1, GenOf: k}}))
		assert.Equal(t, "b", copyOf())
	})
}

// TestStoreBump: a bump moves each key's generation on by one and leaves
// its value served, so a write-back that began before it is refused while
// one under the new generation replaces the value.
func TestStoreBump(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		k1, k2, fresh := roomDayKey(1, day0), roomDayKey(2, day0), roomDayKey(3, day0)
		get := func(k string) Entry {
			t.Helper()
			es, err := st.Get(ctx, []string{k})
			require.NoError(t, err)
			if !es[0].Found {
				return es[0]
			}
			return expiring(t, es[0], time.Minute)
		}

		require.NoError(t, st.Set(ctx, []Item{{Key: k1, Value: []byte("a"), TTL: time.Minute}}))
		require.NoError(t, st.Invalidate(ctx, []string{k2}))
		require.NoError(t, st.Set(ctx, []Item{{Key: k2, Value: []byte("b"), TTL: time.Minute, Gen: 1}}))

		gens, err := st.Bump(ctx, []string{k1, k2, fresh})
		require.NoError(t, err)
		assert.Equal(t, []int64{1, 2, 1}, gens, "each key's generation plus one, in the order of keys")
		assert.Equal(t, Entry{Value: []byte("a"), Found: true, Gen: 1}, get(k1), "the value stays, under the new generation")
		assert.Equal(t, Entry{Value: []byte("b"), Found: true, Gen: 2}, get(k2))
		assert.Equal(t, Entry{Gen: 1}, get(fresh), "a key never seen has no value to keep")

		require.NoError(t, st.Set(ctx, []Item{{Key: k1, Value: []byte("stale"), TTL: time.Minute, Gen: 0}}))
		assert.Equal(t, "a", string(get(k1).Value), "a write-back under the generation before the bump is refused")
		require.NoError(t, st.Set(ctx, []Item{{Key: k1, Value: []byte("re-read"), TTL: time.Minute, Gen: 1}}))
		assert.Equal(t, Entry{Value: []byte("re-read"), Found: true, Gen: 1}, get(k1), "one under the bumped generation is written")

		gens, err = st.Bump(ctx, nil)
		require.NoError(t, err)
		assert.Empty(t, gens, "bumping no keys is fine")

		gens, err = st.Bump(ctx, []string{k2, k1, k2, k2, fresh, roomDayKey(4, day0)})
		require.NoError(t, err)
		assert.Equal(t, []int64{3, 2, 4, 5, 2, 1}, gens, "a key named again in one call is bumped again")
		assert.Equal(t, Entry{Value: []byte("b"), Found: true, Gen: 5}, get(k2))
		assert.Equal(t, Entry{Value: []byte("re-read"), Found: true, Gen: 2}, get(k1))

		require.NoError(t, st.Invalidate(ctx, []string{k1}))
		assert.Equal(t, Entry{Gen: 3}, get(k1), "invalidation goes on from the bumped generation")
		gens, err = st.Bump(ctx, []string{k1})
		require.NoError(t, err)
		assert.Equal(t, []int64{4}, gens)
		assert.Equal(t, Entry{Gen: 4}, get(k1), "a bump of a deleted value brings nothing back")
	})
}

// TestRedisStoreBumpRenewsGeneration: a bump gives the generation its whole
// life again, as an invalidation does, so it outlives the value it guards.
func TestRedisStoreBumpRenewsGeneration(t *testing.T) {
	rdb := redisClient(t)
	ns := namespace(t, rdb)
	st := NewRedisStore(rdb, StoreOptions{Namespace: ns, GenTTL: time.Hour})
	ctx := context.Background()
	k := roomDayKey(1, day0)
	_, err := st.Bump(ctx, []string{k})
	require.NoError(t, err)
	require.NoError(t, rdb.PExpire(ctx, ns+genKey(k), time.Minute).Err())
	_, err = st.Bump(ctx, []string{k})
	require.NoError(t, err)
	ttl, err := rdb.PTTL(ctx, ns+genKey(k)).Result()
	require.NoError(t, err)
	assert.InDelta(t, time.Hour.Seconds(), ttl.Seconds(), 5)
}
