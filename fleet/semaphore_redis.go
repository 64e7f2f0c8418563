package fleet

// This file is the Semaphore shared by every replica: one sorted set per key
// in Redis, whose members are the slots held, each scored with the time it
// expires by Redis's clock. A replica refreshes the expiry of the slots it
// holds while it holds them, so the slots of a replica that dies (or loses
// Redis for good) expire by themselves a lease after its last refresh: they
// are never leaked. While Redis is unreachable, each replica allows its
// share of the limit, counting the slots it holds itself.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisSemaphoreOptions tune a RedisSemaphore. The zero value is usable.
type RedisSemaphoreOptions struct {
	// Lease is how long a slot stays counted after its holder last
	// refreshed it: how long the slots of a replica that died keep others
	// out. Held slots are refreshed every Lease/3. Zero means 30s.
	Lease time.Duration
	// OpTimeout bounds each Acquire's and each release's round trip to
	// Redis. Zero means 100ms.
	OpTimeout time.Duration
	// RetryInterval is how often Redis is tried again once it failed; in
	// between, Acquire answers from this replica's share at once. Zero
	// means 1s.
	RetryInterval time.Duration
	// Logger hears when Redis fails and when it answers again (once each).
	// Nil means discard.
	Logger *slog.Logger
	// FallbackShare divides the limit while Redis is unreachable: this
	// replica then allows limit/FallbackShare slots per key (at least one),
	// counting the slots it holds. Set it to the number of replicas. Zero
	// means 1.
	FallbackShare int
}

// RedisSemaphore is the Semaphore shared by every replica using the same
// Redis and prefix. Each key is one Redis key, "{prefix:key}:slots"; the key
// is stored as given, so pass a hash of anything personal. Close it to stop
// refreshing its slots.
type RedisSemaphore struct {
	rdb     redis.UniversalClient
	prefix  string
	opts    RedisSemaphoreOptions
	reach   *reach
	acquire *redis.Script
	refresh *redis.Script
	// id names this semaphore's slots among every replica's.
	id  string
	seq atomic.Uint64

	mu sync.Mutex
	// held are the slots this replica holds: key → members.
	held map[string]map[string]struct{}
	// refreshing is true while a refresh is on its way to Redis; released
	// are the slots given back meanwhile, which it may have added again and
	// which are removed once more after it.
	refreshing bool
	released   []slotOf

	stop      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
}

// slotOf is one held slot: its semaphore key and its member in Redis.
type slotOf struct{ key, member string }

// errUnreachable stands for a call not made because Redis is known to be
// down.
var errUnreachable = errors.New("fleet: Redis is unreachable")

// acquireScript takes a slot if fewer than the limit are held. KEYS[1] is
// the sorted set; ARGV are the limit, the lease in milliseconds and the new
// member. It drops the expired members first, and answers 1 when the slot
// was taken, 0 when the limit is reached. Scores are whole milliseconds of
// Redis's clock, written with %.0f because Lua's tostring would round them.
const acquireScript = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[2])), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`

// refreshScript extends the expiry of members of one key to a lease from
// now, adding them if they are missing (Redis restarted, or they were taken
// while it was unreachable). KEYS[1] is the sorted set; ARGV are the lease
// in milliseconds, then the members. Every member of the set expires within
// a lease from now, so the set itself may too.
const refreshScript = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = string.format('%.0f', now + tonumber(ARGV[1]))
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], expiry, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return #ARGV - 1`

// NewRedisSemaphore returns a Semaphore over rdb, which the caller owns and
// closes (after closing the semaphore). prefix separates this semaphore's
// keys from others'.
func NewRedisSemaphore(rdb redis.UniversalClient, prefix string, opts RedisSemaphoreOptions) *RedisSemaphore {
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = 100 * time.Millisecond
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = time.Second
	}
	if opts.FallbackShare <= 0 {
		opts.FallbackShare = 1
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	s := &RedisSemaphore{
		rdb: rdb, prefix: prefix, opts: opts,
		reach: &reach{retry: opts.RetryInterval, log: log,
			upMsg:     "fleet: semaphore reaches Redis again; slots are counted by the fleet again",
			downMsg:   "fleet: semaphore cannot reach Redis; each replica allows its share of every limit",
			downAttrs: []any{"share", opts.FallbackShare}},
		acquire: redis.NewScript(acquireScript),
		refresh: redis.NewScript(refreshScript),
		id:      hex.EncodeToString(b),
		held:    map[string]map[string]struct{}{},
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go s.refreshLoop()
	return s
}

// Acquire implements Semaphore.
func (s *RedisSemaphore) Acquire(ctx context.Context, key string, limit int) (func(), bool, error) {
	if err := checkLimit(limit); err != nil {
		return nil, false, err
	}
	member := s.id + ":" + strconv.FormatUint(s.seq.Add(1), 10)
	taken, err := s.take(ctx, key, member, limit)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// Redis cannot say what the fleet holds: this replica's share.
		taken = len(s.held[key]) < max(1, limit/s.opts.FallbackShare)
	}
	if !taken {
		return nil, false, nil
	}
	if s.held[key] == nil {
		s.held[key] = map[string]struct{}{}
	}
	s.held[key][member] = struct{}{}
	return sync.OnceFunc(func() { s.release(key, member) }), true, nil
}

// Degraded says whether the last attempt to reach Redis failed, so slots
// are counted per replica.
func (s *RedisSemaphore) Degraded() bool { return s.reach.degraded() }

// Close stops refreshing the slots this replica holds; they expire a lease
// later unless released before.
func (s *RedisSemaphore) Close() {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.stopped
	})
}

func (s *RedisSemaphore) redisKey(key string) string { return "{" + s.prefix + ":" + key + "}:slots" }

// take asks Redis for a slot. An error means Redis did not answer. The
// caller's cancellation does not cut the call short (OpTimeout bounds it):
// a client going away must not be taken for Redis going away.
func (s *RedisSemaphore) take(ctx context.Context, key, member string, limit int) (bool, error) {
	if !s.reach.try() {
		return false, errUnreachable
	}
	n, err := bounded(context.WithoutCancel(ctx), s.opts.OpTimeout, func(ctx context.Context) (int64, error) {
		return s.acquire.Run(ctx, s.rdb, []string{s.redisKey(key)}, limit, s.opts.Lease.Milliseconds(), member).Int64()
	})
	s.reach.report(err)
	return n == 1, err
}

// release gives a slot back. When Redis does not answer, the slot expires
// by itself, since it is no longer refreshed.
func (s *RedisSemaphore) release(key, member string) {
	s.mu.Lock()
	if m := s.held[key]; m != nil {
		delete(m, member)
		if len(m) == 0 {
			delete(s.held, key)
		}
	}
	if s.refreshing {
		s.released = append(s.released, slotOf{key, member})
	}
	s.mu.Unlock()
	s.remove([]slotOf{{key, member}})
}

// remove deletes slots from Redis.
func (s *RedisSemaphore) remove(slots []slotOf) {
	if len(slots) == 0 || !s.reach.try() {
		return
	}
	_, err := bounded(context.Background(), s.opts.OpTimeout, func(ctx context.Context) ([]redis.Cmder, error) {
		return s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, sl := range slots {
				p.ZRem(ctx, s.redisKey(sl.key), sl.member)
			}
			return nil
		})
	})
	s.reach.report(err)
}

func (s *RedisSemaphore) refreshLoop() {
	defer close(s.stopped)
	tick := time.NewTicker(s.opts.Lease / 3)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			s.refreshHeld()
		}
	}
}

// refreshHeld extends every held slot's expiry by a lease, in one pipeline
// bounded by the refresh interval.
func (s *RedisSemaphore) refreshHeld() {
	s.mu.Lock()
	if len(s.held) == 0 {
		s.mu.Unlock()
		return
	}
	held := make(map[string][]any, len(s.held))
	for key, members := range s.held {
		args := []any{s.opts.Lease.Milliseconds()}
		for _, m := range slices.Sorted(maps.Keys(members)) {
			args = append(args, m)
		}
		held[key] = args
	}
	s.refreshing = true
	s.mu.Unlock()

	if s.reach.try() {
		_, err := bounded(context.Background(), s.opts.Lease/3, func(ctx context.Context) ([]redis.Cmder, error) {
			// Loaded first, so that the pipeline may call it by its hash.
			if err := s.refresh.Load(ctx, s.rdb).Err(); err != nil {
				return nil, err
			}
			return s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for key, args := range held {
					s.refresh.EvalSha(ctx, p, []string{s.redisKey(key)}, args...)
				}
				return nil
			})
		})
		s.reach.report(err)
	}

	s.mu.Lock()
	s.refreshing = false
	again := s.released
	s.released = nil
	s.mu.Unlock()
	s.remove(again)
}
