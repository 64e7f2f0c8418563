package fleet

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testSecret = []byte("fleet test secret")

// newLease opens a lease on a credential of this test alone.
func newLease(t *testing.T) (*TokenLease, *redis.Client, string) {
	t.Helper()
	rdb := redisClient(t)
	name := unique(t, rdb)
	return NewTokenLease(rdb, name, testSecret, TokenLeaseOptions{OpTimeout: wait}), rdb, name
}

func load(t *testing.T, l *TokenLease) (string, time.Time) {
	t.Helper()
	v, exp, err := l.Load(t.Context())
	require.NoError(t, err)
	return v, exp
}

func TestTokenLeaseRoundTrip(t *testing.T) {
	l, rdb, name := newLease(t)
	v, exp := load(t, l)
	assert.Empty(t, v, "no token yet")
	assert.True(t, exp.IsZero())

	expiry := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	require.NoError(t, l.Store(t.Context(), "tok-1", expiry))
	v, exp = load(t, l)
	assert.Equal(t, "tok-1", v)
	assert.True(t, expiry.Equal(exp), "expiry %v, want %v", exp, expiry)

	// Another replica (another client, another instance) reads the same.
	other := NewTokenLease(redisClient(t), name, testSecret, TokenLeaseOptions{})
	v, _ = load(t, other)
	assert.Equal(t, "tok-1", v)

	ttl, err := rdb.PTTL(t.Context(), "{egw:token:"+name+"}:value").Result()
	require.NoError(t, err)
	assert.InDelta(t, time.Hour.Seconds(), ttl.Seconds(), 5, "Redis forgets the token when it expires")

	require.ErrorIs(t, l.Store(t.Context(), "tok-2", time.Now().Add(-time.Second)), ErrInvalidArgument)
	v, _ = load(t, l)
	assert.Equal(t, "tok-1", v, "an expired token is not stored")
}

func TestTokenLeaseEncryptsAtRest(t *testing.T) {
	l, rdb, name := newLease(t)
	const token = "eyJhbGciOiJSUzI1NiJ9.secret-session-token"
	require.NoError(t, l.Store(t.Context(), token, time.Now().Add(time.Hour)))
	raw, err := rdb.Get(t.Context(), "{egw:token:"+name+"}:value").Bytes()
	require.NoError(t, err)
	assert.NotContains(t, string(raw), token)
	assert.NotContains(t, string(raw), "secret-session-token")
	assert.NotContains(t, string(raw), `"v"`, "the JSON is sealed too")

	// The same token sealed twice differs (a fresh nonce each time).
	require.NoError(t, l.Store(t.Context(), token, time.Now().Add(time.Hour)))
	again, err := rdb.Get(t.Context(), "{egw:token:"+name+"}:value").Bytes()
	require.NoError(t, err)
	assert.NotEqual(t, raw, again)
}

func TestTokenLeaseWrongSecretReadsNothing(t *testing.T) {
	l, rdb, name := newLease(t)
	require.NoError(t, l.Store(t.Context(), "tok-1", time.Now().Add(time.Hour)))

	var logs logBuffer
	wrong := NewTokenLease(rdb, name, []byte("another secret"), TokenLeaseOptions{Logger: logs.logger()})
	for range 3 {
		v, exp := load(t, wrong)
		assert.Empty(t, v)
		assert.True(t, exp.IsZero())
	}
	assert.Equal(t, 1, logs.count("cannot be decrypted"), "logged once: %s", logs.String())

	// A sealed token moved to another credential's key does not open there.
	raw, err := rdb.Get(t.Context(), "{egw:token:"+name+"}:value").Bytes()
	require.NoError(t, err)
	elsewhere := name + "-other"
	require.NoError(t, rdb.Set(t.Context(), "{egw:token:"+elsewhere+"}:value", raw, time.Minute).Err())
	v, _ := load(t, NewTokenLease(rdb, elsewhere, testSecret, TokenLeaseOptions{}))
	assert.Empty(t, v)

	// Garbage is no token either.
	require.NoError(t, rdb.Set(t.Context(), "{egw:token:"+name+"}:value", "short", time.Minute).Err())
	v, _ = load(t, l)
	assert.Empty(t, v)
}

func TestTokenLeaseAcquireIsExclusive(t *testing.T) {
	a, _, name := newLease(t)
	b := NewTokenLease(redisClient(t), name, testSecret, TokenLeaseOptions{})

	release, ok, err := a.Acquire(t.Context(), time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	relB, ok, err := b.Acquire(t.Context(), time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "held by a")
	require.NotNil(t, relB)
	relB() // a no-op, harmless
	_, ok, err = a.Acquire(t.Context(), time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "not reentrant either")

	release()
	release() // twice is safe
	relB, ok, err = b.Acquire(t.Context(), time.Minute)
	require.NoError(t, err)
	require.True(t, ok, "free once released")
	relB()

	_, _, err = a.Acquire(t.Context(), 0)
	require.ErrorIs(t, err, ErrInvalidArgument)
}

func TestTokenLeaseExpires(t *testing.T) {
	a, _, name := newLease(t)
	b := NewTokenLease(redisClient(t), name, testSecret, TokenLeaseOptions{})
	_, ok, err := a.Acquire(t.Context(), 100*time.Millisecond) // a dies holding it
	require.NoError(t, err)
	require.True(t, ok)
	_, ok, err = b.Acquire(t.Context(), time.Minute)
	require.NoError(t, err)
	require.False(t, ok)
	require.Eventually(t, func() bool {
		_, ok, err := b.Acquire(t.Context(), time.Minute)
		return err == nil && ok
	}, wait, 10*time.Millisecond, "the lease of a holder that died expires")
}

func TestTokenLeaseReleaseOnlyByOwner(t *testing.T) {
	a, rdb, name := newLease(t)
	b := NewTokenLease(redisClient(t), name, testSecret, TokenLeaseOptions{})
	leaseKey := "{egw:token:" + name + "}:lease"

	relA, ok, err := a.Acquire(t.Context(), 100*time.Millisecond)
	require.NoError(t, err)
	require.True(t, ok)
	var relB func()
	require.Eventually(t, func() bool {
		var err error
		relB, ok, err = b.Acquire(t.Context(), time.Minute)
		return err == nil && ok
	}, wait, 10*time.Millisecond)
	owner, err := rdb.Get(t.Context(), leaseKey).Result()
	require.NoError(t, err)

	relA() // a, late, must not free b's lease
	held, err := rdb.Get(t.Context(), leaseKey).Result()
	require.NoError(t, err)
	assert.Equal(t, owner, held)
	_, ok, err = a.Acquire(t.Context(), time.Minute)
	require.NoError(t, err)
	assert.False(t, ok)

	relB()
	assert.Equal(t, int64(0), rdb.Exists(t.Context(), leaseKey).Val())
}

func TestTokenLeaseDropOnlyMatching(t *testing.T) {
	l, rdb, name := newLease(t)
	require.NoError(t, l.Drop(t.Context(), "tok-1"), "dropping nothing is fine")

	require.NoError(t, l.Store(t.Context(), "tok-2", time.Now().Add(time.Hour)))
	require.NoError(t, l.Drop(t.Context(), "tok-1"), "a stale token another replica saw refused")
	v, _ := load(t, l)
	assert.Equal(t, "tok-2", v, "the newer token is kept")

	wrong := NewTokenLease(rdb, name, []byte("another secret"), TokenLeaseOptions{})
	require.NoError(t, wrong.Drop(t.Context(), "tok-2"))
	v, _ = load(t, l)
	assert.Equal(t, "tok-2", v, "a token that does not decrypt is not dropped")

	require.NoError(t, l.Drop(t.Context(), "tok-2"))
	v, _ = load(t, l)
	assert.Empty(t, v)
	assert.Equal(t, int64(0), rdb.Exists(t.Context(), "{egw:token:"+name+"}:value").Val())
}

func TestTokenLeaseRedisDown(t *testing.T) {
	l := NewTokenLease(deadClient(t), "down", testSecret, TokenLeaseOptions{OpTimeout: 100 * time.Millisecond})
	start := time.Now()
	_, _, err := l.Load(t.Context())
	require.Error(t, err, "the caller learns the fleet's token is out of reach")
	release, ok, err := l.Acquire(t.Context(), time.Minute)
	require.Error(t, err)
	require.False(t, ok)
	release()
	require.Error(t, l.Store(t.Context(), "tok", time.Now().Add(time.Hour)))
	require.Error(t, l.Drop(t.Context(), "tok"))
	assert.Less(t, time.Since(start), 2*time.Second, "each call bounded by OpTimeout")
}
