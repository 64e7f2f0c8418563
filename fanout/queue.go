package fanout

import "sync"

// Queue is a Subscriber for a transport that has a goroutine of its own
// per subscription (an SSE response): it buffers up to its capacity of
// results for that goroutine to read from C.
type Queue struct {
	c    chan []byte
	once sync.Once
	err  error
}

// NewQueue returns a queue that holds up to capacity results; one more
// makes its subscriber fall behind.
func NewQueue(capacity int) *Queue { return &Queue{c: make(chan []byte, capacity)} }

// C delivers the results, and is closed after the last.
func (q *Queue) C() <-chan []byte { return q.c }

// Err is why the stream ended for this subscriber, once C is closed: nil,
// ErrBehind or ErrInternal.
func (q *Queue) Err() error { return q.err }

// Next implements Subscriber.
func (q *Queue) Next(result *Result) bool {
	select {
	case q.c <- result.JSON:
		return true
	default:
		return false
	}
}

// End implements Subscriber.
func (q *Queue) End(err error) {
	q.once.Do(func() {
		q.err = err
		close(q.c)
	})
}
