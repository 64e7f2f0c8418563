package loader

import (
	"context"
	"sync"

	"github.com/engagegql/gateway/workplace"
)

// keyLoader is what resolvers need of a loader: *Loader, or one
// that peeks first.
type keyLoader[K comparable, V any] interface {
	Load(ctx context.Context, key K) Thunk[V]
	LoadMany(ctx context.Context, keys []K) ThunkMany[V]
}

// peeking is a dataloader that first asks for a key from what the gateway
// holds (workplace.StoreOnly: the cache and the mirror, never the
// upstream). A hit is answered at once, so a warm operation never waits
// out a batching window; only misses are batched, as before, and only
// they can reach the upstream. A hit is kept for the rest of the
// operation, as the dataloader keeps what it loaded. A key is peeked at
// most once an operation: the resolvers that ask for it meanwhile (every
// room of a query asking for the hierarchy above it) wait for that one
// read of the store, and a miss is not peeked again. Peeks never wait
// for a window, yet they are batched all the same: the keys asked for
// while one peek reads the store are read together as soon as it ends
// (nine rooms' bookings cost two round trips to the store, not nine).
type peeking[K comparable, V any] struct {
	ld    *Loader[K, V]
	peek  BatchFunc[K, V]
	mu    sync.Mutex
	peeks map[K]*peeked[V]

	qmu    sync.Mutex
	flying bool // a peek is reading the store
	queue  []queued[K, V]
}

// queued is a key whose peek waits for the one in flight to end, with the
// context it was asked in (a batch is read in its first key's).
type queued[K comparable, V any] struct {
	ctx context.Context
	key K
	pk  *peeked[V]
}

// peeked is one key's peek: done is closed once v and ok are set.
type peeked[V any] struct {
	done chan struct{}
	v    V
	ok   bool
}

// newPeeking is newLoader with the peek in front, where svc can be
// peeked into (workplace.StoreOnlyReader); otherwise it is newLoader.
func newPeeking[K comparable, V any](svc workplace.Service, fn BatchFunc[K, V], opts Options) *peeking[K, V] {
	p := &peeking[K, V]{ld: newLoader(fn, opts), peeks: map[K]*peeked[V]{}}
	if _, ok := svc.(workplace.StoreOnlyReader); ok {
		p.peek = limited(fn)
	}
	return p
}

// Load implements keyLoader.
func (p *peeking[K, V]) Load(ctx context.Context, key K) Thunk[V] {
	if p.peek != nil && !workplace.IsStoreOnly(ctx) {
		// A miss is asked of the loader once the store has answered: a
		// batch gathering meanwhile waits for it.
		defer p.ld.Expect()()
	}
	if v, ok := p.held(ctx, key); ok {
		return func() (V, error) { return v, nil }
	}
	if workplace.IsStoreOnly(ctx) {
		// A peek's own load (a batch function loading through another
		// loader) must not run, nor be remembered, as the operation's.
		return func() (V, error) { var zero V; return zero, workplace.ErrNotHeld }
	}
	return p.ld.Load(ctx, key)
}

// LoadMany implements keyLoader: the hits at once, the misses in one batch.
func (p *peeking[K, V]) LoadMany(ctx context.Context, keys []K) ThunkMany[V] {
	if p.peek != nil && !workplace.IsStoreOnly(ctx) {
		defer p.ld.Expect()()
	}
	vs := make([]V, len(keys))
	var missed []int
	var missing []K
	for i, k := range keys {
		if v, ok := p.held(ctx, k); ok {
			vs[i] = v
			continue
		}
		missed = append(missed, i)
		missing = append(missing, k)
	}
	if len(missing) == 0 {
		return func() ([]V, []error) { return vs, nil }
	}
	if workplace.IsStoreOnly(ctx) {
		errs := make([]error, len(keys))
		for _, i := range missed {
			errs[i] = workplace.ErrNotHeld
		}
		return func() ([]V, []error) { return vs, errs }
	}
	thunk := p.ld.LoadMany(ctx, missing)
	return func() ([]V, []error) {
		got, errs := thunk()
		var out []error
		if len(errs) > 0 {
			out = make([]error, len(keys))
		}
		for j, i := range missed {
			if j < len(got) {
				vs[i] = got[j]
			}
			if j < len(errs) {
				out[i] = errs[j]
			}
		}
		return vs, out
	}
}

// held answers key from what the gateway holds, or reports it cannot.
// Only a value is taken: an error, whatever it is, is the batch's to give.
func (p *peeking[K, V]) held(ctx context.Context, key K) (V, bool) {
	p.mu.Lock()
	pk, found := p.peeks[key]
	if !found {
		pk = &peeked[V]{done: make(chan struct{})}
		if p.peek == nil {
			close(pk.done)
		}
		p.peeks[key] = pk
	}
	p.mu.Unlock()
	if found && workplace.IsStoreOnly(ctx) {
		// A peek's own load waits for no other peek, so two peeks can
		// never wait for each other; it reads the store itself.
		select {
		case <-pk.done:
			return pk.v, pk.ok
		default:
			return p.peekOnce(ctx, key)
		}
	}
	if !found && p.peek != nil {
		p.join(ctx, key, pk)
	}
	select {
	case <-pk.done:
		return pk.v, pk.ok
	case <-ctx.Done():
		var zero V
		return zero, false
	}
}

// join peeks key at once when no peek is in flight; otherwise queues it
// for the batch that follows.
func (p *peeking[K, V]) join(ctx context.Context, key K, pk *peeked[V]) {
	q := queued[K, V]{ctx: ctx, key: key, pk: pk}
	p.qmu.Lock()
	if p.flying {
		p.queue = append(p.queue, q)
		p.qmu.Unlock()
		return
	}
	p.flying = true
	p.qmu.Unlock()
	p.answer([]queued[K, V]{q})
}

// answer peeks batch and answers each of its keys; then it hands the keys
// queued meanwhile to a goroutine of their own, so the caller that ran
// this batch is not held by the next.
func (p *peeking[K, V]) answer(batch []queued[K, V]) {
	defer func() {
		// Every key is answered, a miss if the peek failed or panicked;
		// after a panic, so are the keys queued meanwhile, and the next
		// peek runs afresh. A panic is not raised again (this may be a
		// goroutine of the peeks' own): each key's load that follows runs
		// the same batch function in the dataloader, which reports it.
		r := recover()
		if r != nil {
			p.qmu.Lock()
			batch = append(batch, p.queue...)
			p.queue, p.flying = nil, false
			p.qmu.Unlock()
		}
		for _, q := range batch {
			select {
			case <-q.pk.done:
			default:
				close(q.pk.done)
			}
		}
	}()
	keys := make([]K, len(batch))
	for i, q := range batch {
		keys[i] = q.key
	}
	res := p.peek(workplace.StoreOnly(batch[0].ctx), keys)
	for i, q := range batch {
		q.pk.v, q.pk.ok = hit(res, i)
		close(q.pk.done)
	}
	p.qmu.Lock()
	next := p.queue
	p.queue = nil
	if len(next) == 0 {
		p.flying = false
	}
	p.qmu.Unlock()
	if len(next) > 0 {
		go p.answer(next)
	}
}

// peekOnce reads key from the store alone.
func (p *peeking[K, V]) peekOnce(ctx context.Context, key K) (V, bool) {
	return hit(p.peek(workplace.StoreOnly(ctx), []K{key}), 0)
}

// hit is the i-th result of a peek if it is a value: a peek's error, of
// whatever kind, is a miss.
func hit[V any](res []*Result[V], i int) (V, bool) {
	if i < len(res) && res[i] != nil && res[i].Error == nil {
		return res[i].Data, true
	}
	var zero V
	return zero, false
}

// Prime gives key its value for the rest of the operation, if it has none.
// A key never asked for is answered by the peek's record alone, which costs
// the dataloader nothing; one already asked for is primed there as well.
func (p *peeking[K, V]) Prime(ctx context.Context, key K, v V) {
	p.mu.Lock()
	_, asked := p.peeks[key]
	if !asked {
		pk := &peeked[V]{done: make(chan struct{}), v: v, ok: true}
		close(pk.done)
		p.peeks[key] = pk
	}
	p.mu.Unlock()
	if asked {
		p.ld.Prime(key, v)
	}
}
