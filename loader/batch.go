package loader

import (
	"context"
	"strings"
	"sync"

	"github.com/engagegql/gateway/workplace"
)

// fanOut batches a route that lists children of one parent per call: one call
// per distinct key, at most limit at once.
func fanOut[K comparable, V any](list func(context.Context, K) (V, error), limit int) BatchFunc[K, V] {
	return func(ctx context.Context, keys []K) []*Result[V] {
		out := make([]*Result[V], len(keys))
		sem := make(chan struct{}, limit)
		var wg sync.WaitGroup
		for i, k := range keys {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				v, err := list(ctx, k)
				out[i] = &Result[V]{Data: v, Error: err}
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
func usersByEmail(svc workplace.Hierarchy, everyUser func(context.Context) ([]workplace.User, error), listAllAnyway func() bool, listAll, limit int) BatchFunc[string, workplace.User] {
	return func(ctx context.Context, emails []string) []*Result[workplace.User] {
		if len(emails) < listAll && !listAllAnyway() {
			return fanOut(func(ctx context.Context, email string) (workplace.User, error) {
				us, err := svc.Users(ctx, email)
				if err != nil {
					return workplace.User{}, err
				}
				return matchEmail(us, email)
			}, limit)(ctx, emails)
		}
		out := make([]*Result[workplace.User], len(emails))
		us, err := everyUser(ctx)
		for i, email := range emails {
			if err != nil {
				out[i] = &Result[workplace.User]{Error: err}
				continue
			}
			u, err := matchEmail(us, email)
			out[i] = &Result[workplace.User]{Data: u, Error: err}
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
