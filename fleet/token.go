package fleet

// This file shares the upstream session token between replicas: one
// replica at a time holds the lease to fetch a token, stores it, and the
// others load it instead of logging in themselves.

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// TokenLeaseOptions tune a TokenLease. The zero value is usable.
type TokenLeaseOptions struct {
	// OpTimeout bounds each Redis round trip, whatever the client's own
	// timeouts, so a slow Redis delays a token refresh by at most that
	// before the caller fetches a token itself. Zero means 200ms.
	OpTimeout time.Duration
	// Logger hears what callers cannot act on: a stored token that cannot
	// be decrypted, a release that failed. Nil means discard.
	Logger *slog.Logger
}

// TokenLease is the fleet's copy of one credential's session token, and a
// lease that lets one replica at a time fetch a new one. The token is
// sealed with AES-256-GCM before it reaches Redis, so Redis (its dumps, its
// replicas, whoever reads them) never sees it in clear. It is safe for
// concurrent use.
//
// Redis errors are returned: the caller decides to fetch a token on its own
// when the fleet's copy is out of reach.
type TokenLease struct {
	rdb      redis.UniversalClient
	valueKey string
	leaseKey string
	aead     cipher.AEAD
	timeout  time.Duration
	log      *slog.Logger
	cad      *redis.Script
	// unreadable is set once an undecryptable token has been logged, until
	// one decrypts again: a replica with the wrong secret would otherwise
	// log on every request.
	unreadable atomic.Bool
}

// NewTokenLease returns the lease of the credential called name, over rdb,
// which the caller owns and closes. name must identify the credential
// without revealing it (a hash of token URL and client id, never the
// password); it appears in Redis key names. secret, shared by the replicas
// and kept out of Redis, derives the key that seals the token (its SHA-256);
// replicas with different secrets do not see each other's tokens.
func NewTokenLease(rdb redis.UniversalClient, name string, secret []byte, opts TokenLeaseOptions) *TokenLease {
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = 200 * time.Millisecond
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	key := sha256.Sum256(secret)
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic("fleet: AES-256 with a 32-byte key failed: " + err.Error()) // cannot happen
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("fleet: GCM over AES failed: " + err.Error()) // cannot happen
	}
	tag := "{egw:token:" + name + "}"
	return &TokenLease{rdb: rdb, valueKey: tag + ":value", leaseKey: tag + ":lease",
		aead: aead, timeout: opts.OpTimeout, log: log, cad: redis.NewScript(compareAndDelete)}
}

// compareAndDelete deletes KEYS[1] only if it still holds ARGV[1], byte for
// byte: a lease held by another owner since, or a token replaced since it
// was read, is left alone.
const compareAndDelete = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`

// sealed is what is encrypted: the token and its expiry (Unix ms).
type sealed struct {
	V   string `json:"v"`
	Exp int64  `json:"exp"`
}

// Load returns the fleet's token and its expiry; "" when there is none, or
// when it cannot be decrypted (another secret, a corrupt value), which is
// logged once and treated as none so the caller fetches a new one.
func (l *TokenLease) Load(ctx context.Context) (string, time.Time, error) {
	raw, err := l.raw(ctx)
	if err != nil || raw == nil {
		return "", time.Time{}, err
	}
	s, ok := l.open(raw)
	if !ok {
		return "", time.Time{}, nil
	}
	return s.V, time.UnixMilli(s.Exp), nil
}

// Acquire takes the lease for ttl, so that this replica alone fetches a
// token: ok is false when another holds it (the caller then waits and loads
// the token the holder stores). release gives the lease back if this
// replica still holds it; it is never nil, may be deferred and may be called
// more than once. ttl bounds how long a holder that died blocks the others.
func (l *TokenLease) Acquire(ctx context.Context, ttl time.Duration) (release func(), ok bool, err error) {
	noop := func() {}
	if ttl < time.Millisecond {
		return noop, false, fmt.Errorf("%w: lease ttl %v is under a millisecond", ErrInvalidArgument, ttl)
	}
	owner := rand.Text()
	ok, err = bounded(ctx, l.timeout, func(ctx context.Context) (bool, error) {
		return l.rdb.SetNX(ctx, l.leaseKey, owner, ttl).Result()
	})
	if err != nil {
		return noop, false, fmt.Errorf("fleet: acquiring token lease: %w", err)
	}
	if !ok {
		return noop, false, nil
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			// Detached from ctx: release is typically deferred, and runs
			// after the caller's context has ended.
			if err := l.deleteIf(context.Background(), l.leaseKey, owner); err != nil {
				l.log.Warn("fleet: releasing token lease failed; it expires by itself", "err", err)
			}
		})
	}, true, nil
}

// Store makes value the fleet's token until expiry, when Redis forgets it.
func (l *TokenLease) Store(ctx context.Context, value string, expiry time.Time) error {
	ttl := time.Until(expiry)
	if ttl < time.Millisecond {
		return fmt.Errorf("%w: token expiry %v is not in the future", ErrInvalidArgument, expiry)
	}
	plain, err := json.Marshal(sealed{V: value, Exp: expiry.UnixMilli()})
	if err != nil {
		return fmt.Errorf("fleet: encoding token: %w", err)
	}
	nonce := make([]byte, l.aead.NonceSize(), l.aead.NonceSize()+len(plain)+l.aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	// The key name is authenticated with the token, so a value copied to
	// another credential's key does not open there.
	blob := l.aead.Seal(nonce, nonce, plain, []byte(l.valueKey))
	_, err = bounded(ctx, l.timeout, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, l.rdb.Set(ctx, l.valueKey, blob, ttl).Err()
	})
	if err != nil {
		return fmt.Errorf("fleet: storing token: %w", err)
	}
	return nil
}

// Drop forgets the fleet's token if it is still value (the upstream refused
// it), so replicas stop using it; a token another replica stored since is
// kept. Dropping nothing is not an error.
func (l *TokenLease) Drop(ctx context.Context, value string) error {
	raw, err := l.raw(ctx)
	if err != nil || raw == nil {
		return err
	}
	if s, ok := l.open(raw); !ok || s.V != value {
		return nil
	}
	if err := l.deleteIf(ctx, l.valueKey, string(raw)); err != nil {
		return fmt.Errorf("fleet: dropping token: %w", err)
	}
	return nil
}

// raw reads the sealed token; nil when there is none.
func (l *TokenLease) raw(ctx context.Context) ([]byte, error) {
	raw, err := bounded(ctx, l.timeout, func(ctx context.Context) ([]byte, error) {
		return l.rdb.Get(ctx, l.valueKey).Bytes()
	})
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fleet: loading token: %w", err)
	}
	return raw, nil
}

// open decrypts a sealed token; ok is false, after logging once, when it
// cannot.
func (l *TokenLease) open(raw []byte) (sealed, bool) {
	var s sealed
	n := l.aead.NonceSize()
	var err error
	if len(raw) < n {
		err = errors.New("value too short")
	} else {
		var plain []byte
		if plain, err = l.aead.Open(nil, raw[:n], raw[n:], []byte(l.valueKey)); err == nil {
			err = json.Unmarshal(plain, &s)
		}
	}
	if err != nil {
		if !l.unreadable.Swap(true) {
			l.log.Warn("fleet: the fleet's session token cannot be decrypted (another secret?); ignoring it", "err", err)
		}
		return sealed{}, false
	}
	l.unreadable.Store(false)
	return s, true
}

// deleteIf runs compareAndDelete on key.
func (l *TokenLease) deleteIf(ctx context.Context, key, want string) error {
	_, err := bounded(ctx, l.timeout, func(ctx context.Context) (int64, error) {
		return l.cad.Run(ctx, l.rdb, []string{key}, want).Int64()
	})
	return err
}
