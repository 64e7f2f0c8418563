// Command engagesim runs the Eptura Engage API simulator alone, for manual exploration and for
// tests of other processes: go run ./cmd/engagesim -addr 127.0.0.1:8090.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/engagegql/gateway/engagesim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "engagesim:", err)
		os.Exit(1)
	}
}

// run parses args, serves until ctx ends, and reports the address it listens on through ready
// (when not nil) so tests can start it on port 0.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr string)) error {
	fs := flag.NewFlagSet("engagesim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", engagesim.DefaultAddr, "listen address host:port")
	tenant := fs.String("tenant", engagesim.DefaultTenant, "tenant suffix of the API base path")
	clientID := fs.String("client-id", engagesim.DefaultClientID, "client id accepted by the token provider")
	password := fs.String("password", engagesim.DefaultPassword, "password accepted by the token provider")
	singleKey := fs.Bool("single-key", false, "any valid subscription key opens every product")
	lenient := fs.Bool("lenient", false, "hierarchy routes list everything when their listed parameter (countryId, regionId, locationId) is missing, instead of answering 400")
	lifetime := fs.Duration("token-lifetime", engagesim.DefaultTokenLifetime, "session token lifetime")
	rate := fs.Int("rate", engagesim.DefaultRatePerMinute, "calls per minute per key")
	quota := fs.Int("quota", engagesim.DefaultQuotaPerWeek, "calls per week per key")
	seed := fs.Uint64("seed", 1, "demo fixture seed")
	var keys keyFlags
	fs.Var(&keys, "key", "product=key, repeatable; replaces the demo key of that product")
	verbose := fs.Bool("v", false, "log deliveries and admin actions")
	if err := fs.Parse(args); err != nil {
		return err
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfgKeys := engagesim.DefaultKeys()
	for p, k := range keys {
		cfgKeys[p] = k
	}
	sim, err := engagesim.New(engagesim.Config{
		Tenant: *tenant, ClientID: *clientID, Password: *password, Keys: cfgKeys, SingleKey: *singleKey, LenientParams: *lenient,
		TokenLifetime: *lifetime, RatePerMinute: *rate, QuotaPerWeek: *quota,
		Fixture: engagesim.DemoFixture(*seed, time.Now().UTC()), Logger: logger,
	})
	if err != nil {
		return err
	}
	defer sim.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "engagesim listening on http://%s (API base /%s/api/V1, token /tokenproviderapi/token, admin /_sim/)\n", ln.Addr(), *tenant)
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// keyFlags collects -key product=key flags.
type keyFlags map[string]string

func (k *keyFlags) String() string { return fmt.Sprint(map[string]string(*k)) }

func (k *keyFlags) Set(v string) error {
	p, key, ok := strings.Cut(v, "=")
	if !ok || p == "" || key == "" {
		return fmt.Errorf("want product=key, got %q", v)
	}
	if *k == nil {
		*k = keyFlags{}
	}
	(*k)[p] = key
	return nil
}
