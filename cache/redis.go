package cache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// StoreOptions tune a RedisStore. The zero value is usable.
type StoreOptions struct {
	// Namespace is prepended to every key, to share one Redis between
	// tenants or test runs. Empty means none: keys start with "egw:v2:".
	Namespace string
	// GenTTL is how long a generation lives after its last bump. Zero means
	// DefaultGenTTL. It must exceed every value TTL.
	GenTTL time.Duration
}

// RedisStore is the Store shared by all replicas. It works on a single
// node, Sentinel or Cluster: every command names one key or two keys of one
// hash tag (see keys.go), and multi-key reads are pipelines of GETs, which
// the cluster client splits by slot.
//
// The Service bounds each call by its OpTimeout whatever the client's own
// timeouts; creating the client with ContextTimeoutEnabled lets the
// abandoned call end at the same moment instead of at the client's
// ReadTimeout.
type RedisStore struct {
	rdb  redis.UniversalClient
	ns   string
	gttl time.Duration
	set  *redis.Script
	inv  *redis.Script
	bump *redis.Script
}

// NewRedisStore returns a Store over rdb, which the caller owns and closes.
func NewRedisStore(rdb redis.UniversalClient, opts StoreOptions) *RedisStore {
	if opts.GenTTL <= 0 {
		opts.GenTTL = DefaultGenTTL
	}
	return &RedisStore{rdb: rdb, ns: opts.Namespace, gttl: opts.GenTTL,
		set: redis.NewScript(setScript), inv: redis.NewScript(invalidateScript), bump: redis.NewScript(bumpScript)}
}

// setScript writes the value only if the generation (KEYS[2]: the key's
// own, or that of the value a last-known-good copy shadows) is the one the
// reader saw (a missing generation is 0): compare and set in one atomic
// step.
const setScript = `
local g = redis.call('GET', KEYS[2])
if not g then g = '0' end
if g ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`

// invalidateScript bumps the generation, renews its life and deletes the
// value in one atomic step.
const invalidateScript = `
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
return 1`

// bumpScript bumps the generation and renews its life, leaving the value,
// and answers the new generation.
const bumpScript = `
local g = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return g`

// Get implements Store with one pipeline of GETs (value and generation of
// each key).
func (r *RedisStore) Get(ctx context.Context, keys []string) ([]Entry, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	pipe := r.rdb.Pipeline()
	vals := make([]*redis.StringCmd, len(keys))
	gens := make([]*redis.StringCmd, len(keys))
	ttls := make([]*redis.DurationCmd, len(keys))
	for i, k := range keys {
		vals[i] = pipe.Get(ctx, r.ns+k)
		gens[i] = pipe.Get(ctx, r.ns+genKey(k))
		ttls[i] = pipe.PTTL(ctx, r.ns+k)
	}
	now := time.Now()
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make([]Entry, len(keys))
	for i := range keys {
		if g, err := gens[i].Result(); err == nil {
			n, perr := strconv.ParseInt(g, 10, 64)
			if perr != nil {
				return nil, fmt.Errorf("generation of %s: %w", keys[i], perr)
			}
			out[i].Gen = n
		} else if !errors.Is(err, redis.Nil) {
			return nil, err
		}
		if v, err := vals[i].Bytes(); err == nil {
			out[i].Value, out[i].Found = v, true
			if ttl := ttls[i].Val(); ttl > 0 {
				out[i].Expires = now.Add(ttl)
			}
		} else if !errors.Is(err, redis.Nil) {
			return nil, err
		}
	}
	return out, nil
}

// runScripts sends one script per key in a pipeline with EVALSHA, and once
// more with EVAL when the server does not know the script yet (after a
// restart or a failover).
func (r *RedisStore) runScripts(ctx context.Context, n int, add func(pipe redis.Pipeliner, i int, sha bool)) error {
	for _, sha := range []bool{true, false} {
		pipe := r.rdb.Pipeline()
		for i := range n {
			add(pipe, i, sha)
		}
		_, err := pipe.Exec(ctx)
		if err == nil || !sha || !redis.HasErrorPrefix(err, "NOSCRIPT") {
			return err
		}
	}
	return nil
}

// Set implements Store: conditional items through setScript, indexes as
// plain SETs, all in one pipeline.
func (r *RedisStore) Set(ctx context.Context, items []Item) error {
	if len(items) == 0 {
		return nil
	}
	return r.runScripts(ctx, len(items), func(pipe redis.Pipeliner, i int, sha bool) {
		it := items[i]
		k := r.ns + it.Key
		if it.Unconditional {
			pipe.Set(ctx, k, it.Value, it.TTL)
			return
		}
		guard := it.Key
		if it.GenOf != "" {
			guard = it.GenOf
		}
		keys := []string{k, r.ns + genKey(guard)}
		args := []any{strconv.FormatInt(it.Gen, 10), it.Value, it.TTL.Milliseconds()}
		if sha {
			r.set.EvalSha(ctx, pipe, keys, args...)
		} else {
			r.set.Eval(ctx, pipe, keys, args...)
		}
	})
}

// Invalidate implements Store with invalidateScript per key, in one
// pipeline.
func (r *RedisStore) Invalidate(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	return r.runScripts(ctx, len(keys), func(pipe redis.Pipeliner, i int, sha bool) {
		ks := []string{r.ns + keys[i], r.ns + genKey(keys[i])}
		if sha {
			r.inv.EvalSha(ctx, pipe, ks, r.gttl.Milliseconds())
		} else {
			r.inv.Eval(ctx, pipe, ks, r.gttl.Milliseconds())
		}
	})
}

// Has implements Store with one pipeline of EXISTS.
func (r *RedisStore) Has(ctx context.Context, keys []string) ([]bool, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	pipe := r.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Exists(ctx, r.ns+k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	out := make([]bool, len(keys))
	for i, c := range cmds {
		out[i] = c.Val() > 0
	}
	return out, nil
}

// Bump implements Store with bumpScript per key, in one pipeline.
func (r *RedisStore) Bump(ctx context.Context, keys []string) ([]int64, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.Cmd, len(keys))
	err := r.runScripts(ctx, len(keys), func(pipe redis.Pipeliner, i int, sha bool) {
		ks := []string{r.ns + genKey(keys[i])}
		if sha {
			cmds[i] = r.bump.EvalSha(ctx, pipe, ks, r.gttl.Milliseconds())
		} else {
			cmds[i] = r.bump.Eval(ctx, pipe, ks, r.gttl.Milliseconds())
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(keys))
	for i, c := range cmds {
		if out[i], err = c.Int64(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Claim implements Store with SET NX.
func (r *RedisStore) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return r.rdb.SetNX(ctx, r.ns+key, "1", ttl).Result()
}

// Release implements Store.
func (r *RedisStore) Release(ctx context.Context, key string) error {
	return r.rdb.Del(ctx, r.ns+key).Err()
}

// Ping implements Store.
func (r *RedisStore) Ping(ctx context.Context) error {
	return r.rdb.Ping(ctx).Err()
}
