package engagesim

// This file plays the token provider and Azure API Management: subscription keys per product,
// per-key rate and quota counters, bearer tokens, and the faults injected at that layer.

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// apimError is API Management's own error body [C].
type apimError struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
}

// tokenError is the token provider's error body [X].
type tokenError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// tokenAnswer is the token provider's success body [C].
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// Faults is the fault injection state shown by GET /_sim/faults and set by POST /_sim/faults.
// Durations are Go duration strings ("200ms"); zero values mean no fault or the config value.
//
// Latency holds each API call that long before it is handled. AnswerAfter
// handles it at once and holds its answer until that long after it came,
// as a remote upstream's latency includes its own work: a round trip then
// takes AnswerAfter however long the simulator works on it (unless longer).
type Faults struct {
	Latency             string  `json:"latency"`
	AnswerAfter         string  `json:"answerAfter"`
	ErrorRate           float64 `json:"errorRate"`
	FailNext            int     `json:"failNext"`
	ErrorStatus         int     `json:"errorStatus"`
	UnauthorizedNext    int     `json:"unauthorizedNext"`
	DropDeliveries      int     `json:"dropDeliveries"`
	DropRate            float64 `json:"dropRate"`
	DuplicateDeliveries int     `json:"duplicateDeliveries"`
	TokenLifetime       string  `json:"tokenLifetime"`
	RatePerMinute       int     `json:"ratePerMinute"`
	QuotaPerWeek        int     `json:"quotaPerWeek"`
}

// faultPatch is POST /_sim/faults: only the fields present change.
type faultPatch struct {
	Latency             *string  `json:"latency"`
	AnswerAfter         *string  `json:"answerAfter"`
	ErrorRate           *float64 `json:"errorRate"`
	FailNext            *int     `json:"failNext"`
	ErrorStatus         *int     `json:"errorStatus"`
	RevokeTokens        bool     `json:"revokeTokens"`
	UnauthorizedNext    *int     `json:"unauthorizedNext"`
	DropDeliveries      *int     `json:"dropDeliveries"`
	DropRate            *float64 `json:"dropRate"`
	DuplicateDeliveries *int     `json:"duplicateDeliveries"`
	TokenLifetime       *string  `json:"tokenLifetime"`
	RatePerMinute       *int     `json:"ratePerMinute"`
	QuotaPerWeek        *int     `json:"quotaPerWeek"`
}

// faultState is the parsed fault state.
type faultState struct {
	latency          time.Duration
	answerAfter      time.Duration
	errorRate        float64
	failNext         int
	errorStatus      int
	unauthorizedNext int
	dropDeliveries   int
	dropRate         float64
	dupDeliveries    int
	tokenLifetime    time.Duration
	ratePerMinute    int
	quotaPerWeek     int
}

func (f faultState) view() Faults {
	d := func(x time.Duration) string {
		if x == 0 {
			return ""
		}
		return x.String()
	}
	return Faults{Latency: d(f.latency), AnswerAfter: d(f.answerAfter), ErrorRate: f.errorRate, FailNext: f.failNext, ErrorStatus: f.errorStatus,
		UnauthorizedNext: f.unauthorizedNext, DropDeliveries: f.dropDeliveries, DropRate: f.dropRate, DuplicateDeliveries: f.dupDeliveries,
		TokenLifetime: d(f.tokenLifetime), RatePerMinute: f.ratePerMinute, QuotaPerWeek: f.quotaPerWeek}
}

// keyCount is one key's fixed windows.
type keyCount struct {
	minuteStart time.Time
	minute      int
	weekStart   time.Time
	week        int
}

// gateway holds the API Management state.
type gateway struct {
	cfg      Config
	keys     map[string]string // key -> product
	mu       sync.Mutex
	tokens   map[string]time.Time // token -> expiry on the simulator clock
	counters map[string]*keyCount
	faults   faultState
}

func newGateway(cfg Config) *gateway {
	g := &gateway{cfg: cfg, keys: map[string]string{}, tokens: map[string]time.Time{}, counters: map[string]*keyCount{},
		faults: faultState{errorStatus: http.StatusInternalServerError}}
	for product, key := range cfg.Keys {
		g.keys[key] = product
	}
	return g
}

func (g *gateway) currentFaults() faultState {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.faults
}

// applyFaults merges a patch into the fault state; revokeTokens forgets every token issued.
func (g *gateway) applyFaults(p faultPatch) *apiError {
	dur := func(s *string) (time.Duration, *apiError) {
		if s == nil || *s == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(*s)
		if err != nil || d < 0 {
			return 0, badRequest("invalid duration " + *s)
		}
		return d, nil
	}
	lat, err := dur(p.Latency)
	if err != nil {
		return err
	}
	after, err := dur(p.AnswerAfter)
	if err != nil {
		return err
	}
	life, err := dur(p.TokenLifetime)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	f := &g.faults
	if p.Latency != nil {
		f.latency = lat
	}
	if p.AnswerAfter != nil {
		f.answerAfter = after
	}
	if p.TokenLifetime != nil {
		f.tokenLifetime = life
	}
	set := func(dst *int, src *int) {
		if src != nil {
			*dst = max(*src, 0)
		}
	}
	if p.ErrorRate != nil {
		f.errorRate = math.Max(0, math.Min(1, *p.ErrorRate))
	}
	if p.ErrorStatus != nil && *p.ErrorStatus >= 100 && *p.ErrorStatus <= 599 {
		f.errorStatus = *p.ErrorStatus
	}
	set(&f.failNext, p.FailNext)
	set(&f.unauthorizedNext, p.UnauthorizedNext)
	set(&f.dropDeliveries, p.DropDeliveries)
	if p.DropRate != nil {
		f.dropRate = math.Max(0, math.Min(1, *p.DropRate))
	}
	set(&f.dupDeliveries, p.DuplicateDeliveries)
	set(&f.ratePerMinute, p.RatePerMinute)
	set(&f.quotaPerWeek, p.QuotaPerWeek)
	if p.RevokeTokens {
		clear(g.tokens)
	}
	return nil
}

func (g *gateway) clearFaults() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.faults = faultState{errorStatus: http.StatusInternalServerError}
}

// resetCounters forgets the rate and quota windows.
func (g *gateway) resetCounters() {
	g.mu.Lock()
	defer g.mu.Unlock()
	clear(g.counters)
}

// takeDelivery decides the fate of one delivery attempt: dropped, duplicated or sent once.
// dropRate decides on a delivery's first attempt whether the whole delivery (every retry
// with it) is lost; lost says it was, for the retries.
func (g *gateway) takeDelivery(first, lost bool) (drop, dup, lose bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if lost || first && g.faults.dropRate > 0 && mrand.Float64() < g.faults.dropRate {
		return true, false, true
	}
	if g.faults.dropDeliveries > 0 {
		g.faults.dropDeliveries--
		return true, false, false
	}
	if first && g.faults.dupDeliveries > 0 {
		g.faults.dupDeliveries--
		return false, true, false
	}
	return false, false, false
}

// injectError says whether this admitted call fails with the fault status:
// one of the next failNext calls (deterministic, for tests of retries and
// breakers), or by chance at errorRate.
func (g *gateway) injectError() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.faults.failNext > 0 {
		g.faults.failNext--
		return true
	}
	rate := g.faults.errorRate
	return rate > 0 && mrand.Float64() < rate
}

// admit runs the checks of section 2 in order and answers the first failure.
func (g *gateway) admit(w http.ResponseWriter, r *http.Request, product string, now time.Time) bool {
	key := r.Header.Get("Ocp-Apim-Subscription-Key")
	if key == "" {
		key = r.URL.Query().Get("subscription-key")
	}
	if key == "" {
		writeJSON(w, http.StatusUnauthorized, apimError{StatusCode: http.StatusUnauthorized, Message: msgMissingKey})
		return false
	}
	owner, ok := g.keys[key]
	if !ok || (!g.cfg.SingleKey && owner != product) {
		writeJSON(w, http.StatusUnauthorized, apimError{StatusCode: http.StatusUnauthorized, Message: msgInvalidKey})
		return false
	}

	g.mu.Lock()
	rate, quota := g.cfg.RatePerMinute, g.cfg.QuotaPerWeek
	if g.faults.ratePerMinute > 0 {
		rate = g.faults.ratePerMinute
	}
	if g.faults.quotaPerWeek > 0 {
		quota = g.faults.quotaPerWeek
	}
	c := g.counters[key]
	if c == nil {
		c = &keyCount{minuteStart: now, weekStart: now}
		g.counters[key] = c
	}
	if !now.Before(c.minuteStart.Add(rateWindow)) || now.Before(c.minuteStart) {
		c.minuteStart, c.minute = now, 0
	}
	if !now.Before(c.weekStart.Add(quotaWindow)) || now.Before(c.weekStart) {
		c.weekStart, c.week = now, 0
	}
	if c.minute >= rate {
		wait := c.minuteStart.Add(rateWindow).Sub(now)
		g.mu.Unlock()
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, http.StatusTooManyRequests, apimError{StatusCode: http.StatusTooManyRequests, Message: fmt.Sprintf(msgRateLimit, secs)})
		return false
	}
	c.minute++
	if c.week >= quota {
		wait := c.weekStart.Add(quotaWindow).Sub(now)
		g.mu.Unlock()
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		hms := fmt.Sprintf("%02d:%02d:%02d", secs/3600, secs/60%60, secs%60)
		writeJSON(w, http.StatusForbidden, apimError{StatusCode: http.StatusForbidden, Message: fmt.Sprintf(msgQuota, hms)})
		return false
	}
	c.week++

	token, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !hasBearer {
		token, hasBearer = strings.CutPrefix(r.Header.Get("Authorization"), "bearer ")
	}
	exp, known := g.tokens[strings.TrimSpace(token)]
	denied := !hasBearer || !known || !now.Before(exp)
	if g.faults.unauthorizedNext > 0 {
		g.faults.unauthorizedNext--
		denied = true
	}
	g.mu.Unlock()
	if denied {
		writeMsg(w, http.StatusUnauthorized, msgUnauthorized)
		return false
	}
	return true
}

// handleToken is POST /tokenproviderapi/token.
func (s *Sim) handleToken(w http.ResponseWriter, r *http.Request) {
	s.stats.tokenRequest()
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, tokenError{Error: "invalid_request", ErrorDescription: "The token endpoint accepts POST only."})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, tokenError{Error: "invalid_request"})
		return
	}
	if r.PostForm.Get("grant_type") != "password" {
		writeJSON(w, http.StatusBadRequest, tokenError{Error: errUnsupportedGrant})
		return
	}
	if r.PostForm.Get("client_id") != s.cfg.ClientID || r.PostForm.Get("password") != s.cfg.Password {
		writeJSON(w, http.StatusBadRequest, tokenError{Error: errInvalidGrant, ErrorDescription: msgInvalidGrant})
		return
	}
	g := s.gw
	now := s.now()
	var raw [24]byte
	_, _ = rand.Read(raw[:])
	token := hex.EncodeToString(raw[:])
	g.mu.Lock()
	life := g.cfg.TokenLifetime
	if g.faults.tokenLifetime > 0 {
		life = g.faults.tokenLifetime
	}
	g.tokens[token] = now.Add(life)
	g.mu.Unlock()
	s.stats.tokenIssued()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenAnswer{AccessToken: token, TokenType: "bearer", ExpiresIn: max(int(life.Seconds())-1, 0)})
}
