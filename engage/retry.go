package engage

// This file decides which failed attempts are tried again, and after how
// long. Reads are retried on any transient failure; writes only when the
// upstream certainly did not process them, because a second booking is worse
// than an error.

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"time"
)

// Retry configures how the client tries a failed call again.
type Retry struct {
	// Attempts is the total number of attempts per call; zero =
	// DefaultRetryAttempts; 1 disables retries. The one retry with a fresh
	// token after a rejected token is not counted.
	Attempts int
	// BaseDelay is the backoff before the first retry, doubled for each
	// next one, with full jitter (a random wait between zero and it) so
	// that callers failed by the same outage do not come back in step;
	// zero = DefaultRetryBaseDelay.
	BaseDelay time.Duration
	// MaxDelay caps one backoff wait, and is the longest Retry-After of a
	// 429 (or 403 out of quota) the client waits out itself; a longer one
	// fails the call at once. Zero = DefaultRetryMaxDelay.
	MaxDelay time.Duration
}

// Defaults of Retry.
const (
	DefaultRetryAttempts  = 3
	DefaultRetryBaseDelay = 100 * time.Millisecond
	DefaultRetryMaxDelay  = 2 * time.Second
)

// withDefaults fills the zero fields.
func (r Retry) withDefaults() Retry {
	if r.Attempts == 0 {
		r.Attempts = DefaultRetryAttempts
	}
	if r.BaseDelay == 0 {
		r.BaseDelay = DefaultRetryBaseDelay
	}
	if r.MaxDelay == 0 {
		r.MaxDelay = DefaultRetryMaxDelay
	}
	return r
}

// backoff is the wait before retry n (1 for the first retry): a random
// duration up to min(MaxDelay, BaseDelay·2^(n-1)) ("full jitter").
func (r Retry) backoff(n int) time.Duration {
	ceiling := r.BaseDelay
	for i := 1; i < n && ceiling < r.MaxDelay; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, r.MaxDelay)
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// isDialError reports whether err is a failure to connect: the request never
// reached the upstream, so even a write may be sent again.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// isTimeout reports whether err is a timeout of the attempt itself (the
// per-attempt RequestTimeout), as opposed to the caller's context ending.
func isTimeout(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
