package cache

import (
	"context"
	"time"
)

// PersistedQueryTTL is how long a persisted query's text is kept after it
// was last registered; a client whose hash has expired sends the text again.
const PersistedQueryTTL = 7 * 24 * time.Hour

// PersistedQueries keeps the texts of automatic persisted queries (the
// Apollo protocol: a client sends a query's SHA-256 hash and, when the
// gateway does not know it, the text once) in the store, so with Redis every
// replica knows every hash. It has the method set of gqlgen's
// graphql.Cache[string]. The store failing is a miss: the client then sends
// the text, so nothing is lost.
type PersistedQueries struct {
	store   Store
	timeout time.Duration
}

// NewPersistedQueries keeps persisted queries in store; each store round
// trip is bounded by timeout (zero means the cache's default).
func NewPersistedQueries(store Store, timeout time.Duration) *PersistedQueries {
	if timeout <= 0 {
		timeout = defaultOpTimeout
	}
	return &PersistedQueries{store: store, timeout: timeout}
}

// Get returns the text registered for hash.
func (p *PersistedQueries) Get(ctx context.Context, hash string) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	es, err := p.store.Get(ctx, []string{persistedQueryKey(hash)})
	if err != nil || len(es) != 1 || !es[0].Found {
		return "", false
	}
	return string(es[0].Value), true
}

// Add registers the text of hash. gqlgen calls it only after checking that
// the text hashes to hash, so a client cannot plant another query under a
// known hash.
func (p *PersistedQueries) Add(ctx context.Context, hash, query string) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	_ = p.store.Set(ctx, []Item{{Key: persistedQueryKey(hash), Value: []byte(query), TTL: PersistedQueryTTL, Unconditional: true}})
}
