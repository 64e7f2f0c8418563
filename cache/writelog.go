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
type RedisWriteLog struct {
	rdb     redis.UniversalClient
	seqKey  string
	channel string
	script  *redis.Script
	log     *slog.Logger
}

// writtenScript numbers a write and announces it in one step, so that
// announcements reach followers in the order of their numbers.
const writtenScript = `
local n = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], n .. '\n' .. ARGV[2])
return n`

// NewRedisWriteLog returns the log under namespace (as StoreOptions'), over
// rdb, which the caller owns and closes. Nil log means slog.Default().
func NewRedisWriteLog(rdb redis.UniversalClient, namespace string, log *slog.Logger) *RedisWriteLog {
	if log == nil {
		log = slog.Default()
	}
	return &RedisWriteLog{rdb: rdb, seqKey: namespace + "egw:v2:writes", channel: namespace + "egw:v2:writes", script: redis.NewScript(writtenScript), log: log}
}

// Written implements WriteLog and answer.Log.
func (l *RedisWriteLog) Written(ctx context.Context, keys []string) error {
	return l.script.Run(ctx, l.rdb, []string{l.seqKey}, l.channel, strings.Join(keys, "\n")).Err()
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
