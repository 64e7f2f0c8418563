package main

// On Linux the load reads each message's arrival from the kernel: the
// time its last packet reached the socket (SO_TIMESTAMPNS), not the time
// the load's reader got round to it. A load sharing the gateway's cores
// then measures the gateway's delivery, however late it reads.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
	"unsafe"
)

// stampedConn is a connection whose reads note when the kernel received
// the bytes they return.
type stampedConn struct {
	net.Conn
	rc  syscall.RawConn
	oob []byte
	at  time.Time
}

// kernelStamps says that arrivals are the kernel's receive times.
const kernelStamps = true

// stamped asks the kernel to time conn's packets as they arrive.
func stamped(conn net.Conn) (*stampedConn, error) {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return nil, fmt.Errorf("not a TCP connection: %T", conn)
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, fmt.Errorf("SO_TIMESTAMPNS: %w", serr)
	}
	return &stampedConn{Conn: conn, rc: rc, oob: make([]byte, syscall.CmsgSpace(int(unsafe.Sizeof(syscall.Timespec{}))))}, nil
}

// Read reads as the connection would, and notes the kernel's receive time
// of the last packet it read.
func (c *stampedConn) Read(p []byte) (int, error) {
	var n, oobn int
	var rerr error
	err := c.rc.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), p, c.oob, 0)
		return !errors.Is(rerr, syscall.EAGAIN)
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, rerr
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	c.at = time.Now()
	if msgs, err := syscall.ParseSocketControlMessage(c.oob[:oobn]); err == nil {
		for _, m := range msgs {
			if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
				ts := (*syscall.Timespec)(unsafe.Pointer(&m.Data[0]))
				c.at = time.Unix(ts.Unix())
			}
		}
	}
	return n, nil
}

// arrived is when the bytes of the last read reached the socket.
func (c *stampedConn) arrived() time.Time { return c.at }
