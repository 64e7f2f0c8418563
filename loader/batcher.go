package loader

// The batching loader under every loader of an operation: keys asked for
// within a short window are read together, each key once per operation.

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// Result is one key's outcome of a batch.
type Result[V any] struct {
	Data  V
	Error error
}

// BatchFunc reads keys together; it returns one result per key, in their
// order.
type BatchFunc[K comparable, V any] func(ctx context.Context, keys []K) []*Result[V]

// Thunk waits for one key's value.
type Thunk[V any] func() (V, error)

// ThunkMany waits for the values of several keys: errs is nil when none
// failed, and otherwise holds one error (or nil) per key.
type ThunkMany[V any] func() (vs []V, errs []error)

// Loader batches the keys asked for within its window into one call of its
// batch function, run in the context of the batch's first key, and keeps
// each key's outcome for the rest of the operation (a panic's excepted, so
// that the key may be asked for again). Safe for concurrent use.
//
// The window is waited by yielding the processor, not by a timer: with
// every processor idle, Go's timers fire no sooner than the poller wakes,
// a millisecond or more later on Linux, which made every level of a cold
// query wait ten times its window. Yielding lets the sibling fields that
// are about to ask for keys run meanwhile, and gives the processor to any
// other work there is.
type Loader[K comparable, V any] struct {
	fn       BatchFunc[K, V]
	wait     time.Duration
	capacity int // keys that start a batch at once; 0: no bound

	// incoming counts the callers on their way to Load (see Expect).
	incoming atomic.Int32

	mu    sync.Mutex
	cache map[K]*pending[V]
	cur   *batch[K, V]
}

type pending[V any] struct {
	done chan struct{}
	v    V
	err  error
}

func (p *pending[V]) thunk() (V, error) {
	<-p.done
	return p.v, p.err
}

type batch[K comparable, V any] struct {
	ctx   context.Context
	keys  []K
	out   []*pending[V]
	taken atomic.Bool   // set once the batch is closed to new keys
	count atomic.Int32  // len(keys), for gather to watch
	full  chan struct{} // closed when the batch fills up
}

// quietYields is how many yields in a row past the window must bring no
// key before a batch starts; gatherLonger bounds, in windows, how long the
// yields past it may go on; timerLate is how late a timer may fire in an
// idle process: a window longer than that is slept through on a timer, but
// for its last timerLate.
const (
	quietYields  = 3
	gatherLonger = 10
	timerLate    = 2 * time.Millisecond
)

// NewLoader returns a Loader that gathers keys for wait (zero: none) and
// starts a batch at once when it holds capacity keys (zero: no bound).
func NewLoader[K comparable, V any](fn BatchFunc[K, V], wait time.Duration, capacity int) *Loader[K, V] {
	return &Loader[K, V]{fn: fn, wait: wait, capacity: capacity, cache: map[K]*pending[V]{}}
}

// Load asks for key.
func (l *Loader[K, V]) Load(ctx context.Context, key K) Thunk[V] {
	l.mu.Lock()
	if p, ok := l.cache[key]; ok {
		l.mu.Unlock()
		return p.thunk
	}
	p := &pending[V]{done: make(chan struct{})}
	l.cache[key] = p
	b, first := l.cur, false
	if b == nil {
		b, first = &batch[K, V]{ctx: ctx, full: make(chan struct{})}, true
		l.cur = b
	}
	b.keys = append(b.keys, key)
	b.out = append(b.out, p)
	b.count.Store(int32(len(b.keys)))
	full := l.capacity > 0 && len(b.keys) >= l.capacity
	if full {
		l.cur = nil
		b.taken.Store(true)
		close(b.full)
	}
	l.mu.Unlock()
	switch {
	case full:
		go l.run(b)
	case first:
		go l.gather(b)
	}
	return p.thunk
}

// Expect tells the loader a caller is on its way to Load or LoadMany (it
// first reads what the store holds, see peeking): a batch gathering keys
// waits for it, for at most gatherLonger windows, and the returned func,
// called once the caller has asked or has no need to, ends the wait.
func (l *Loader[K, V]) Expect() (arrived func()) {
	l.incoming.Add(1)
	return func() { l.incoming.Add(-1) }
}

// LoadMany asks for keys.
func (l *Loader[K, V]) LoadMany(ctx context.Context, keys []K) ThunkMany[V] {
	thunks := make([]Thunk[V], len(keys))
	for i, k := range keys {
		thunks[i] = l.Load(ctx, k)
	}
	return func() ([]V, []error) {
		vs := make([]V, len(keys))
		var errs []error
		for i, th := range thunks {
			v, err := th()
			vs[i] = v
			if err != nil {
				if errs == nil {
					errs = make([]error, len(keys))
				}
				errs[i] = err
			}
		}
		return vs, errs
	}
}

// Prime keeps v as key's value unless key was asked for already.
func (l *Loader[K, V]) Prime(key K, v V) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.cache[key]; !ok {
		p := &pending[V]{done: make(chan struct{}), v: v}
		close(p.done)
		l.cache[key] = p
	}
}

// gather waits out the window, yielding, then runs b unless it filled up
// meanwhile. Past the window it still waits while callers are on their way
// (Expect), and until a few yields in a row bring no key: a process the
// machine set aside for longer than the window (a loaded machine, the race
// detector) resumes with the window gone, and the siblings it had started
// would otherwise miss the batch. At most gatherLonger windows in all.
func (l *Loader[K, V]) gather(b *batch[K, V]) {
	if l.wait > 0 {
		start := time.Now()
		until, bound := start.Add(l.wait), start.Add(gatherLonger*l.wait)
		// A long window is slept through on a timer, all but its end.
		if rest := l.wait - timerLate; rest > 0 {
			t := time.NewTimer(rest)
			select {
			case <-t.C:
			case <-b.full:
			}
			t.Stop()
		}
		n, quiet := b.count.Load(), 0
		for !b.taken.Load() {
			runtime.Gosched()
			if c := b.count.Load(); c != n || l.incoming.Load() > 0 {
				n, quiet = c, 0
			} else {
				quiet++
			}
			if now := time.Now(); now.After(bound) || now.After(until) && quiet >= quietYields {
				break
			}
		}
	}
	l.mu.Lock()
	if l.cur == b {
		l.cur = nil
		b.taken.Store(true)
	} else {
		b = nil // it filled up and runs already
	}
	l.mu.Unlock()
	if b != nil {
		l.run(b)
	}
}

// run calls the batch function and hands each key its outcome.
func (l *Loader[K, V]) run(b *batch[K, V]) {
	results, ok := l.call(b)
	if !ok {
		l.mu.Lock()
		for _, k := range b.keys {
			delete(l.cache, k) // asked again, it is read again
		}
		l.mu.Unlock()
	} else if len(results) != len(b.keys) {
		panicked(fmt.Sprintf("loader: a batch of %d keys returned %d results", len(b.keys), len(results)))
		ok = false
	}
	for i, p := range b.out {
		if ok && results[i] != nil {
			p.v, p.err = results[i].Data, results[i].Error
		} else {
			p.err = errBatchFailed
		}
		close(p.done)
	}
}

// call runs the batch function; false when it panicked (logged).
func (l *Loader[K, V]) call(b *batch[K, V]) (results []*Result[V], ok bool) {
	defer func() {
		if r := recover(); r != nil {
			panicked(r)
			results, ok = nil, false
		}
	}()
	return l.fn(b.ctx, b.keys), true
}

// errBatchFailed is a key's error when its batch failed the gateway's own
// way: a panic, or no result for it.
var errBatchFailed = workplace.Errorf(workplace.EINTERNAL, "the gateway failed reading this data")

// panicked logs a batch function's panic (or a wrong count of results),
// which the keys' callers see as an internal error: the process goes on.
func panicked(r any) {
	buf := make([]byte, 8<<10)
	buf = buf[:runtime.Stack(buf, false)]
	slog.Error("loader: a batch failed", "panic", fmt.Sprint(r), "stack", string(buf))
}
