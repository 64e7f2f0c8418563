package main

// A gate the readers wait at while a change is made (-defer-reads): the
// load then reads nothing while the gateway delivers, as subscribers on
// machines of their own would take nothing of its cores, and the kernel's
// receive times still time each arrival.

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// gate is open or shut; readers wait at it while it is shut.
type gate struct {
	mu     sync.Mutex
	open   chan struct{} // closed while the gate is open
	parked atomic.Int64  // readers waiting at it
}

func newGate() *gate {
	g := &gate{open: make(chan struct{})}
	close(g.open)
	return g
}

// shut makes readers wait from their next read on.
func (g *gate) shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
		g.open = make(chan struct{})
	default:
	}
}

// lift lets the readers read again.
func (g *gate) lift() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
	default:
		close(g.open)
	}
}

// wait returns once the gate is open or ctx ends.
func (g *gate) wait(ctx context.Context) error {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	select {
	case <-open:
		return nil
	default:
	}
	g.parked.Add(1)
	defer g.parked.Add(-1)
	select {
	case <-open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// gatedConn reads from a stampedConn only while its gate is open. A read
// waiting for data when the gate shuts is woken by a deadline in the past
// (kick) and waits at the gate instead.
type gatedConn struct {
	*stampedConn
	ctx    context.Context
	gate   *gate
	kicked atomic.Bool
}

func (c *gatedConn) Read(p []byte) (int, error) {
	for {
		if err := c.gate.wait(c.ctx); err != nil {
			return 0, err
		}
		n, err := c.stampedConn.Read(p)
		if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) && c.kicked.Swap(false) {
			_ = c.stampedConn.SetReadDeadline(time.Time{})
			continue
		}
		return n, err
	}
}

// kick wakes a read waiting for data, so that it goes back to the gate.
func (c *gatedConn) kick() {
	c.kicked.Store(true)
	_ = c.stampedConn.SetReadDeadline(time.Unix(1, 0))
}
