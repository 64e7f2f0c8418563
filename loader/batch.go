package loader

import (
	"context"
	"strings"
	"sync"

	"github.com/engagegql/gateway/workplace"

	"github.com/graph-gophers/dataloader/v7"
)

// byParentOrAll batches a route that lists children by parent id, where id 0
// lists every child: one key asks for one parent, several keys (or key 0)
// cost one call for everything, split by parent here; a parent nothing is
// listed under costs a call of its own, to tell empty from unknown.
//
// The whole list, once fetched, answers every later batch of the operation
// too (the returned function is per loader, so per operation): when a busy
// CPU lets a batch window close before every key of a level arrived, the
// late keys cost no second call.
func byParentOrAll[K comparable, V any](list func(context.Context, K) ([]V, error), parent func(V) K) dataloader.BatchFunc[K, []V] {
	var (
		mu  sync.Mutex
		all []V // nil until the whole list was fetched
	)
	return func(ctx context.Context, keys []K) []*dataloader.Result[[]V] {
		var zero K
		out := make([]*dataloader.Result[[]V], len(keys))
		mu.Lock()
		items := all
		mu.Unlock()
		if items == nil {
			if len(keys) == 1 && keys[0] != zero {
				v, err := list(ctx, keys[0])
				out[0] = &dataloader.Result[[]V]{Data: v, Error: err}
				return out
			}
			var err error
			if items, err = list(ctx, zero); err != nil {
				for i := range out {
					out[i] = &dataloader.Result[[]V]{Error: err}
				}
				return out
			}
			if items == nil {
				items = []V{}
			}
			mu.Lock()
			all = items
			mu.Unlock()
		}
		for i, k := range keys {
			res := []V{}
			for _, it := range items {
				if k == zero || parent(it) == k {
					res = append(res, it)
				}
			}
			if len(res) == 0 && k != zero {
				// Nothing is listed under k: it has no children, or it does
				// not exist. Only asking for k alone tells which, so k is
				// answered as it would be unbatched (an unknown parent is
				// NOT_FOUND, not an empty list).
				v, err := list(ctx, k)
				out[i] = &dataloader.Result[[]V]{Data: v, Error: err}
				continue
			}
			out[i] = &dataloader.Result[[]V]{Data: res}
		}
		return out
	}
}

// fanOut batches a route that lists children of one parent per call: one call
// per distinct key, at most limit at once.
func fanOut[K comparable, V any](list func(context.Context, K) (V, error), limit int) dataloader.BatchFunc[K, V] {
	return func(ctx context.Context, keys []K) []*dataloader.Result[V] {
		out := make([]*dataloader.Result[V], len(keys))
		sem := make(chan struct{}, limit)
		var wg sync.WaitGroup
		for i, k := range keys {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				v, err := list(ctx, k)
				out[i] = &dataloader.Result[V]{Data: v, Error: err}
			}()
		}
		wg.Wait()
		return out
	}
}

// usersByEmail batches user lookups: a few emails cost one call each, more
// cost one call listing every user, whichever is fewer upstream calls. The
// list of every user comes from everyUser, which the operation shares with
// User(id), so it is fetched at most once per operation. A batch of fewer
// than listAll emails reads that list too when listAllAnyway reports that
// the operation has listed every user already, or that the bookings it read
// and the visitors it shows name listAll people or more: sibling fields
// fall into batches as the scheduler runs them, and a first batch of one or
// two of those people would otherwise cost a call each before a later one
// listed everyone.
func usersByEmail(svc workplace.Hierarchy, everyUser func(context.Context) ([]workplace.User, error), listAllAnyway func() bool, listAll, limit int) dataloader.BatchFunc[string, workplace.User] {
	return func(ctx context.Context, emails []string) []*dataloader.Result[workplace.User] {
		if len(emails) < listAll && !listAllAnyway() {
			return fanOut(func(ctx context.Context, email string) (workplace.User, error) {
				us, err := svc.Users(ctx, email)
				if err != nil {
					return workplace.User{}, err
				}
				return matchEmail(us, email)
			}, limit)(ctx, emails)
		}
		out := make([]*dataloader.Result[workplace.User], len(emails))
		us, err := everyUser(ctx)
		for i, email := range emails {
			if err != nil {
				out[i] = &dataloader.Result[workplace.User]{Error: err}
				continue
			}
			u, err := matchEmail(us, email)
			out[i] = &dataloader.Result[workplace.User]{Data: u, Error: err}
		}
		return out
	}
}

func matchEmail(us []workplace.User, email string) (workplace.User, error) {
	for _, u := range us {
		if strings.EqualFold(u.Email, email) {
			return u, nil
		}
	}
	return workplace.User{}, workplace.Errorf(workplace.ENOTFOUND, "no user has the email %q", email)
}
