package loader

import (
	"context"
	"sync"

	"github.com/graph-gophers/dataloader/v7"
)

// byParentOrAll batches a route that lists children by parent id, where id 0
// lists every child: one key asks for one parent, several keys (or key 0)
// cost one call for everything, split by parent here.
func byParentOrAll[K comparable, V any](list func(context.Context, K) ([]V, error), parent func(V) K) dataloader.BatchFunc[K, []V] {
	return func(ctx context.Context, keys []K) []*dataloader.Result[[]V] {
		var zero K
		out := make([]*dataloader.Result[[]V], len(keys))
		if len(keys) == 1 {
			v, err := list(ctx, keys[0])
			out[0] = &dataloader.Result[[]V]{Data: v, Error: err}
			return out
		}
		items, err := list(ctx, zero)
		if err != nil {
			for i := range out {
				out[i] = &dataloader.Result[[]V]{Error: err}
			}
			return out
		}
		for i, k := range keys {
			res := []V{}
			for _, it := range items {
				if k == zero || parent(it) == k {
					res = append(res, it)
				}
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
