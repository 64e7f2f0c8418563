package server

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/engagegql/gateway/engage"
	"github.com/redis/go-redis/v9"
)

// Binary is what the main package knows of the binary it builds.
type Binary struct {
	// README is the README.md the binary was built with. Its
	// configuration table is the one list of the settings: --help prints
	// it, and check names each setting at fault by it.
	README string
	// Version is the release, set when one is built:
	//
	//	go build -ldflags "-X main.version=v1.2.3"
	//
	// "" leaves it to the go command's record of the module (buildInfo).
	Version string
}

// Run is the whole of the main package's work, given the process's
// command line (without the program's name), environment and output:
// it answers --help and --version, runs check, or serves until ctx is
// done, and returns the process's exit code (2 for a command line it does
// not understand).
func Run(ctx context.Context, bin Binary, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		if err := runWith(ctx, bin, getenv, stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "gateway: %v\n", err)
			return 1
		}
		return 0
	case len(args) == 1 && slices.Contains([]string{"--help", "-help", "-h", "help"}, args[0]):
		writeHelp(stdout, bin)
		return 0
	case len(args) == 1 && slices.Contains([]string{"--version", "-version", "version"}, args[0]):
		fmt.Fprintln(stdout, buildInfo(bin.Version))
		return 0
	case args[0] == "check" && (len(args) == 1 || len(args) == 2 && args[1] == "--reach"):
		return check(ctx, bin, getenv, len(args) == 2, stdout)
	}
	fmt.Fprintf(stderr, "gateway: %q is not a command or flag it knows; see gateway --help\n", strings.Join(args, " "))
	return 2
}

// check reports each problem of the configuration in the environment (and,
// with reach, whether Engage and Redis answer), and returns 0 when there is
// none and 1 otherwise.
func check(ctx context.Context, bin Binary, getenv func(string) string, reach bool, w io.Writer) int {
	cfg, problems := configProblems(bin.README, getenv)
	if len(problems) > 0 {
		fmt.Fprintf(w, "configuration: %d problem(s):\n", len(problems))
		for _, p := range problems {
			fmt.Fprintf(w, "  - %s\n", p)
		}
		return 1
	}
	upstream, store := "the embedded simulator (the demo)", "memory (one replica)"
	if !cfg.embedded {
		upstream = cfg.apiURL
	}
	if cfg.redisOptions != nil {
		store = "Redis, " + redisWhere(cfg.redisOptions)
	}
	fmt.Fprintf(w, "configuration: sound\n  listen: %s\n  upstream: %s\n  store: %s\n", cfg.listenAddr, upstream, store)
	if !reach {
		return 0
	}
	failed := false
	if cfg.embedded {
		fmt.Fprintln(w, "engage: the embedded simulator, nothing to reach")
	} else if err := reachEngage(ctx, cfg); err != nil {
		fmt.Fprintf(w, "engage: %v\n", err)
		failed = true
	} else {
		fmt.Fprintln(w, "engage: a token, and the countries (one call, with the HierarchyMapping key)")
	}
	if cfg.redisOptions != nil {
		if err := reachRedis(ctx, cfg.redisOptions); err != nil {
			fmt.Fprintf(w, "redis: %v\n", err)
			failed = true
		} else {
			fmt.Fprintln(w, "redis: PING answered")
		}
	}
	if failed {
		return 1
	}
	return 0
}

// configProblems loads the configuration, and for as long as it fails on a
// setting, sets that one aside (as if unset) and loads again, so that each
// setting at fault is named once. It returns the configuration when there
// was no problem. The settings' names are those of readme's table.
func configProblems(readme string, getenv func(string) string) (config, []string) {
	var names []string
	for _, s := range settings(readme) {
		names = append(names, s.names...)
	}
	// The longest names first: ENGAGE_KEY_VISITOR before ENGAGE_KEY.
	slices.SortFunc(names, func(a, b string) int { return len(b) - len(a) })
	aside := map[string]bool{}
	env := func(name string) string {
		if aside[name] {
			return ""
		}
		return getenv(name)
	}
	var problems []string
	for {
		cfg, err := loadConfig(env)
		if err == nil {
			return cfg, problems
		}
		problems = append(problems, err.Error())
		at := ""
		for _, n := range names {
			if strings.Contains(err.Error(), n) && !aside[n] && getenv(n) != "" {
				at = n
				break
			}
		}
		if at == "" {
			return cfg, problems
		}
		aside[at] = true
	}
}

// reachEngage obtains a token and makes one call, the countries.
func reachEngage(ctx context.Context, cfg config) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c, err := engage.New(engage.Config{
		TokenURL: cfg.tokenURL, APIURL: cfg.apiURL, ClientID: cfg.clientID, Password: cfg.password,
		Keys: cfg.keys, DefaultKey: cfg.defaultKey, Retry: engage.Retry{Attempts: 1},
	})
	if err != nil {
		return err
	}
	if err := c.CheckToken(ctx); err != nil {
		return fmt.Errorf("no token: %w", err)
	}
	if _, err := c.Countries(ctx); err != nil {
		return fmt.Errorf("a token, but the countries failed: %w", err)
	}
	return nil
}

// reachRedis sends one PING.
func reachRedis(ctx context.Context, opts *redis.UniversalOptions) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rdb := redis.NewUniversalClient(opts)
	defer rdb.Close()
	return rdb.Ping(ctx).Err()
}
