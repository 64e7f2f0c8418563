package cache

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisWriteLog is the fleet's log of store writes in Redis: a counter
// numbers each write and, in the same atomic step, a pub/sub message
// carries the number and the keys to every replica that follows the log.
// Messages missed while a replica's connection was down show as a gap in
// the numbers (see answer.Log).
//
// It is an answer.LeasingLog: a hash beside the counter holds, for each
// follower, the last write it applied and when its lease runs out (in
// Redis's clock, in milliseconds: "<mark> <until>"). A write is done only
// once every follower whose lease had not run out has applied it, or its
// lease has; a lease is renewed only while the follower has applied every
// write numbered, so one that stops hearing the writes loses it within
// DefaultLease.
type RedisWriteLog struct {
	rdb          redis.UniversalClient
	seqKey       string
	followersKey string
	channel      string
	script       *redis.Script
	log          *slog.Logger
	lease        time.Duration
}

// DefaultLease is how long a follower's lease lasts once renewed.
const DefaultLease = 2 * time.Second

// writtenScript numbers a write and announces it in one step, so that
// announcements reach followers in the order of their numbers. It returns
// the number and how many followers hold a lease, all of which are behind
// it (none has heard it yet).
const writtenScript = `
local n = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], n .. '\n' .. ARGV[2])
return {n, ` + leaseholdersBehind + `}`

// leaseholdersBehind, a Lua expression, counts the followers in KEYS[2]
// whose lease has not run out and who have not applied write n, and drops
// those whose lease has.
const leaseholdersBehind = `(function()
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local all = redis.call('HGETALL', KEYS[2])
  local behind = 0
  for i = 1, #all, 2 do
    local mark, untilMs = string.match(all[i + 1], '^(%d+) (%d+)$')
    if not mark or tonumber(untilMs) <= now then
      redis.call('HDEL', KEYS[2], all[i])
    elseif tonumber(mark) < n then
      behind = behind + 1
    end
  end
  return behind
end)()`

// behindScript counts the leaseholders that have not applied write
// ARGV[1].
const behindScript = `
local n = tonumber(ARGV[1])
return ` + leaseholdersBehind

// holdScript records that follower ARGV[1] applied every write up to
// ARGV[2], and renews its lease for ARGV[3] ms when no later write was
// numbered; 1 when renewed. A follower behind keeps its lease's end, and one
// whose lease ran out gets none until it has caught up.
const holdScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mark = tonumber(ARGV[2])
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
if seq == mark then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ' ' .. (now + tonumber(ARGV[3])))
  return 1
end
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if cur then
  local untilMs = string.match(cur, ' (%d+)$')
  if untilMs and tonumber(untilMs) > now then
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ' ' .. untilMs)
  else
    redis.call('HDEL', KEYS[2], ARGV[1])
  end
end
return 0`

// NewRedisWriteLog returns the log under namespace (as StoreOptions'), over
// rdb, which the caller owns and closes. Nil log means slog.Default().
func NewRedisWriteLog(rdb redis.UniversalClient, namespace string, log *slog.Logger) *RedisWriteLog {
	if log == nil {
		log = slog.Default()
	}
	seqKey := namespace + "egw:v2:writes"
	return &RedisWriteLog{rdb: rdb, seqKey: seqKey, followersKey: sameSlot(seqKey, "followers"), channel: namespace + "egw:v2:writes",
		script: redis.NewScript(writtenScript), log: log, lease: DefaultLease}
}

// sameSlot returns a key named name beside key, in key's Redis Cluster
// slot: under key's own hash tag, or with key itself as the hash tag (key
// holds no brace then: the gateway's keys hold none but their tags).
func sameSlot(key, name string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 && strings.IndexByte(key[i+1:], '}') > 0 {
		return key + ":" + name
	}
	return key + ":" + name + "{" + key + "}"
}

var (
	behindLua = redis.NewScript(behindScript)
	holdLua   = redis.NewScript(holdScript)
)

// Written implements WriteLog and answer.Log. Once the write is logged it
// waits until every follower holding a lease has applied it, or its lease
// has run out; at the latest, a lease past the write's logging (no lease is
// renewed behind it), so its wait is bounded even when Redis stops
// answering. A ctx that ends stops the wait, not the write.
func (l *RedisWriteLog) Written(ctx context.Context, keys []string) error {
	deadline := time.Now().Add(l.lease + l.lease/10)
	r, err := l.script.Run(ctx, l.rdb, []string{l.seqKey, l.followersKey}, l.channel, strings.Join(keys, "\n")).Int64Slice()
	if err != nil {
		return err
	}
	if len(r) != 2 {
		return errors.New("the write log's script answered an unexpected reply")
	}
	n, behind := r[0], r[1]
	pause := 50 * time.Microsecond
	for behind > 0 {
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(min(pause, left)):
		}
		pause = min(2*pause, 5*time.Millisecond)
		b, err := behindLua.Run(ctx, l.rdb, []string{l.seqKey, l.followersKey}, n).Int64()
		if err == nil {
			behind = b
		}
	}
	return nil
}

// Hold implements answer.LeasingLog. The lease is taken to run out a tenth
// early, on this replica's clock read before asking, for the drift between
// it and Redis's.
func (l *RedisWriteLog) Hold(ctx context.Context, id string, mark uint64) (time.Time, error) {
	asked := time.Now()
	ok, err := holdLua.Run(ctx, l.rdb, []string{l.seqKey, l.followersKey}, id, mark, l.lease.Milliseconds()).Int()
	if err != nil || ok != 1 {
		return time.Time{}, err
	}
	return asked.Add(l.lease - l.lease/10), nil
}

// Release implements answer.LeasingLog.
func (l *RedisWriteLog) Release(ctx context.Context, id string) error {
	return l.rdb.HDel(ctx, l.followersKey, id).Err()
}

// Seq implements answer.Log.
func (l *RedisWriteLog) Seq(ctx context.Context) (uint64, error) {
	n, err := l.rdb.Get(ctx, l.seqKey).Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return n, err
}

// Follow implements answer.Log: it subscribes, reads the number of the
// last write once subscribed, and applies each message; after a dropped
// connection it subscribes again and starts over.
func (l *RedisWriteLog) Follow(ctx context.Context, start func(uint64), apply func(uint64, []string)) {
	for ctx.Err() == nil {
		l.follow(ctx, start, apply)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (l *RedisWriteLog) follow(ctx context.Context, start func(uint64), apply func(uint64, []string)) {
	ps := l.rdb.Subscribe(ctx, l.channel)
	defer ps.Close()
	// A blocked read of the subscription does not end with ctx; closing it
	// does.
	defer context.AfterFunc(ctx, func() { _ = ps.Close() })()
	if _, err := ps.Receive(ctx); err != nil {
		if ctx.Err() == nil {
			l.log.Warn("answers: cannot follow the store's writes; no answer is kept until it can", "err", err)
		}
		return
	}
	seq, err := l.Seq(ctx)
	if err != nil {
		return
	}
	start(seq)
	for {
		msg, err := ps.ReceiveMessage(ctx)
		if err != nil {
			if ctx.Err() == nil {
				l.log.Warn("answers: lost the store's writes; starting over", "err", err)
			}
			return
		}
		head, rest, _ := strings.Cut(msg.Payload, "\n")
		n, err := strconv.ParseUint(head, 10, 64)
		if err != nil {
			continue
		}
		var keys []string
		if rest != "" {
			keys = strings.Split(rest, "\n")
		}
		apply(n, keys)
	}
}
