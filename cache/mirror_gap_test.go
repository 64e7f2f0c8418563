package cache

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMirrorAsksAboutTheFleetOnEveryReturnOfTheStore: when the store
// answers again, the mirror asks whether the fleet's heartbeat is older
// than Engage retries a delivery, however briefly this replica saw the
// store fail (its first failure may come long after the store stopped
// answering). The fleet was deaf, so what was held is dropped before
// anything read from the store is served: the first read after the return
// goes to Engage.
func TestMirrorAsksAboutTheFleetOnEveryReturnOfTheStore(t *testing.T) {
	ctx := context.Background()
	st := &switchedStore{Store: NewMemoryStore()}
	h := newHeldTenant(t, st, true)
	h.hold(t)
	from, to := day0.AddDays(-3), day0.AddDays(10)
	read := func() {
		t.Helper()
		_, err := h.svc.Bookings(ctx, 101, from, to)
		require.NoError(t, err)
	}
	calls := h.inner.n("Bookings")
	read()
	require.Equal(t, calls, h.inner.n("Bookings"), "the window is held")

	// No replica renewed the heartbeat for five minutes.
	deaf := h.svc.now().Add(-5 * time.Minute)
	require.NoError(t, st.Set(ctx, []Item{{Key: mirrorAliveKey(), Value: []byte(strconv.FormatInt(deaf.UnixMilli(), 10)), TTL: time.Hour, Unconditional: true}}))

	// The store fails once, and answers again at the next probe.
	st.down.Store(true)
	read()
	st.down.Store(false)
	time.Sleep(h.svc.opts.RetryInterval + 100*time.Millisecond)

	calls = h.inner.n("Bookings")
	read()
	require.Greater(t, h.inner.n("Bookings"), calls, "a held day was served after the fleet missed notifications")
	gap, err := st.Get(ctx, []string{mirrorGapKey()})
	require.NoError(t, err)
	require.False(t, gap[0].Found, "the resync consumed its mark")
}
