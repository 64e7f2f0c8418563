package engage

// This file is the session token manager. Its contract is the one of
// golang.org/x/oauth2's ReuseTokenSourceWithExpiry: safe for concurrent use,
// a token is reused until shortly before it expires, and at most one refresh
// is in flight however many callers wait for it. With a TokenShare the
// refresh first looks for the fleet's token (tokenshare.go).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// token is a session token and the instant it expires.
type token struct {
	value  string
	expiry time.Time
}

// refresh is one token refresh in flight; every waiter reads its result
// once done is closed.
type refresh struct {
	done chan struct{}
	tok  token
	at   time.Time // when tok stops being handed out; zero = computed from its expiry
	err  error
}

type tokenSourceConfig struct {
	fetch         func(ctx context.Context) (token, error)
	now           func() time.Time
	refreshBefore time.Duration
	timeout       time.Duration
	log           *slog.Logger
	// onRefresh, when set, hears the outcome of every token request.
	onRefresh func(error)
	// share, when set, is the fleet's shared token (tokenshare.go).
	share TokenShare
}

// tokenSource hands out the shared session token.
type tokenSource struct {
	cfg      tokenSourceConfig
	shareLog *logLimiter

	mu        sync.Mutex
	tok       token
	refreshAt time.Time // when tok stops being handed out; fixed per token so jitter is stable
	rejected  string    // the last token the API refused, never to be adopted again
	inflight  *refresh
	held      []string // recent token values, for redaction
}

func newTokenSource(cfg tokenSourceConfig) *tokenSource {
	return &tokenSource{cfg: cfg, shareLog: &logLimiter{every: time.Minute, now: cfg.now}}
}

// Token returns a valid token, fetching one when there is none or the cached
// one is about to expire. Callers that arrive while a refresh is in flight
// wait for it and share its result. A caller whose ctx ends stops waiting,
// but the refresh goes on for the others (and for the next caller).
func (s *tokenSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	if s.tok.value != "" && s.cfg.now().Before(s.refreshAt) {
		v := s.tok.value
		s.mu.Unlock()
		return v, nil
	}
	r := s.inflight
	if r == nil {
		r = &refresh{done: make(chan struct{})}
		s.inflight = r
		// Detached from the first caller's cancellation (its values, such
		// as trace ids, are kept), but still bounded by the request timeout.
		go s.run(context.WithoutCancel(ctx), r, s.tok.value, s.rejected)
	}
	s.mu.Unlock()

	select {
	case <-r.done:
		return r.tok.value, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// run refreshes the token: from the fleet's share when one is configured
// and holds a usable token, else from the token provider. stale is the token
// being replaced and rejected the last one the API refused; neither is
// adopted from the share.
func (s *tokenSource) run(ctx context.Context, r *refresh, stale, rejected string) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	// Whatever happens in obtain, waiters must be released and the next
	// caller must be able to start a new refresh.
	defer func() {
		s.mu.Lock()
		if r.err == nil {
			s.tok = r.tok
			s.refreshAt = r.at
			if s.refreshAt.IsZero() {
				s.refreshAt = s.refreshTime(r.tok)
			}
			if !slices.Contains(s.held, r.tok.value) {
				s.held = append(s.held, r.tok.value)
			}
			if len(s.held) > 4 {
				s.held = s.held[len(s.held)-4:]
			}
		}
		s.inflight = nil
		s.mu.Unlock()
		close(r.done)
	}()
	r.tok, r.at, r.err = s.obtain(ctx, stale, rejected)
}

// fetch asks the token provider for a new token. It is the only place a
// token request is made, so it alone reports to onRefresh.
func (s *tokenSource) fetch(ctx context.Context) (token, error) {
	t, err := s.cfg.fetch(ctx)
	if err == nil && t.value == "" {
		err = &Error{Status: http.StatusOK, Method: http.MethodPost, Route: tokenRoute,
			Message: "token provider answered without an access_token", kind: kindDecode}
	}
	if s.cfg.onRefresh != nil {
		s.cfg.onRefresh(err)
	}
	if err != nil {
		s.cfg.log.Warn("engage: token request failed", "error", err.Error())
		return token{}, err
	}
	s.cfg.log.Info("engage: token obtained", "expires", t.expiry.Format(time.RFC3339))
	return t, nil
}

// refreshTime is when a token stops being handed out: RefreshBefore (±10%
// jitter) ahead of its expiry. A token that lives less than twice
// RefreshBefore (a short-lived test token) is refreshed at half its life
// instead, so it is ever used at all. The jitter is drawn per process, also
// for a token adopted from the fleet's share, so replicas sharing one token
// still do not all come to refresh it in the same instant.
func (s *tokenSource) refreshTime(t token) time.Time {
	before := s.cfg.refreshBefore
	if j := int64(before / 10); j > 0 {
		before += time.Duration(rand.Int64N(2*j+1) - j)
	}
	if life := t.expiry.Sub(s.cfg.now()); life < 2*s.cfg.refreshBefore {
		before = life / 2
	}
	return t.expiry.Add(-before)
}

// Invalidate drops the cached token if it is still the one that failed, so
// that of many callers rejected with the same stale token, only the first
// causes a refresh; the others find a new token (or the refresh in flight).
// That first caller also drops the token from the fleet's share, so other
// replicas stop adopting it.
func (s *tokenSource) Invalidate(ctx context.Context, failed string) {
	s.mu.Lock()
	first := s.tok.value == failed
	if first {
		s.tok = token{}
		s.rejected = failed
	}
	s.mu.Unlock()
	if first && s.cfg.share != nil {
		s.drop(ctx, failed)
	}
}

// scrub replaces any token this source has held with a marker.
func (s *tokenSource) scrub(msg string) string {
	s.mu.Lock()
	held := append([]string(nil), s.held...)
	s.mu.Unlock()
	for _, v := range held {
		if v != "" {
			msg = strings.ReplaceAll(msg, v, "[REDACTED]")
		}
	}
	return msg
}

// tokenResponse is the token provider's answer [C], and its error form [X].
type tokenResponse struct {
	AccessToken      string  `json:"access_token"`
	TokenType        string  `json:"token_type"`
	ExpiresIn        flexInt `json:"expires_in"`
	Error            string  `json:"error"`
	ErrorDescription string  `json:"error_description"`
}

// tokenRoute names the token endpoint in errors and logs.
const tokenRoute = "/tokenproviderapi/token"

// tokenFetcher returns the function that asks the token provider for a token:
// a form POST of client_id, password and grant_type=password, without a
// subscription key [C].
func (c *Client) tokenFetcher(tokenURL, clientID, password string) func(context.Context) (token, error) {
	form := url.Values{
		"client_id":  {clientID},
		"password":   {password},
		"grant_type": {"password"},
	}.Encode()
	return func(ctx context.Context) (token, error) {
		fail := func(status int, kind errKind, msg string, err error) error {
			return &Error{
				Status: status, Method: http.MethodPost, Route: tokenRoute,
				Message: c.scrub(msg), kind: kind, err: scrubError(c, err),
			}
		}
		start := c.now()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form))
		if err != nil {
			return token{}, fail(0, kindNetwork, "cannot build the token request", err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		sent := time.Now()
		resp, err := c.hc.Do(req)
		if err != nil {
			c.observed("", tokenRoute, 0, time.Since(sent))
			return token{}, fail(0, kindNetwork, "token provider unreachable", err)
		}
		// Observed once the answer is read, like an API call.
		defer func() { c.observed("", tokenRoute, resp.StatusCode, time.Since(sent)) }()
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		if err != nil {
			return token{}, fail(resp.StatusCode, kindNetwork, "reading the token response failed", err)
		}
		var tr tokenResponse
		jsonErr := json.Unmarshal(body, &tr)
		switch {
		case resp.StatusCode >= 500:
			return token{}, fail(resp.StatusCode, kindHTTP, "token provider failed", nil)
		case resp.StatusCode != http.StatusOK:
			// The provider names the problem in error/error_description;
			// neither carries the password.
			msg := strings.TrimSpace(tr.Error + ": " + tr.ErrorDescription)
			return token{}, fail(resp.StatusCode, kindToken, "token request rejected: "+strings.Trim(msg, ": "), nil)
		case jsonErr != nil:
			return token{}, fail(resp.StatusCode, kindDecode, "token response is not JSON", nil)
		}
		life := time.Duration(tr.ExpiresIn) * time.Second
		if life <= 0 {
			// [X] A token without a lifetime is trusted for a minute only.
			life = time.Minute
		}
		// Measured from before the request, so network time only makes
		// the client refresh a little early, never late.
		return token{value: tr.AccessToken, expiry: start.Add(life)}, nil
	}
}

// scrubError flattens err into a redacted error, keeping the sentinel errors
// callers test for (deadline, cancellation).
func scrubError(c *Client, err error) error {
	if err == nil {
		return nil
	}
	msg := c.scrub(err.Error())
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", msg, context.DeadlineExceeded)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", msg, context.Canceled)
	}
	return errors.New(msg)
}
