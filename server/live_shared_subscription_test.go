package server

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/pubsub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSubscriptionsThatAskTheSameShareOneStream: websocket subscriptions of
// both protocols and SSE streams that send the same operation with the
// same variables share one reader of the change feed, which resolves each
// change once for all of them: every subscriber gets every change once, the
// upstream is called as for one subscriber, and the stream ends with its
// last subscriber. Other variables make a stream of their own.
func TestSubscriptionsThatAskTheSameShareOneStream(t *testing.T) {
	// The two streams re-read the changed booking at once: the loaders'
	// window must hold both reads in one batch on a loaded machine, for
	// the exact counts below (as in api_callcount_test.go).
	e := newSubEnv(t, pubsub.Options{}, func(d *serverDeps) { d.loaders = loader.Options{Wait: ccWait} })
	vars := map[string]any{"r": []string{e.fx.room}}

	type wsSub struct {
		w          *rawWS
		next, stop string
	}
	var sockets []wsSub
	for i := range 18 {
		proto, start, next, stop := "graphql-transport-ws", "subscribe", "next", "complete"
		if i%3 == 0 {
			proto, start, next, stop = "graphql-ws", "start", "data", "stop"
		}
		w := dialRaw(t, e.gwURL, proto)
		w.write(t, e.subscribeMessage("s", start))
		sockets = append(sockets, wsSub{w, next, stop})
	}
	var streams []*subStream
	var stops []func()
	for range 2 {
		s, stop := startSSE(t, e.gwURL, bookingSubscription, vars)
		s.expect(t, "ready")
		streams, stops = append(streams, s), append(stops, stop)
	}
	e.subscribers(t, 20)
	assert.Equal(t, 1, e.broker.Subscribers(), "twenty subscriptions, one reader of the feed")

	// The same subscription for the location: other variables, another stream.
	other := dialRaw(t, e.gwURL, "graphql-transport-ws")
	other.write(t, map[string]any{"id": "o", "type": "subscribe", "payload": map[string]any{
		"query": bookingSubscription, "variables": map[string]any{"l": e.fx.location},
	}})
	e.subscribers(t, 21)
	assert.Equal(t, 2, e.broker.Subscribers())

	// Each change reaches each subscriber once, resolved once.
	receive := func(t *testing.T, ws []wsSub, ss []*subStream) (payloads []string) {
		t.Helper()
		for _, s := range ws {
			m := s.w.expect(t, s.next)
			assert.Equal(t, "s", m.ID)
			payloads = append(payloads, string(m.Payload))
		}
		for _, s := range ss {
			payloads = append(payloads, string(s.expect(t, "next").Payload))
		}
		return payloads
	}
	var calls []int
	for i := 1; i <= 2; i++ {
		e.resetStats(t)
		e.publish(t, e.bookingChange(t, i))
		got := receive(t, sockets, streams)
		require.Len(t, got, 20)
		var ev bookingEvent
		require.NoError(t, json.Unmarshal([]byte(got[0]), &ev), got[0])
		assert.Equal(t, e.fx.bookingID, ev.Data.BookingChanged.BookingID)
		at, err := time.Parse(time.RFC3339, ev.Data.BookingChanged.At)
		require.NoError(t, err)
		assert.True(t, e.bookingChange(t, i).At.Equal(at),
			"change %d, once: the next message after change %d is change %d's", i, i-1, i)
		for _, p := range got {
			assert.JSONEq(t, got[0], p, "one result, the same for all")
		}
		other.expect(t, "next")
		calls = append(calls, e.stats(t).TotalCalls)
	}

	// All but one leave: the stream goes on for it, and costs the same.
	for _, s := range sockets[1:] {
		require.NoError(t, s.w.c.Close(websocket.StatusNormalClosure, ""))
	}
	for _, stop := range stops {
		stop()
	}
	e.subscribers(t, 2)
	assert.Equal(t, 2, e.broker.Subscribers())
	e.resetStats(t)
	e.publish(t, e.bookingChange(t, 3))
	receive(t, sockets[:1], nil)
	other.expect(t, "next")
	assert.Equal(t, calls[1], e.stats(t).TotalCalls, "twenty subscribers cost what one does")
	assert.Equal(t, calls[0], calls[1])

	// The last one stops: so does its stream.
	sockets[0].w.write(t, map[string]any{"id": "s", "type": sockets[0].stop})
	e.subscribers(t, 1)
	assert.Equal(t, 1, e.broker.Subscribers())
}
