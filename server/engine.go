package server

// The shared engine of a fleet of replicas: with REDIS_URL, Redis holds the
// cache, carries the changes between replicas and remembers which webhook
// deliveries are done; without it, one replica keeps all three in memory.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/engagegql/gateway/answer"
	"github.com/engagegql/gateway/cache"
	"github.com/engagegql/gateway/engage"
	"github.com/engagegql/gateway/fleet"
	"github.com/engagegql/gateway/pubsub"
	"github.com/engagegql/gateway/telemetry"
	"github.com/engagegql/gateway/webhook"
	"github.com/engagegql/gateway/workplace"
	"github.com/redis/go-redis/v9"
)

// engine is the cache store, the change broker and, with Redis, its client.
type engine struct {
	redis  redis.UniversalClient // nil without REDIS_URL
	store  cache.Store
	broker pubsub.Broker
	// limiter keeps the fleet's rates: the upstream budget and the
	// per-client limits.
	limiter fleet.Limiter
	// slots counts what clients hold at once across the fleet: their open
	// subscriptions.
	slots fleet.Semaphore
	// closeSlots stops refreshing this replica's slots in Redis; nil
	// without Redis.
	closeSlots func()
	// tally counts the fleet's upstream calls, for the week's forecast.
	tally fleet.Tally
	// writes logs the store's writes for the kept answers of every
	// replica; nil when answers are not kept (CACHE_ANSWERS_MB=0).
	writes answer.Log
}

// engageWeeklyQuota is Engage's weekly quota of calls per key (contract,
// section 5): what the forecast is held against when the gateway keeps no
// budget of its own.
const engageWeeklyQuota = 50_000

// tallied is an upstream observer that also counts every API call (not the
// token provider's) in the fleet's tally, off the caller's path.
func tallied(observe func(engage.Product, string, int, time.Duration), t fleet.Tally) func(engage.Product, string, int, time.Duration) {
	return func(p engage.Product, route string, status int, d time.Duration) {
		observe(p, route, status, d)
		if p == "" {
			return
		}
		go func() { _ = t.Add(context.Background(), 1) }()
	}
}

// redisStartupWait bounds how long start-up waits for Redis to answer.
const redisStartupWait = 10 * time.Second

// newEngine connects to Redis when it is configured, and falls back to
// memory when it is not. Redis must answer at start-up (a replica that
// cannot share the fleet's state should not join it); after that the
// gateway survives Redis going away.
func newEngine(ctx context.Context, cfg config, log *slog.Logger) (*engine, error) {
	if cfg.redisOptions == nil {
		log.Info("no Redis set (REDIS_URL, REDIS_CLUSTER_ADDRS or REDIS_SENTINEL_ADDRS): cache, events and webhook de-duplication are in memory; run one replica only")
		e := &engine{store: cache.NewMemoryStore(), broker: pubsub.NewMemory(pubsub.Options{Logger: log}), limiter: fleet.NewMemoryLimiter(nil), slots: fleet.NewMemorySemaphore(),
			tally: fleet.NewMemoryTally(clockOf(ctx))}
		if cfg.answersMB > 0 {
			mem := answer.NewMemoryLog()
			e.writes, e.store = mem, cache.Logged(e.store, mem)
		}
		return e, nil
	}
	opts := *cfg.redisOptions
	// Lets a store call abandoned at the cache's timeout end at once.
	opts.ContextTimeoutEnabled = true
	rdb := redis.NewUniversalClient(&opts)
	wait, cancel := context.WithTimeout(ctx, redisStartupWait)
	defer cancel()
	var err error
	for {
		if err = rdb.Ping(wait).Err(); err == nil {
			break
		}
		select {
		case <-wait.Done():
			_ = rdb.Close()
			return nil, fmt.Errorf("Redis (%s) did not answer within %s: %w", redisWhere(cfg.redisOptions), redisStartupWait, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	broker, err := pubsub.NewRedis(rdb, pubsub.Options{Logger: log})
	if err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("Redis (%s): %w", redisWhere(cfg.redisOptions), err)
	}
	log.Info("using Redis for the cache, events across replicas, webhook de-duplication, the shared upstream budget and session token, and client rate limits", "addr", opts.Addrs)
	limiter := fleet.NewRedisLimiter(rdb, "egw", fleet.RedisLimiterOptions{Logger: log, FallbackShare: cfg.replicas})
	slots := fleet.NewRedisSemaphore(rdb, "egw", fleet.RedisSemaphoreOptions{Logger: log, FallbackShare: cfg.replicas})
	e := &engine{redis: rdb, store: cache.NewRedisStore(rdb, cache.StoreOptions{}), broker: broker, limiter: limiter,
		slots: slots, closeSlots: slots.Close, tally: fleet.NewRedisTally(rdb, "egw", "upstream-calls", clockOf(ctx))}
	if cfg.answersMB > 0 {
		writes := cache.NewRedisWriteLog(rdb, "", log)
		e.writes, e.store = writes, cache.Logged(e.store, writes)
	}
	return e, nil
}

func (e *engine) close() {
	if e.closeSlots != nil {
		e.closeSlots()
	}
	_ = e.broker.Close()
	if e.redis != nil {
		_ = e.redis.Close()
	}
}

// deliveryLog keeps the webhook receiver's record of done deliveries in the
// cache store, under the cache's key scheme.
type deliveryLog struct{ s cache.Store }

func (d deliveryLog) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return d.s.Claim(ctx, cache.DeliveryKey(key), ttl)
}

func (d deliveryLog) Release(ctx context.Context, key string) error {
	return d.s.Release(ctx, cache.DeliveryKey(key))
}

// registerListeners registers the gateway's webhooks with the upstream,
// retrying until it succeeds or the gateway stops: without them the cache
// only learns of changes when its entries expire.
func registerListeners(ctx context.Context, log *slog.Logger, l workplace.Listeners, baseURL, secret string, registered func()) {
	for wait := time.Second; ; wait = min(2*wait, time.Minute) {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		added, err := webhook.Register(rctx, l, baseURL, secret)
		cancel()
		if err == nil {
			urls := make([]string, len(added))
			for i, a := range added {
				urls[i] = a.NotificationURL
			}
			log.Info("webhook listeners registered with the upstream", "base", baseURL, "registered", urls, "alreadyPresent", len(webhook.Services())-len(added))
			registered()
			return
		}
		if errors.Is(ctx.Err(), context.Canceled) {
			return
		}
		log.Error("registering webhook listeners failed; retrying", "base", baseURL, "retryIn", wait.String(), "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// useLocalWebhooks points the embedded simulator's notifications at this
// gateway, with a fresh secret, so the default run is live.
func (c *config) useLocalWebhooks(addr net.Addr) {
	host := "127.0.0.1"
	if tcp, ok := addr.(*net.TCPAddr); ok && !tcp.IP.IsUnspecified() {
		host = tcp.IP.String()
	}
	port := addr.(*net.TCPAddr).Port
	c.webhookPublicURL = fmt.Sprintf("http://%s", net.JoinHostPort(host, fmt.Sprint(port)))
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	c.webhookSecret = hex.EncodeToString(b)
}

// credentialName names the upstream credential in the fleet's token lease:
// replicas with the same token endpoint and client id share one session
// token. It is a hash, so Redis never holds the client id or URL.
func credentialName(cfg config) string {
	sum := sha256.Sum256([]byte(cfg.tokenURL + "\x00" + cfg.clientID))
	return hex.EncodeToString(sum[:12])
}

// mirrorWorkerRate turns MIRROR_SHARE into the worker's own rate: that
// share of the minute budget (of the default one when the budget is off),
// with a burst of a tenth of it, so the worker never spends in bursts what
// users' requests may need.
func mirrorWorkerRate(cfg config) fleet.Rate {
	minute := cfg.budget.minute
	if cfg.budget.off {
		minute = fleet.Rate{Events: 400, Per: time.Minute}
	}
	n := max(1, int(float64(minute.Events)*cfg.mirror.share))
	return fleet.Rate{Events: n, Per: minute.Per, Burst: max(1, n/10)}
}

// newMirror makes svc the tenant's mirror, its worker elected by a lease
// (in Redis for a fleet) and paced by its rate in the fleet's limiter, so
// replicas taking turns never spend more than the share between them.
func newMirror(cfg config, eng *engine, svc *cache.Service, m *telemetry.Metrics, log *slog.Logger) *cache.Mirror {
	var lease cache.Lease = fleet.NewMemoryLeases(1, nil)[0]
	if eng.redis != nil {
		lease = fleet.NewRedisLease(eng.redis, "egw", "mirror")
	}
	rate := mirrorWorkerRate(cfg)
	pace := func(ctx context.Context) error {
		for {
			d, err := eng.limiter.Allow(ctx, "mirror:worker", 0, rate)
			if err != nil {
				return err
			}
			if d.Allowed {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(max(d.RetryIn, time.Millisecond)):
			}
		}
	}
	return cache.NewMirror(svc, cache.MirrorOptions{
		Lease:         lease,
		Pace:          pace,
		Background:    func(ctx context.Context) context.Context { return engage.WithClass(ctx, engage.Background) },
		Interval:      cfg.mirror.interval,
		SweepPeriod:   cfg.mirror.sweepPeriod,
		Visitors:      cfg.mirror.visitors,
		OnCall:        m.MirrorCall,
		OnVisitorCall: m.MirrorVisitorCall,
		OnMissed:      m.MirrorMissed,
		OnResync:      m.MirrorResynced,
		OnAnswer:      m.MirrorAnswered,
		RetrySpan:     webhook.UpstreamRetrySpan,
		// Until the listeners are registered, nothing announces changes.
		WaitLive: cfg.webhookPublicURL != "" || cfg.embedded,
		Logger:   log.With("component", "mirror"),
	})
}

// forecast projects the fleet's upstream calls onto a week from the tally
// of the last day (or of as much of it as the tally has seen).
type forecast struct {
	tally fleet.Tally
	// weekly is the weekly budget of one key the forecast is held against.
	weekly int
}

// forecastSpan is how far back the forecast looks.
const forecastSpan = 24 * time.Hour

// week returns the calls a week at the recent pace would make; ok is false
// when the tally cannot be read or has seen less than a minute.
func (f forecast) week(ctx context.Context) (float64, bool) {
	n, covered, err := f.tally.Sum(ctx, forecastSpan)
	if err != nil || covered < time.Minute {
		return 0, false
	}
	return float64(n) * float64(7*24*time.Hour) / float64(covered), true
}

// watch logs a warning, at most hourly, while the forecast exceeds the
// weekly budget, until ctx ends.
func (f forecast) watch(ctx context.Context, log *slog.Logger) {
	var warned time.Time
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w, ok := f.week(ctx)
		if ok && w > float64(f.weekly) && time.Since(warned) > time.Hour {
			warned = time.Now()
			log.Warn("the upstream calls of the last day, kept up for a week, would exceed the weekly budget", "forecastPerWeek", int(w), "weeklyBudget", f.weekly)
		}
	}
}

// redisWhere names the Redis the options reach, for messages: never its
// credentials.
func redisWhere(o *redis.UniversalOptions) string {
	switch {
	case o.MasterName != "":
		return fmt.Sprintf("primary %q of the sentinels %s", o.MasterName, strings.Join(o.Addrs, ", "))
	case o.IsClusterMode:
		return "the cluster of " + strings.Join(o.Addrs, ", ")
	}
	return strings.Join(o.Addrs, ", ")
}
