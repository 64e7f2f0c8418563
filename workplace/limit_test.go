package workplace

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLimited(t *testing.T) {
	t.Run("without a limit, the context itself", func(t *testing.T) {
		ctx := context.Background()
		got, cancel := Limited(ctx)
		defer cancel()
		assert.Equal(t, ctx, got)
	})
	t.Run("the limit's deadline", func(t *testing.T) {
		deadline := time.Now().Add(time.Hour)
		limit, end := context.WithDeadline(context.Background(), deadline)
		defer end()
		ctx, cancel := Limited(WithLimit(context.Background(), limit))
		defer cancel()
		d, ok := ctx.Deadline()
		require.True(t, ok)
		assert.Equal(t, deadline, d)
	})
	t.Run("ends when the limit ends, though the operation's context goes on", func(t *testing.T) {
		limit, end := context.WithCancel(context.Background())
		op := WithLimit(context.Background(), limit)
		ctx, cancel := Limited(op)
		defer cancel()
		end()
		<-ctx.Done()
		assert.ErrorIs(t, ctx.Err(), context.Canceled)
		assert.NoError(t, op.Err())
	})
}
