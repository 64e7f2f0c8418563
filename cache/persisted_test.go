package cache

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPersistedQueries(t *testing.T) {
	ctx := context.Background()
	p := NewPersistedQueries(NewMemoryStore(), 0)
	_, ok := p.Get(ctx, "abc")
	assert.False(t, ok, "an unknown hash is a miss")
	p.Add(ctx, "abc", "{ countries { name } }")
	q, ok := p.Get(ctx, "abc")
	assert.True(t, ok)
	assert.Equal(t, "{ countries { name } }", q)
}

// failingStore fails every call, as a Redis that went away.
type failingStore struct{ Store }

func (failingStore) Get(context.Context, []string) ([]Entry, error) {
	return nil, errors.New("store down")
}
func (failingStore) Set(context.Context, []Item) error { return errors.New("store down") }

func TestPersistedQueriesFailOpen(t *testing.T) {
	p := NewPersistedQueries(failingStore{}, 0)
	p.Add(context.Background(), "abc", "{ x }")
	_, ok := p.Get(context.Background(), "abc")
	assert.False(t, ok, "a store failure is a miss: the client sends the text again")
}
