package pubsub

// This file is the Redis broker's reader: one goroutine that reads the
// stream from the last entry it read, survives disconnections, and says so
// when it cannot have read everything.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// readBlock is how long one XREAD waits for new entries. Short, because
	// go-redis cannot abandon a read in progress: where Close cannot unblock
	// it, Close waits this long. (Block's zero value would mean forever, and
	// go-redis then sets no read deadline either.)
	readBlock = time.Second
	// readCount caps the entries one XREAD returns, so a reader catching up
	// fans out in batches.
	readCount = 256
	// unblockEvery paces Close's CLIENT UNBLOCK: a first one can reach Redis
	// before the XREAD it means to end.
	unblockEvery = 50 * time.Millisecond
)

// streamCmds is what the reader sends: through its own connection, or
// through the client's pool.
type streamCmds interface {
	XRead(ctx context.Context, a *redis.XReadArgs) *redis.XStreamSliceCmd
	XInfoStream(ctx context.Context, key string) *redis.XInfoStreamCmd
}

// receive is the broker's one reader of the stream. It fans out each entry
// after r.last in stream order, and after any failure waits a moment (with
// jitter, so replicas do not all come back at once), checks the stream and
// reads again from r.last. It exits when Close cancels ctx.
func (r *Redis) receive(ctx context.Context) {
	defer close(r.received)
	defer r.dropConn()
	delay := minRetryDelay
	for attempt := 0; ctx.Err() == nil; {
		err := r.readOnce(ctx)
		if err == nil {
			if attempt > 0 {
				r.log.Info("pubsub: reading the redis stream again", "stream", r.stream, "attempts", attempt+1)
			}
			attempt, delay = 0, minRetryDelay
			continue
		}
		if ctx.Err() != nil {
			return
		}
		attempt++
		if attempt == 1 {
			r.log.Warn("pubsub: reading the redis stream failed; retrying from the last change read",
				"stream", r.stream, "err", err)
		}
		r.dropConn()
		r.verify = true
		if !sleep(ctx, jitter(delay)) {
			return
		}
		delay = min(2*delay, maxRetryDelay)
	}
}

// readOnce reads and fans out one batch of entries after r.last, or nothing
// when none comes within readBlock; first, when r.verify is set, it makes
// sure reading on from r.last is still right.
func (r *Redis) readOnce(ctx context.Context) error {
	cmds, err := r.readerConn(ctx)
	if err != nil {
		return err
	}
	if r.verify {
		if err := r.resume(ctx, cmds); err != nil {
			return err
		}
		r.verify = false
	}
	streams, err := cmds.XRead(ctx, &redis.XReadArgs{
		Streams: []string{r.stream, r.last.String()},
		Count:   readCount,
		Block:   readBlock,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil // nothing new, or Close unblocked the read
	}
	if err != nil {
		return err
	}
	n := 0
	for _, s := range streams {
		for _, m := range s.Messages {
			id, err := parseStreamID(m.ID)
			if err != nil {
				return err
			}
			r.last = id
			n++
			r.deliver(m)
		}
	}
	// A full batch means this replica is behind, which is when the stream
	// can be trimmed past it.
	r.verify = n == readCount
	return nil
}

func (r *Redis) deliver(m redis.XMessage) {
	v, _ := m.Values[changeField].(string)
	c, err := decodeChange([]byte(v))
	if err != nil {
		r.log.Error("pubsub: undecodable change from redis", "stream", r.stream, "id", m.ID, "err", err)
		return
	}
	r.hub.broadcast(c)
}

// resume checks that reading on from r.last, after a failure or while behind,
// still reads every change the stream had for this replica, and when it
// cannot, says so and moves r.last to the stream's newest entry.
func (r *Redis) resume(ctx context.Context, cmds streamCmds) error {
	st, err := readStreamState(ctx, cmds, r.stream, r.maxLen)
	if err != nil {
		return err
	}
	switch {
	case st.last.less(r.last):
		// Not the stream this replica was reading: it is gone or was made
		// anew (Redis restarted without its data, failed over to an empty
		// replica, or the key was deleted). Reading on from r.last would
		// skip new entries until their IDs pass it, which they may not
		// soon if this server's clock is behind the old one's.
		r.log.Warn("pubsub: the redis stream was reset; reading on from its newest change; "+
			"changes published meanwhile may have been lost (cache invalidation is unaffected)",
			"stream", r.stream, "lastRead", r.last.String(), "streamLast", st.last.String())
		r.last = st.last
	case st.trimmedPast(r.last):
		r.log.Warn("pubsub: changes may have been lost: the redis stream was trimmed past the last change "+
			"this replica read, which was away for more than StreamLength changes; reading on from the newest "+
			"(cache invalidation is unaffected)",
			"stream", r.stream, "streamLength", r.maxLen, "lastRead", r.last.String(), "oldest", st.first.String())
		r.last = st.last
	}
	return nil
}

// readerConn returns what the reader reads through. For a *redis.Client
// that is a connection of its own, so that Close can end a blocked XREAD
// with CLIENT UNBLOCK, which needs the connection's client id. It is
// discarded rather than returned to the pool when dropped, so a late CLIENT
// UNBLOCK can never reach another caller's blocking command. Other clients
// route each command to their nodes themselves.
func (r *Redis) readerConn(ctx context.Context) (streamCmds, error) {
	if r.conn != nil {
		return r.conn, nil
	}
	single, ok := r.client.(*redis.Client)
	if !ok {
		return r.client, nil
	}
	conn := single.EphemeralConn()
	id, err := conn.ClientID(ctx).Result()
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	r.conn = conn
	r.connID.Store(id)
	return conn, nil
}

// dropConn gives up the reader's connection, after a failure (go-redis does
// not reuse a failed one, so the next read takes a fresh one) or on Close.
func (r *Redis) dropConn() {
	if r.conn == nil {
		return
	}
	r.connID.Store(0)
	_ = r.conn.Close()
	r.conn = nil
}

// stopReading ends the reader and waits for it. Cancelling its context is
// not enough, because go-redis does not abandon a read in progress: an XREAD
// blocked on the reader's own connection is ended with CLIENT UNBLOCK from
// another, repeated until the reader has exited since the first may reach
// Redis before the XREAD does. Without its own connection, or where CLIENT
// UNBLOCK is refused (an ACL without @admin), the XREAD ends within
// readBlock.
func (r *Redis) stopReading() {
	r.stop()
	tick := time.NewTicker(unblockEvery)
	defer tick.Stop()
	for {
		select {
		case <-r.received:
			return
		default:
		}
		if id := r.connID.Load(); id != 0 {
			ctx, cancel := context.WithTimeout(context.Background(), readBlock)
			_ = r.client.ClientUnblock(ctx, id).Err()
			cancel()
		}
		select {
		case <-r.received:
			return
		case <-tick.C:
		}
	}
}

// streamState is what the reader needs to know of the stream to resume.
type streamState struct {
	last  streamID // the newest ID Redis gave out; zero when there is no stream
	first streamID // the oldest entry's; zero when there is none
	// trimmed says entries have left the stream, so any before first are
	// gone.
	trimmed bool
}

// readStreamState reads the stream's state with XINFO STREAM. A missing
// stream is not an error: it is empty, and its next entry may have any ID.
func readStreamState(ctx context.Context, cmds streamCmds, key string, maxLen int64) (streamState, error) {
	info, err := cmds.XInfoStream(ctx, key).Result()
	if isNoSuchKey(err) {
		return streamState{}, nil
	}
	if err != nil {
		return streamState{}, err
	}
	var st streamState
	if st.last, err = parseStreamID(info.LastGeneratedID); err != nil {
		return streamState{}, err
	}
	if info.FirstEntry.ID != "" {
		if st.first, err = parseStreamID(info.FirstEntry.ID); err != nil {
			return streamState{}, err
		}
	}
	if info.EntriesAdded > 0 {
		// Redis 7 counts every entry ever added.
		st.trimmed = info.EntriesAdded > info.Length
	} else {
		// Before Redis 7: trimming to MAXLEN ~ leaves at least maxLen
		// entries, so a shorter stream was never trimmed.
		st.trimmed = info.Length >= maxLen
	}
	return st, nil
}

// trimmedPast says whether entries after last may have been trimmed before
// they were read: the stream has lost entries, and even its oldest is
// newer than last. (If the entries trimmed ended exactly at last, nothing
// was lost, but the stream cannot tell.)
func (st streamState) trimmedPast(last streamID) bool {
	return st.trimmed && last.less(st.first)
}

// isNoSuchKey says whether err is Redis's answer to XINFO STREAM on a
// missing key.
func isNoSuchKey(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && strings.Contains(rerr.Error(), "no such key")
}

// streamID is a Redis stream entry ID, <milliseconds>-<sequence>: IDs
// increase within one stream, and the zero ID is before them all.
type streamID struct{ ms, seq uint64 }

func parseStreamID(s string) (streamID, error) {
	msPart, seqPart, ok := strings.Cut(s, "-")
	ms, err1 := strconv.ParseUint(msPart, 10, 64)
	seq, err2 := strconv.ParseUint(seqPart, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return streamID{}, fmt.Errorf("pubsub: bad redis stream id %q", s)
	}
	return streamID{ms: ms, seq: seq}, nil
}

func (id streamID) less(other streamID) bool {
	if id.ms != other.ms {
		return id.ms < other.ms
	}
	return id.seq < other.seq
}

func (id streamID) String() string {
	return strconv.FormatUint(id.ms, 10) + "-" + strconv.FormatUint(id.seq, 10)
}

// jitter spreads d over [d/2, d].
func jitter(d time.Duration) time.Duration { return d/2 + rand.N(d/2+1) }

// sleep waits d, or less if ctx ends first; false means ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
