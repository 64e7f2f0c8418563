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
		assert.Equal(t, Entry{Value: []byte("a"), Found: true}, es[0])
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
		assert.Equal(t, Entry{Value: []byte("fresh"), Found: true, Gen: 1}, es[0])

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
