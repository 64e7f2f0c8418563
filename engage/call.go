package engage

// This file sends one API call: the product's subscription key and the shared
// token on every request, one refresh-and-retry after a rejected token (and
// none after a rejected key), rate limits honoured, errors typed.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
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
}

// get builds a GET request.
func get(p Product, route, path string, q url.Values) request {
	return request{product: p, method: http.MethodGet, route: route, path: path, query: q}
}

// send builds a request with a JSON body.
func send(p Product, method, route, path string, q url.Values, body any) request {
	return request{product: p, method: method, route: route, path: path, query: q, body: body}
}

// apiError is every error body of the upstream, in one struct: the
// HierarchyMapping envelope ({"IsError","Message"}), the other routes'
// {"Message"}, and API Management's {"statusCode","message"}. Field names
// match case-insensitively, which is what makes one struct enough.
type apiError struct {
	StatusCode flexInt `json:"statusCode"`
	Message    string  `json:"Message"`
}

// do sends r and decodes a 2xx answer into out (when out is non-nil). It
// retries once, with a fresh token, when the API rejects the token.
func (c *Client) do(ctx context.Context, r request, out any) error {
	fail := func(status int, kind errKind, msg string, err error) *Error {
		return &Error{
			Status: status, Product: r.product, Method: r.method, Route: r.route,
			Message: c.scrub(msg), kind: kind, err: scrubError(c, err),
		}
	}
	key := c.keyFor(r.product)
	if key == "" {
		return fail(0, kindNoKey, "", nil)
	}
	if d := c.limits.wait(key); d > 0 {
		e := fail(0, kindRateLimited, "held back after an earlier rate-limited answer", nil)
		e.RetryAfter = d
		return e
	}
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return fail(0, kindDecode, "cannot encode the request body", err)
		}
	}
	u := *c.api
	u.Path = c.api.Path + r.path
	u.RawQuery = r.query.Encode()

	for attempt := 0; ; attempt++ {
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return e
			}
			return fail(0, kindNetwork, "no session token", err)
		}
		start := time.Now()
		status, header, respBody, err := c.roundTrip(ctx, r.method, u.String(), key, tok, body)
		c.observed(r.product, r.route, status, time.Since(start))
		if err != nil {
			return fail(0, kindNetwork, "upstream unreachable", err)
		}
		c.log.Debug("engage: call", "method", r.method, "route", r.route, "product", string(r.product), "status", status)
		if status >= 200 && status < 300 {
			if out == nil || len(bytes.TrimSpace(respBody)) == 0 {
				return nil
			}
			if err := json.Unmarshal(respBody, out); err != nil {
				return fail(status, kindDecode, "cannot decode the answer", err)
			}
			return nil
		}

		var ae apiError
		_ = json.Unmarshal(respBody, &ae) // a body that is not JSON leaves the message empty
		msg := strings.TrimSpace(ae.Message)
		switch {
		case status == http.StatusUnauthorized && isKeyRejection(ae):
			// API Management refused the key: a new token cannot help, and
			// retrying would only spend budget.
			c.log.Error("engage: subscription key rejected", "product", string(r.product), "route", r.route)
			return fail(status, kindSubscriptionKey, msg, nil)
		case status == http.StatusUnauthorized && attempt == 0:
			// The token was refused (revoked, or expired early). Drop it
			// unless another caller already replaced it, and retry once.
			c.tokens.Invalidate(tok)
			c.log.Info("engage: token rejected, refreshing", "route", r.route)
			continue
		case status == http.StatusUnauthorized:
			return fail(status, kindBearer, msg, nil)
		case status == http.StatusTooManyRequests || (status == http.StatusForbidden && isQuota(ae)):
			wait := retryAfter(header, msg, c.now())
			c.limits.block(key, wait)
			c.log.Warn("engage: rate limited", "product", string(r.product), "status", status, "retryAfter", wait.String())
			e := fail(status, kindRateLimited, msg, nil)
			e.RetryAfter = wait
			return e
		}
		// A 5xx body is kept for operators only; ErrorMessage hides it.
		return fail(status, kindHTTP, msg, nil)
	}
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
