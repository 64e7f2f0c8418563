package engage

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// errKind says which of the upstream's failure modes an Error is, where the
// HTTP status alone does not (401 is a rejected key or a rejected token; 403
// is a quota or something else).
type errKind int

const (
	kindHTTP            errKind = iota // an answer with an error status, classified by status
	kindBearer                         // 401 from the API for the token, after the one retry
	kindSubscriptionKey                // 401 from API Management for the subscription key
	kindNoKey                          // no key configured for the product; nothing was sent
	kindRateLimited                    // 429, or 403 out of quota, or a call held back by an earlier one
	kindBudget                         // a rate-limited kind: the gateway's own shared budget is spent; nothing was sent
	kindBreakerOpen                    // the product's circuit breaker is open; nothing was sent
	kindNetwork                        // no answer: connection failure, timeout, cancellation
	kindDecode                         // an answer the client cannot read
	kindToken                          // the token provider rejected the credentials
	kindEnvelope                       // a 2xx HierarchyMapping envelope with IsError true
	kindContract                       // a call the gateway must not make (a listed parameter missing); nothing was sent
)

// Error is a failed call to the upstream. Its fields are for operators and
// logs; ErrorCode and ErrorMessage (workplace.Coder) are what a GraphQL
// client sees. Neither ever contains a token, the password or a key.
type Error struct {
	// Status is the HTTP status the upstream answered; 0 when it did not
	// answer (or the call was held back by a rate limit, the shared budget
	// or the circuit breaker).
	Status int
	// Product owns the route; "" for the token provider.
	Product Product
	// Method and Route name the call: Route is the template
	// ("/bookings/{id}"), so errors aggregate by route in logs.
	Method string
	Route  string
	// Message is the upstream's own text ("Room is not available for the
	// requested time.") or, without one, what happened.
	Message string
	// RetryAfter is how long to wait before calling this product again, for
	// rate-limited calls and calls refused by an open circuit breaker.
	RetryAfter time.Duration

	kind errKind
	err  error // the cause, for network failures; already redacted
}

// Error implements error, for logs: it names the call and the upstream's
// message, never a secret.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("engage: ")
	b.WriteString(e.Method)
	b.WriteString(" ")
	b.WriteString(e.Route)
	if e.Product != "" {
		fmt.Fprintf(&b, " (%s)", e.Product)
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, ": %d", e.Status)
	}
	switch e.kind {
	case kindSubscriptionKey:
		fmt.Fprintf(&b, ": the gateway's subscription key for product %s was rejected", e.Product)
	case kindNoKey:
		fmt.Fprintf(&b, ": the gateway has no subscription key for product %s", e.Product)
	case kindBudget:
		fmt.Fprintf(&b, ": the gateway's own call budget for product %s is spent", e.Product)
	case kindBreakerOpen:
		fmt.Fprintf(&b, ": product %s is failing; its circuit breaker is open", e.Product)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.err != nil {
		b.WriteString(": ")
		b.WriteString(e.err.Error())
	}
	return b.String()
}

// Unwrap returns the cause of a network failure, so errors.Is finds
// context.DeadlineExceeded and context.Canceled.
func (e *Error) Unwrap() error { return e.err }

// msgBookingNotFound is the upstream's answer, with 400, for an unknown
// booking [C].
const msgBookingNotFound = "Booking Id does not exist."

// clientsReadRefusal names the reads whose 400 answers a value the client
// chose and the gateway cannot check first, with what the client is told.
// GET /visitor's visitDate must lie within today … today+13 by Engage's
// clock at the location [C], which the gateway does not share: its own
// clock may differ, so it passes the date on and reports the refusal.
func clientsReadRefusal(route string) (string, bool) {
	switch route {
	case "/visitor":
		return "Engage lists visitors from today to 13 days ahead at the location; the date asked for is outside that window.", true
	}
	return "", false
}

// ErrorCode implements workplace.Coder.
func (e *Error) ErrorCode() string {
	switch e.kind {
	case kindBearer, kindSubscriptionKey, kindNoKey, kindToken:
		return workplace.EUNAUTHORIZED
	case kindRateLimited, kindBudget:
		return workplace.ERATELIMITED
	case kindNetwork, kindDecode, kindBreakerOpen:
		return workplace.EUNAVAILABLE
	case kindEnvelope, kindContract:
		// Only reads answer in the envelope, and the gateway builds every
		// read's parameters itself: a refusal is its own bug.
		return workplace.EINTERNAL
	}
	switch {
	case e.Status == http.StatusBadRequest && strings.EqualFold(strings.TrimSpace(e.Message), msgBookingNotFound):
		return workplace.ENOTFOUND
	case e.Status == http.StatusBadRequest && e.Method == http.MethodGet:
		// The gateway checks what a client gives before it reads (ids,
		// dates, windows) and builds the query itself, so a read the
		// upstream calls bad is the gateway's request, never the client's;
		// except where only the upstream can judge the client's value.
		if _, ok := clientsReadRefusal(e.Route); ok {
			return workplace.EINVALID
		}
		return workplace.EINTERNAL
	case e.Status == http.StatusBadRequest:
		return workplace.EINVALID
	case e.Status == http.StatusNotFound:
		return workplace.ENOTFOUND
	case e.Status == http.StatusConflict:
		return workplace.ECONFLICT
	case e.Status == http.StatusTooManyRequests:
		return workplace.ERATELIMITED
	case e.Status == http.StatusUnauthorized:
		return workplace.EUNAUTHORIZED
	case e.Status == http.StatusForbidden:
		// [X] A 403 that is not the quota: the gateway is not allowed to do
		// this; nothing the front end can fix.
		return workplace.EUNAUTHORIZED
	case e.Status >= 500:
		return workplace.EUNAVAILABLE
	}
	// Other statuses (405, 415, an unexpected 2xx) mean the gateway and the
	// upstream disagree about the contract: a bug on our side.
	return workplace.EINTERNAL
}

// ErrorMessage implements workplace.Coder: a message a front-end developer
// can act on. Upstream texts are passed on only for 4xx answers, where the
// contract documents them as user-facing ("Room is not available for the
// requested time."); a 5xx body is never shown.
func (e *Error) ErrorMessage() string {
	switch e.kind {
	case kindSubscriptionKey:
		return fmt.Sprintf("The gateway's subscription key for Engage product %s was rejected; an operator must fix the gateway's configuration.", e.Product)
	case kindNoKey:
		return fmt.Sprintf("The gateway has no subscription key for Engage product %s; an operator must fix the gateway's configuration.", e.Product)
	case kindBearer:
		return "The gateway could not authenticate with Engage; try again later."
	case kindToken:
		return "The gateway's Engage credentials were rejected; an operator must fix the gateway's configuration."
	case kindRateLimited:
		if s := retrySeconds(e.RetryAfter); s > 0 {
			return fmt.Sprintf("Engage's rate limit was reached; retry in %d seconds.", s)
		}
		return "Engage's rate limit was reached; retry later."
	case kindBudget:
		// Not Engage's 429: the replicas' shared budget keeps them under
		// the limit before Engage has to enforce it.
		if s := retrySeconds(e.RetryAfter); s > 0 {
			return fmt.Sprintf("The gateway's own budget of calls to Engage's %s API is spent, to stay within Engage's rate limit; retry in %d seconds.", e.Product, s)
		}
		return fmt.Sprintf("The gateway's own budget of calls to Engage's %s API is spent, to stay within Engage's rate limit; retry later.", e.Product)
	case kindBreakerOpen:
		return fmt.Sprintf("Engage's %s API is failing; calls are paused for %ds.", e.Product, max(retrySeconds(e.RetryAfter), 1))
	case kindNetwork, kindDecode:
		return "Engage is unavailable; try again later."
	}
	switch code := e.ErrorCode(); code {
	case workplace.EINVALID:
		if msg, ok := clientsReadRefusal(e.Route); ok && e.Method == http.MethodGet {
			return msg
		}
		return orDefault(e.Message, "Engage rejected the request.")
	case workplace.ENOTFOUND:
		return orDefault(e.Message, "Not found.")
	case workplace.ECONFLICT:
		return orDefault(e.Message, "The request conflicts with the current state.")
	case workplace.ERATELIMITED:
		return "Engage's rate limit was reached; retry later."
	case workplace.EUNAUTHORIZED:
		return "Engage refused the gateway's request."
	case workplace.EUNAVAILABLE:
		return "Engage is unavailable; try again later."
	}
	if e.Status != 0 || e.kind == kindEnvelope || e.kind == kindContract {
		// The upstream's words are about the gateway's request, which the
		// client never saw: they are logged, not shown.
		return "Engage refused a request the gateway made; the fault is the gateway's, not the query's, and it has been logged."
	}
	return "An internal error has occurred."
}

// RetryAfterDuration implements workplace.Coder.
func (e *Error) RetryAfterDuration() time.Duration { return e.RetryAfter }

func orDefault(s, def string) string {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return def
}

// retrySeconds rounds a wait up to whole seconds, so "retry in 0 seconds"
// never appears for a wait that has not passed.
func retrySeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
