package engage

// This file lets the replicas of a fleet share one session token, so the
// fleet logs in once instead of once per replica (and once per replica again
// after every revocation). The share is an optimisation, never a
// dependency: whenever it fails, the replica logs in by itself.

import (
	"context"
	"math/rand/v2"
	"net/http"
	"time"
)

// TokenShare shares one session token among replicas, so a fleet logs in
// once. The value is a secret; implementations must protect it at rest.
type TokenShare interface {
	// Load returns the shared token and its expiry; value is "" when there
	// is none.
	Load(ctx context.Context) (value string, expiry time.Time, err error)
	// Acquire asks for the lease of the one replica that logs in. ok is
	// true for that caller, which holds the lease for at most ttl and gives
	// it back with release.
	Acquire(ctx context.Context, ttl time.Duration) (release func(), ok bool, err error)
	// Store publishes a token the caller obtained.
	Store(ctx context.Context, value string, expiry time.Time) error
	// Drop deletes the shared token only if it is still value (the API
	// rejected it), so a newer token stored meanwhile survives.
	Drop(ctx context.Context, value string) error
}

const (
	// shareTimeout bounds each operation on the share, so a slow store
	// delays a refresh briefly instead of using up its whole time. [X]
	shareTimeout = 2 * time.Second
	// leaseSlack is added to RequestTimeout for the login lease: enough for
	// the holder's token request and the Store after it.
	leaseSlack = 5 * time.Second
)

// obtain returns a fresh token and, for a token adopted from the share, the
// instant this process stops handing it out (zero: computed from its expiry).
//
// With a share: a shared token that is neither stale (the one being
// replaced) nor rejected, and not yet inside this process's refresh window,
// is adopted without a login. Otherwise the caller that wins the lease logs
// in and stores the token; the others poll the share until it appears, the
// lease frees (they try to win it again), or ctx (the refresh timeout) ends.
// Any error of the share falls back to a login by this process alone.
func (s *tokenSource) obtain(ctx context.Context, stale, rejected string) (token, time.Time, error) {
	if s.cfg.share == nil {
		t, err := s.fetch(ctx)
		return t, time.Time{}, err
	}
	adopt := func(t token) (time.Time, bool) {
		if t.value == "" || t.value == stale || t.value == rejected {
			return time.Time{}, false
		}
		at := s.refreshTime(t)
		return at, s.cfg.now().Before(at)
	}
	alone := func(op string, err error) (token, time.Time, error) {
		s.shareFailed(op, err)
		t, err := s.fetch(ctx)
		return t, time.Time{}, err
	}
	for polls := 0; ; polls++ {
		if polls > 0 {
			// 50–100 ms, jittered so waiting replicas do not poll in step.
			if err := sleepCtx(ctx, 50*time.Millisecond+rand.N(50*time.Millisecond)); err != nil {
				return token{}, time.Time{}, &Error{Method: http.MethodPost, Route: tokenRoute, kind: kindNetwork,
					Message: "timed out waiting for another replica's session token", err: err}
			}
		}
		t, err := s.load(ctx)
		if err != nil {
			return alone("load", err)
		}
		if at, ok := adopt(t); ok {
			s.cfg.log.Debug("engage: adopted the fleet's session token", "expires", t.expiry.Format(time.RFC3339))
			return t, at, nil
		}
		release, won, err := s.acquire(ctx)
		if err != nil {
			return alone("acquire", err)
		}
		if !won {
			continue
		}
		return s.loginForFleet(ctx, release, adopt)
	}
}

// loginForFleet runs while holding the login lease: it looks once more (the
// previous holder may have stored a token just before the lease freed), else
// logs in and stores the token for the others.
func (s *tokenSource) loginForFleet(ctx context.Context, release func(), adopt func(token) (time.Time, bool)) (token, time.Time, error) {
	if release != nil {
		defer release()
	}
	t, err := s.load(ctx)
	if err != nil {
		s.shareFailed("load", err)
	} else if at, ok := adopt(t); ok {
		return t, at, nil
	}
	t, err = s.fetch(ctx)
	if err != nil {
		return token{}, time.Time{}, err
	}
	sctx, cancel := context.WithTimeout(ctx, shareTimeout)
	defer cancel()
	if err := s.cfg.share.Store(sctx, t.value, t.expiry); err != nil {
		s.shareFailed("store", err)
	}
	return t, time.Time{}, nil
}

func (s *tokenSource) load(ctx context.Context) (token, error) {
	ctx, cancel := context.WithTimeout(ctx, shareTimeout)
	defer cancel()
	v, exp, err := s.cfg.share.Load(ctx)
	return token{value: v, expiry: exp}, err
}

func (s *tokenSource) acquire(ctx context.Context) (func(), bool, error) {
	ctx, cancel := context.WithTimeout(ctx, shareTimeout)
	defer cancel()
	return s.cfg.share.Acquire(ctx, s.cfg.timeout+leaseSlack)
}

// drop removes a rejected token from the share. It runs on the rejected
// caller's path, detached from its cancellation but briefly bounded.
func (s *tokenSource) drop(ctx context.Context, failed string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shareTimeout)
	defer cancel()
	if err := s.cfg.share.Drop(ctx, failed); err != nil {
		s.shareFailed("drop", err)
	}
}

// shareFailed logs a failure of the share at most once a minute; the caller
// carries on without it.
func (s *tokenSource) shareFailed(op string, err error) {
	if s.shareLog.allow() {
		s.cfg.log.Warn("engage: token share failed; carrying on without it", "op", op, "error", s.scrub(err.Error()))
	}
}
