package auth

// This file keeps the identity provider's JWKS: fetched at start, refreshed
// in the background, re-fetched on demand when a token names a kid the cache
// lacks (one fetch for all concurrent callers, at most once per
// JWKSMinRefetch), and kept as it was when a fetch fails.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

const (
	// fetchTimeout bounds one JWKS fetch, whoever asked for it.
	fetchTimeout = 10 * time.Second
	// maxJWKSSize caps a JWKS response; real documents are a few KB.
	maxJWKSSize = 1 << 20
)

// keySet is the cached JWKS. It is safe for concurrent use.
type keySet struct {
	url        string
	client     *http.Client
	refresh    time.Duration
	minRefetch time.Duration
	now        func() time.Time
	log        *slog.Logger

	// keys is nil until the first successful fetch; each fetch replaces the
	// slice, which is never modified afterwards.
	keys atomic.Pointer[[]publicKey]

	mu        sync.Mutex
	lastFetch time.Time // start of the last fetch, on the now clock
	lastErr   error     // outcome of the last fetch

	fetchMu sync.Mutex // one fetch at a time, so an old answer never replaces a newer one
	group   singleflight.Group

	ctx       context.Context // ends at close, cancelling any fetch
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

func newKeySet(url string, client *http.Client, refresh, minRefetch time.Duration, now func() time.Time, log *slog.Logger) *keySet {
	ctx, cancel := context.WithCancel(context.Background())
	return &keySet{
		url:        url,
		client:     client,
		refresh:    refresh,
		minRefetch: minRefetch,
		now:        now,
		log:        log,
		ctx:        ctx,
		cancel:     cancel,
		done:       make(chan struct{}),
	}
}

// start fetches the JWKS once, tolerating failure, and starts the refresh
// loop.
func (s *keySet) start() {
	ctx, cancel := context.WithTimeout(s.ctx, fetchTimeout)
	defer cancel()
	if err := s.fetch(ctx); err != nil {
		s.log.Warn("auth: the JWKS could not be fetched at start; tokens will be rejected until a fetch succeeds",
			"url", s.url, "error", err)
	}
	go s.loop()
}

func (s *keySet) loop() {
	defer close(s.done)
	t := time.NewTicker(s.refresh)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(s.ctx, fetchTimeout)
			if err := s.fetch(ctx); err != nil {
				s.log.Warn("auth: refreshing the JWKS failed; keeping the previous keys", "url", s.url, "error", err)
			}
			cancel()
		}
	}
}

func (s *keySet) close() {
	s.closeOnce.Do(func() {
		s.cancel()
		<-s.done
	})
}

// current returns the cached keys; callers must not modify them.
func (s *keySet) current() []publicKey {
	if k := s.keys.Load(); k != nil {
		return *k
	}
	return nil
}

// loaded reports whether a fetch has ever succeeded.
func (s *keySet) loaded() bool { return s.keys.Load() != nil }

// healthy reports whether the last fetch succeeded.
func (s *keySet) healthy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr == nil
}

// refetch fetches the JWKS again unless a fetch started less than
// minRefetch ago. Concurrent callers share one fetch; each waits for it
// only as long as its own ctx allows, while the fetch itself is bounded by
// fetchTimeout and not by any one caller.
func (s *keySet) refetch(ctx context.Context) {
	ch := s.group.DoChan("jwks", func() (any, error) {
		s.mu.Lock()
		due := s.lastFetch.IsZero() || s.now().Sub(s.lastFetch) >= s.minRefetch
		s.mu.Unlock()
		if !due {
			return nil, nil
		}
		fctx, cancel := context.WithTimeout(s.ctx, fetchTimeout)
		defer cancel()
		if err := s.fetch(fctx); err != nil {
			s.log.Warn("auth: re-fetching the JWKS for an unknown key failed; keeping the previous keys", "url", s.url, "error", err)
		}
		return nil, nil
	})
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// fetch downloads and parses the JWKS, replacing the cached keys only on
// success.
func (s *keySet) fetch(ctx context.Context) error {
	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()
	s.mu.Lock()
	s.lastFetch = s.now()
	s.mu.Unlock()

	keys, skipped, err := s.download(ctx)
	s.mu.Lock()
	s.lastErr = err
	s.mu.Unlock()
	if err != nil {
		return err
	}
	for _, reason := range skipped {
		s.log.Debug("auth: JWKS key skipped", "url", s.url, "reason", reason)
	}
	s.keys.Store(&keys)
	return nil
}

func (s *keySet) download(ctx context.Context) ([]publicKey, []string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("auth: JWKS request: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("auth: fetching the JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("auth: the JWKS endpoint answered %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("auth: reading the JWKS: %w", err)
	}
	if len(body) > maxJWKSSize {
		return nil, nil, errors.New("auth: the JWKS is larger than 1 MB")
	}
	return parseJWKS(body)
}

// jwk is one JSON Web Key (RFC 7517), with the members the gateway reads.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS reads a JWKS document. Keys the gateway cannot use (encryption
// keys, other curves and algorithms) are skipped with a reason rather than
// failing the document, since identity providers publish them alongside
// signing keys; a document with no usable key at all is an error.
func parseJWKS(data []byte) (keys []publicKey, skipped []string, err error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("auth: the JWKS is not a JSON object: %w", err)
	}
	if doc.Keys == nil {
		return nil, nil, errors.New(`auth: the JWKS has no "keys" array`)
	}
	for i, raw := range doc.Keys {
		var j jwk
		if err := json.Unmarshal(raw, &j); err != nil {
			skipped = append(skipped, fmt.Sprintf("key %d: %v", i+1, err))
			continue
		}
		k, err := j.publicKey()
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("key %d (kid %q): %v", i+1, j.Kid, err))
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, skipped, fmt.Errorf("auth: the JWKS has no usable RS256 or ES256 key (%s)", strings.Join(skipped, "; "))
	}
	return keys, skipped, nil
}

func (j jwk) publicKey() (publicKey, error) {
	if j.Use != "" && j.Use != "sig" {
		return publicKey{}, fmt.Errorf("its use is %q, not sig", j.Use)
	}
	switch j.Kty {
	case "RSA":
		if j.Alg != "" && j.Alg != algRS256 {
			return publicKey{}, fmt.Errorf("its algorithm %q is not RS256", j.Alg)
		}
		n, err := decodeB64(j.N)
		if err != nil || len(n) == 0 {
			return publicKey{}, errors.New(`its "n" is not base64url`)
		}
		e, err := decodeB64(j.E)
		if err != nil || len(e) == 0 || len(e) > 4 {
			return publicKey{}, errors.New(`its "e" is not a base64url integer of at most 4 bytes`)
		}
		exp := new(big.Int).SetBytes(e).Int64()
		if exp < 3 || exp > 1<<31-1 || exp%2 == 0 {
			return publicKey{}, errors.New(`its "e" is not an odd integer of at least 3`)
		}
		return pinKey(j.Kid, &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp)})
	case "EC":
		if j.Crv != "P-256" {
			return publicKey{}, fmt.Errorf("its curve %q is not P-256", j.Crv)
		}
		if j.Alg != "" && j.Alg != algES256 {
			return publicKey{}, fmt.Errorf("its algorithm %q is not ES256", j.Alg)
		}
		x, errX := decodeB64(j.X)
		y, errY := decodeB64(j.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return publicKey{}, errors.New(`its "x" and "y" are not 32-byte base64url coordinates`)
		}
		point := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
		if err != nil {
			return publicKey{}, fmt.Errorf("its point is invalid: %w", err)
		}
		return pinKey(j.Kid, pub)
	}
	return publicKey{}, fmt.Errorf("its key type %q is not supported", j.Kty)
}

// decodeB64 decodes base64url without padding (RFC 7515 section 2),
// tolerating padding some providers add anyway.
func decodeB64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
