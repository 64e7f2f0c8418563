package budget

import (
	"context"
	"testing"
	"time"

	"github.com/engagegql/gateway/engage"
	"github.com/engagegql/gateway/fleet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUpstreamBudgetKeepsAReserveForInteractiveCalls(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	b := Upstream{
		Limiter: fleet.NewMemoryLimiter(func() time.Time { return now }),
		Minute:  fleet.Rate{Events: 60, Per: time.Minute, Burst: 9},
		Week:    fleet.Rate{Events: 40_000, Per: 7 * 24 * time.Hour, Burst: 10_000},
		Reserve: 0.5,
	}
	ctx := context.Background()
	background := 0
	for {
		wait, err := b.Take(ctx, "key", engage.Background)
		require.NoError(t, err)
		if wait > 0 {
			break
		}
		background++
	}
	assert.Equal(t, 5, background, "background work stops at half the burst")
	interactive := 0
	for {
		wait, err := b.Take(ctx, "key", engage.Interactive)
		require.NoError(t, err)
		if wait > 0 {
			assert.LessOrEqual(t, wait, time.Second, "the next call is a second away at 60 a minute")
			break
		}
		interactive++
	}
	assert.Equal(t, 5, interactive, "the rest of the burst is kept for calls a user waits on")
	assert.Zero(t, b.Remaining("key"))
}
