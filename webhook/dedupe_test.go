package webhook

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clock is a settable test clock, safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestMemoryDeduper(t *testing.T) {
	clk := &clock{now: testNow()}
	d := NewMemoryDeduper(clk.Now)
	ctx := t.Context()
	steps := []struct {
		name    string
		do      func() (bool, error)
		advance time.Duration
		want    bool
	}{
		{"first claim", func() (bool, error) { return d.Claim(ctx, "a", time.Minute) }, 0, true},
		{"second claim", func() (bool, error) { return d.Claim(ctx, "a", time.Minute) }, 0, false},
		{"other key", func() (bool, error) { return d.Claim(ctx, "b", time.Minute) }, 0, true},
		{"just before expiry", func() (bool, error) { return d.Claim(ctx, "a", time.Minute) }, 59 * time.Second, false},
		{"at expiry", func() (bool, error) { return d.Claim(ctx, "a", time.Minute) }, time.Second, true},
		{"released", func() (bool, error) { require.NoError(t, d.Release(ctx, "a")); return d.Claim(ctx, "a", time.Minute) }, 0, true},
		{"releasing an unknown key", func() (bool, error) { return true, d.Release(ctx, "never") }, 0, true},
	}
	for _, s := range steps {
		clk.advance(s.advance)
		got, err := s.do()
		require.NoError(t, err, s.name)
		assert.Equal(t, s.want, got, s.name)
	}
}

func TestMemoryDeduperSweepsExpired(t *testing.T) {
	clk := &clock{now: testNow()}
	d := NewMemoryDeduper(clk.Now)
	for i := range minSweep - 1 {
		ok, err := d.Claim(t.Context(), fmt.Sprint(i), time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
	}
	assert.Equal(t, minSweep-1, d.size())
	clk.advance(2 * time.Minute)
	ok, err := d.Claim(t.Context(), "fresh", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, 1, d.size(), "the expired claims went with the sweep")
}

func TestMemoryDeduperConcurrentClaims(t *testing.T) {
	d := NewMemoryDeduper(nil)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if ok, _ := d.Claim(t.Context(), "same", time.Hour); ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load())
}
