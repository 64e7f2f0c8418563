package engage

// This file sends one API call: the product's subscription key and the shared
// token on every request, one refresh-and-retry after a rejected token (and
// none after a rejected key), retries where they are safe, the breaker and
// the shared budget asked before every attempt, rate limits honoured, errors
// typed.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// maxBody caps how much of an answer is read: the largest legitimate answer
// (every user of a big tenant) is far below it, and a runaway body must not
// exhaust memory.
const maxBody = 64 << 20

// request describes one call. route is the template used in errors and logs;
// path is the concrete path after the API base.
type request struct {
	product Product
	method  string
	route   string
	path    string
	query   url.Values
	body    any // marshalled as JSON when non-nil
	// idempotent calls may be sent again after any transient failure: every
	// GET, and the POSTs that only read (a search with a body).
	idempotent bool
}

// get builds a GET request.
func get(p Product, route, path string, q url.Values) request {
	return request{product: p, method: http.MethodGet, route: route, path: path, query: q, idempotent: true}
}

// send builds a request with a JSON body that changes something upstream.
func send(p Product, method, route, path string, q url.Values, body any) request {
	return request{product: p, method: method, route: route, path: path, query: q, body: body}
}

// search builds a POST that only reads (its query is too big for a URL), so
// it is retried like a GET.
func search(p Product, route, path string, body any) request {
	return request{product: p, method: http.MethodPost, route: route, path: path, body: body, idempotent: true}
}

// apiError is every error body of the upstream, in one struct: the
// HierarchyMapping envelope ({"IsError","Message"}), the other routes'
// {"Message"}, and API Management's {"statusCode","message"}. Field names
// match case-insensitively, which is what makes one struct enough.
type apiError struct {
	StatusCode flexInt `json:"statusCode"`
	Message    string  `json:"Message"`
}

// fail builds the *Error of a failed call of r, scrubbed of every secret.
func (c *Client) fail(r request, status int, kind errKind, msg string, err error) *Error {
	return &Error{
		Status: status, Product: r.product, Method: r.method, Route: r.route,
		Message: c.scrub(msg), kind: kind, err: scrubError(c, err),
	}
}

// do sends r and decodes a 2xx answer into out (when out is non-nil). Per
// attempt it asks the product's breaker and the shared budget first; it
// retries what Config.Retry allows (see attempt), and once, with a fresh
// token, when the API rejects the token.
func (c *Client) do(ctx context.Context, r request, out any) error {
	if workplace.IsStoreOnly(ctx) {
		return workplace.ErrNotHeld // nothing is sent: see workplace.StoreOnly
	}
	// An answer that asked the upstream is not one the store can vouch for.
	workplace.NoteUnkept(ctx, "an upstream call")
	key := c.keyFor(r.product)
	if key == "" {
		return c.fail(r, 0, kindNoKey, "", nil)
	}
	if d := c.limits.wait(key); d > 0 {
		// A short hold (a Retry-After this client would wait out itself)
		// is waited; a long one fails fast rather than hold the caller.
		if d > c.retry.MaxDelay || !fitsDeadline(ctx, d) {
			e := c.fail(r, 0, kindRateLimited, "held back after an earlier rate-limited answer", nil)
			e.RetryAfter = d
			return e
		}
		if err := c.sleep(ctx, d); err != nil {
			return c.fail(r, 0, kindNetwork, "gave up waiting for the rate limit", err)
		}
	}
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return c.fail(r, 0, kindDecode, "cannot encode the request body", err)
		}
	}
	u := *c.api
	u.Path = c.api.Path + r.path
	u.RawQuery = r.query.Encode()
	target := u.String()

	refreshed := false
	var last *Error
	for n := 1; ; {
		tk, wait, ok := c.breakers.allow(r.product)
		if !ok {
			if last != nil {
				// The breaker opened during this call's retries (another
				// caller's failure counted too): its own failure says more.
				return last
			}
			e := c.fail(r, 0, kindBreakerOpen, "", nil)
			e.RetryAfter = wait
			return e
		}
		res := c.attempt(ctx, r, target, key, body, out)
		closed := c.breakers.done(tk, res.health)
		if res.err == nil {
			return nil
		}
		if res.staleToken != "" && !refreshed {
			// The token was refused (revoked, or expired early). Drop it
			// unless another caller already replaced it, and retry once,
			// without counting an attempt: the upstream is healthy.
			refreshed = true
			c.tokens.Invalidate(ctx, res.staleToken)
			c.log.Info("engage: token rejected, refreshing", "route", r.route)
			continue
		}
		last = res.err
		if !res.retry || n >= c.retry.Attempts || !closed {
			return last
		}
		delay := res.wait
		if delay <= 0 {
			delay = c.retry.backoff(n)
		}
		if !fitsDeadline(ctx, delay) {
			return last
		}
		n++
		c.log.Debug("engage: retrying", "method", r.method, "route", r.route, "product", string(r.product),
			"attempt", n, "reason", res.reason, "delay", delay.String())
		if err := c.sleep(ctx, delay); err != nil {
			return last
		}
	}
}

// result is the outcome of one attempt.
type result struct {
	err        *Error        // nil on success
	health     health        // what the attempt says about the product, for its breaker
	retry      bool          // another attempt may succeed and cannot do harm
	wait       time.Duration // the upstream's Retry-After to wait before it; 0 = backoff
	reason     string        // why it is retried, for the log
	staleToken string        // the token the API refused, to refresh and retry once
}

// attempt sends r once: it takes the budget, gets the token, sends, and
// classifies the answer. Reads are retried after network errors, timeouts,
// 5xx and short rate limits; writes only when the upstream certainly did not
// process them: the connection was refused, or API Management rejected the
// call before it reached the backend (429, or 403 out of quota). A 5xx or a
// timeout on a write may have been applied, so it is never sent twice.
func (c *Client) attempt(ctx context.Context, r request, target, key string, body []byte, out any) result {
	if err := c.takeBudget(ctx, r, key); err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = c.fail(r, 0, kindNetwork, "gave up waiting for the call budget", err)
		}
		return result{err: e}
	}
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = c.fail(r, 0, kindNetwork, "no session token", err)
		}
		return result{err: e}
	}
	start := time.Now()
	status, header, respBody, err := c.roundTrip(ctx, r.method, target, key, tok, body)
	took := time.Since(start)
	c.observed(r.product, r.route, status, took)
	workplace.NoteCall(ctx, took)
	c.log.DebugContext(ctx, "engage: call", "method", r.method, "route", r.route, "product", string(r.product), "status", status, "duration_ms", float64(took.Microseconds())/1000)
	if err != nil {
		e := c.fail(r, 0, kindNetwork, "upstream unreachable", err)
		switch {
		case ctx.Err() != nil:
			// The caller gave up: nothing is learnt about the upstream.
			return result{err: e}
		case isDialError(err):
			return result{err: e, health: failing, retry: true, reason: "connection failed"}
		case isTimeout(ctx, err):
			return result{err: e, health: failing, retry: r.idempotent, reason: "timeout"}
		}
		return result{err: e, health: failing, retry: r.idempotent, reason: "network error"}
	}
	if status >= 200 && status < 300 {
		if out == nil || len(bytes.TrimSpace(respBody)) == 0 {
			return result{health: healthy}
		}
		if err := json.Unmarshal(respBody, out); err != nil {
			return result{err: c.fail(r, status, kindDecode, "cannot decode the answer", err), health: healthy}
		}
		return result{health: healthy}
	}

	var ae apiError
	_ = json.Unmarshal(respBody, &ae) // a body that is not JSON leaves the message empty
	msg := strings.TrimSpace(ae.Message)
	switch {
	case status == http.StatusUnauthorized && isKeyRejection(ae):
		// API Management refused the key: a new token cannot help, and
		// retrying would only spend budget.
		c.log.Error("engage: subscription key rejected", "product", string(r.product), "route", r.route)
		return result{err: c.fail(r, status, kindSubscriptionKey, msg, nil), health: healthy}
	case status == http.StatusUnauthorized:
		return result{err: c.fail(r, status, kindBearer, msg, nil), health: healthy, staleToken: tok}
	case status == http.StatusTooManyRequests || (status == http.StatusForbidden && isQuota(ae)):
		wait := retryAfter(header, msg, c.now())
		c.limits.block(key, wait)
		c.log.Warn("engage: rate limited", "product", string(r.product), "status", status, "retryAfter", wait.String())
		e := c.fail(r, status, kindRateLimited, msg, nil)
		e.RetryAfter = wait
		// [X] Only API Management's own body ({"statusCode":...}) proves a
		// write was refused before the backend saw it.
		fromGateway := int(ae.StatusCode) == status
		return result{err: e, health: healthy, retry: wait <= c.retry.MaxDelay && (r.idempotent || fromGateway),
			wait: wait, reason: "rate limited"}
	case status >= 500:
		// A 5xx body is kept for operators only; ErrorMessage hides it.
		return result{err: c.fail(r, status, kindHTTP, msg, nil), health: failing, retry: r.idempotent,
			reason: "status " + strconv.Itoa(status)}
	}
	return result{err: c.fail(r, status, kindHTTP, msg, nil), health: healthy}
}

// observed reports one HTTP request to Config.Observe, when set.
func (c *Client) observed(p Product, route string, status int, d time.Duration) {
	if c.observe != nil {
		c.observe(p, route, status, d)
	}
}

// roundTrip sends one attempt, bounded by the request timeout, and reads the
// whole answer.
func (c *Client) roundTrip(ctx context.Context, method, u, key, tok string, body []byte) (int, http.Header, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.requestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Ocp-Apim-Subscription-Key", key)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading the answer after %s: %w", time.Since(start).Round(time.Millisecond), err)
	}
	return resp.StatusCode, resp.Header, b, nil
}

// isKeyRejection tells API Management's 401 for a missing or invalid
// subscription key ({"statusCode":401,"message":"Access denied due to ...
// subscription key..."}) from the API's 401 for the token
// ({"Message":"Authorization has been denied for this request."}). The body
// is the only difference [C texts].
func isKeyRejection(e apiError) bool {
	return e.StatusCode == http.StatusUnauthorized ||
		strings.Contains(strings.ToLower(e.Message), "subscription key")
}

// isQuota tells API Management's 403 out of call volume quota from any other
// 403.
func isQuota(e apiError) bool {
	return strings.Contains(strings.ToLower(e.Message), "quota")
}
