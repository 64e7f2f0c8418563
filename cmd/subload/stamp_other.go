//go:build !linux

package main

import (
	"net"
	"time"
)

// stampedConn notes when each read returned: elsewhere than on Linux the
// load has no receive times from the kernel.
type stampedConn struct {
	net.Conn
	at time.Time
}

// kernelStamps says that arrivals are the reads' times.
const kernelStamps = false

func stamped(conn net.Conn) (*stampedConn, error) { return &stampedConn{Conn: conn}, nil }

func (c *stampedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.at = time.Now()
	return n, err
}

func (c *stampedConn) arrived() time.Time { return c.at }
