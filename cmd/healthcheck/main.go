// Command healthcheck is the container image's health probe: the image has
// no shell and no curl, so Docker's HEALTHCHECK (and compose's) runs this
// static binary instead.
//
//	healthcheck                 GET http://127.0.0.1:<port of LISTEN_ADDR>/healthz
//	healthcheck /readyz         the same port, another path
//	healthcheck http://host:port/path
//
// It exits 0 on a 2xx answer within 3 s and 1 otherwise. LISTEN_ADDR is the
// gateway's own setting (default :8080), read from the environment the
// container gives every process.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	target, err := probeURL(os.Getenv("LISTEN_ADDR"), os.Args[1:])
	if err == nil {
		err = probe(target)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
}

// probeURL is the URL to probe: args[0] when it is a URL, otherwise the path
// args[0] (default /healthz) on the loopback port of listenAddr.
func probeURL(listenAddr string, args []string) (string, error) {
	path := "/healthz"
	if len(args) > 1 {
		return "", fmt.Errorf("usage: healthcheck [/path | http://host:port/path]")
	}
	if len(args) == 1 {
		if strings.HasPrefix(args[0], "http://") || strings.HasPrefix(args[0], "https://") {
			return args[0], nil
		}
		path = "/" + strings.TrimPrefix(args[0], "/")
	}
	if listenAddr == "" {
		listenAddr = ":8080"
	}
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return "", fmt.Errorf("LISTEN_ADDR %q: %w", listenAddr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + path, nil
}

func probe(target string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", target, resp.Status)
	}
	return nil
}
