package fleet

// This file is the Limiter shared by every replica: GCRA in one Lua script
// per call, on Redis's clock, falling back to a per-process share of each
// rate while Redis is unreachable.

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisLimiterOptions tune a RedisLimiter. The zero value is usable.
type RedisLimiterOptions struct {
	// OpTimeout bounds each Redis round trip, whatever the client's own
	// timeouts: a limiter slower than that costs every request more than
	// a per-process answer would. Zero means 100ms.
	OpTimeout time.Duration
	// RetryInterval is how often Redis is tried again once it failed; in
	// between, calls are answered from memory at once instead of each
	// paying OpTimeout. Zero means 1s.
	RetryInterval time.Duration
	// Logger hears when Redis fails and when it answers again (once each).
	// Nil means discard.
	Logger *slog.Logger
	// FallbackShare divides each rate while Redis is unreachable: the
	// limiter then enforces Events/FallbackShare per Per (and the burst
	// divided likewise) in this process, so that FallbackShare replicas cut
	// off together stay near the shared budget. Set it to the number of
	// replicas. Zero means 1.
	FallbackShare int
}

// RedisLimiter is the Limiter shared by every replica using the same Redis
// and prefix. Its clock is Redis's (TIME), so replicas whose clocks disagree
// still agree on the buckets. Each rate of a key is one Redis key,
// "{prefix:key}:rN", which expires once its bucket has drained; the key is
// stored as given, so pass a hash of anything secret (a subscription key).
//
// When Redis fails, Allow and Peek answer from a MemoryLimiter with each
// rate divided by FallbackShare, without error: callers never handle Redis
// being down.
type RedisLimiter struct {
	rdb      redis.UniversalClient
	prefix   string
	opts     RedisLimiterOptions
	script   *redis.Script
	fallback *MemoryLimiter
	reach    *reach
}

// NewRedisLimiter returns a Limiter over rdb, which the caller owns and
// closes. prefix separates this limiter's keys from others' (per-client
// limits and upstream budgets use different prefixes).
func NewRedisLimiter(rdb redis.UniversalClient, prefix string, opts RedisLimiterOptions) *RedisLimiter {
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
	return &RedisLimiter{rdb: rdb, prefix: prefix, opts: opts,
		script: redis.NewScript(gcraScript), fallback: NewMemoryLimiter(nil),
		reach: &reach{retry: opts.RetryInterval, log: log,
			upMsg:     "fleet: limiter reaches Redis again; limits are shared by the fleet again",
			downMsg:   "fleet: limiter cannot reach Redis; limiting per process with a share of each rate",
			downAttrs: []any{"share", opts.FallbackShare}}}
}

// gcraScript is decide (limiter.go) in Lua, on the keys of one limiter key.
// KEYS are the rates' keys; ARGV[1] is 1 to spend and 0 to peek, then each
// rate gives its interval, limit and capacity in microseconds. It answers
// {allowed, retry in µs, remaining}. Every rate is checked before any is
// written, so a refusal spends nothing. Arrival times are whole
// microseconds, written with %.0f because Lua's tostring would round them.
const gcraScript = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local spend = ARGV[1] == '1'
local allowed = spend
local retry = 0
local remaining = nil
local tats = {}
for i, key in ipairs(KEYS) do
  local a = 2 + (i - 1) * 3
  local interval, limit, capacity = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  tats[i] = tat + interval
  local over = tats[i] - now - limit
  if over > 0 then
    allowed = false
    if over > retry then retry = over end
  end
  local left = math.floor((capacity - (tat - now)) / interval)
  if remaining == nil or left < remaining then remaining = left end
end
if allowed then
  remaining = remaining - 1
  for i, key in ipairs(KEYS) do
    redis.call('SET', key, string.format('%.0f', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000))
  end
elseif not spend then
  retry = 0
end
if remaining < 0 then remaining = 0 end
return {allowed and 1 or 0, retry, remaining}`

// Allow implements Limiter.
func (l *RedisLimiter) Allow(ctx context.Context, key string, reserve float64, rates ...Rate) (Decision, error) {
	steps, err := plan(reserve, rates)
	if err != nil {
		return Decision{}, err
	}
	if d, ok := l.run(ctx, key, steps, true); ok {
		return d, nil
	}
	return l.fallback.Allow(ctx, key, reserve, fallbackRates(rates, l.opts.FallbackShare)...)
}

// Peek implements Limiter.
func (l *RedisLimiter) Peek(ctx context.Context, key string, rates ...Rate) (int, error) {
	steps, err := plan(0, rates)
	if err != nil {
		return 0, err
	}
	if d, ok := l.run(ctx, key, steps, false); ok {
		return d.Remaining, nil
	}
	return l.fallback.Peek(ctx, key, fallbackRates(rates, l.opts.FallbackShare)...)
}

// Degraded says whether the last attempt to reach Redis failed, so calls
// are answered per process: for a readiness detail or a gauge.
func (l *RedisLimiter) Degraded() bool { return l.reach.degraded() }

// run asks Redis; ok is false when Redis is down or failed, and the caller
// must answer from the fallback. The caller's cancellation does not cut the
// call short (it is bounded by OpTimeout anyway): a client going away must
// not be taken for Redis going away.
func (l *RedisLimiter) run(ctx context.Context, key string, steps []step, spend bool) (Decision, bool) {
	if !l.reach.try() {
		return Decision{}, false
	}
	keys := make([]string, len(steps))
	args := make([]any, 1, 1+3*len(steps))
	args[0] = 0
	if spend {
		args[0] = 1
	}
	for i, s := range steps {
		keys[i] = "{" + l.prefix + ":" + key + "}:r" + strconv.Itoa(i)
		args = append(args, s.interval, s.limit, s.capacity)
	}
	res, err := bounded(context.WithoutCancel(ctx), l.opts.OpTimeout, func(ctx context.Context) ([]int64, error) {
		return l.script.Run(ctx, l.rdb, keys, args...).Int64Slice()
	})
	if err == nil && len(res) != 3 {
		err = fmt.Errorf("fleet: limiter script answered %d values, want 3", len(res))
	}
	l.reach.report(err)
	if err != nil {
		return Decision{}, false
	}
	return Decision{
		Allowed:   res[0] == 1,
		RetryIn:   time.Duration(res[1]) * time.Microsecond,
		Remaining: int(res[2]),
	}, true
}
