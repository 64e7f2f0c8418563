// Package socket serves GraphQL over websockets in the two protocols clients
// speak: graphql-transport-ws (the protocol of the graphql-ws library) and
// the legacy graphql-ws (of subscriptions-transport-ws). It is a
// graphql.Transport in place of gqlgen's websocket transport, which keeps a
// socket without connection_init open forever, runs any number of
// operations under one id, and closes on invalid messages with codes the
// protocol does not define. Here every socket obeys its protocol and holds a
// bounded amount:
//
//   - connection_init must arrive within InitTimeout (4408 otherwise);
//   - an operation id stays unique while the operation runs (4409, or in
//     the legacy protocol the new operation replaces the old, as its
//     reference server does);
//   - invalid messages close the socket with 4400 and a reason (the legacy
//     protocol answers connection_error instead and reads on, as its
//     protocol says);
//   - at most MaxOperations run at once, and Admit may refuse more (a
//     client's cap across sockets and replicas), each refusal answered with
//     an error for that operation while the socket stays open.
//
// The websocket itself is accepted by a transport.WebsocketImplementation,
// gqlgen's adapter interface, so origin checks and the shutdown drainer wrap
// it as they wrapped gqlgen's transport.
//
//	socket.go     the Transport, its subprotocols and close codes
//	conn.go       one connection: its reader, init deadline, keep-alive and close
//	operation.go  a connection's operations: their ids, the cap, how each runs
//	shared.go     shared subscriptions: a fanout stream, results queued
//	upgrade.go    coder/websocket, adapted to write ready-made frames
package socket

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/engagegql/gateway/fanout"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// The subprotocols, as negotiated on the upgrade.
const (
	// TransportWS is graphql-transport-ws, the protocol of the graphql-ws
	// library (github.com/enisdenjo/graphql-ws, PROTOCOL.md).
	TransportWS = "graphql-transport-ws"
	// LegacyWS is graphql-ws, the protocol of Apollo's
	// subscriptions-transport-ws; a client that names no subprotocol gets
	// it, as from gqlgen.
	LegacyWS = "graphql-ws"
)

// Close codes of graphql-transport-ws; the legacy protocol defines none and
// gets the same.
const (
	CloseBadRequest          = 4400 // an invalid message; the reason says what is wrong
	CloseUnauthorized        = 4401 // an operation before connection_ack, or a refused credential
	CloseForbidden           = 4403 // the connection was refused
	CloseInitTimeout         = 4408 // no connection_init within InitTimeout
	CloseSubscriberExists    = 4409 // an id still in use
	CloseTooManyInitRequests = 4429 // a second connection_init
)

// Close codes of RFC 6455 the transport uses.
const (
	closeNormal          = 1000
	closePolicyViolation = 1008
	closeInternalError   = 1011
)

// CodeTooManySubscriptions is the extensions.code of an operation refused
// because its socket, or its client, has as many running as it may.
const CodeTooManySubscriptions = "TOO_MANY_SUBSCRIPTIONS"

// Defaults of the zero Transport.
const (
	DefaultInitTimeout   = 10 * time.Second
	DefaultMaxOperations = 100
	defaultReadLimit     = 1 << 20
)

// Transport serves GraphQL over websockets. The zero value is usable; its
// fields are read only.
type Transport struct {
	// Upgrader accepts the websocket; nil means an Upgrader with its
	// defaults. A shared subscription's results are written as they were
	// encoded when its conns are TextWriters.
	Upgrader transport.WebsocketImplementation
	// Init decides on connection_init, given its payload (an empty map when
	// it has none): it returns the context the connection's operations run
	// in, or an error that refuses the connection. A *CloseError names the
	// close code; any other error closes with 4403 and its text. Nil
	// accepts every connection.
	Init func(ctx context.Context, payload map[string]any) (context.Context, error)
	// InitTimeout is how long a socket may stay open without
	// connection_init; zero means DefaultInitTimeout.
	InitTimeout time.Duration
	// KeepAlive is how often an initialised connection is pinged: a
	// graphql-transport-ws "ping", which the client must answer with a
	// "pong" within two intervals or be dropped, or a legacy "ka". Zero
	// sends none.
	KeepAlive time.Duration
	// MaxOperations is how many operations one socket may run at once
	// (subscriptions, and queries or mutations sent over it while they
	// run); zero means DefaultMaxOperations.
	MaxOperations int
	// Admit is asked before each operation runs, with the context Init
	// returned. It refuses with a GraphQL error, which the client gets for
	// that operation while the socket stays open; or it admits, and the
	// release it returns (if not nil) is called once the operation has
	// ended. Nil admits every operation.
	Admit func(ctx context.Context) (release func(), refusal *gqlerror.Error)
	// ReadLimit is the largest message a client may send, in bytes; larger
	// ones close the socket (1009). Zero means 1 MiB.
	ReadLimit int64
	// Shared, when set, runs each distinct subscription once for every
	// operation of every socket that asks for it (see package fanout); a
	// subscription then holds no goroutine of its own, and its results are
	// queued on its connection, whose writer runs while it has any. Nil
	// runs each subscription on its own.
	Shared *fanout.Hub
	// ErrorLog hears of a panic serving a connection; nil means
	// slog.Default().
	ErrorLog *slog.Logger
	// Closed is called once for every accepted socket once it has closed,
	// with the context Init returned (the request's before Init). Nil
	// means none.
	Closed func(ctx context.Context)
}

var _ graphql.Transport = Transport{}

// CloseError refuses a connection from Init: the socket is closed with
// Code and Reason (at most 123 bytes are sent), and a legacy client is first
// told Reason in a connection_error.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string { return e.Reason }

// Supports implements graphql.Transport: every upgrade request.
func (t Transport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") != ""
}

// Do implements graphql.Transport: it accepts the websocket and serves it
// until it closes, in a goroutine of its own: Do returns once the socket is
// accepted, and the connection keeps the request's values but not its
// context's end. The server's shutdown reaches it through the Upgrader (a
// close frame, which the client answers).
func (t Transport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	up := t.Upgrader
	if up == nil {
		up = Upgrader{}
	}
	ws, err := up.Accept(w, r, transport.WebsocketAcceptOptions{
		ResponseHeader: http.Header{},
		Subprotocols:   []string{TransportWS, LegacyWS},
	})
	if err != nil {
		// The implementation has answered the request (403 for an origin,
		// 400 or 426 for a bad upgrade).
		return
	}
	limit := t.ReadLimit
	if limit <= 0 {
		limit = defaultReadLimit
	}
	if l, ok := ws.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
	go newConn(t, ws, r, exec).serve()
}
