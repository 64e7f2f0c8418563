package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	var out syncBuffer
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-tenant", "Acme", "-single-key", "-token-lifetime", "1h", "-key", "Visitor=vk"}, &out, io.Discard,
			func(addr string) { addrs <- addr })
	}()
	var addr string
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("run ended early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not start")
	}
	base := "http://" + addr

	resp, err := http.Get(base + "/_sim/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	resp, err = http.PostForm(base+"/tokenproviderapi/token", url.Values{"client_id": {"demo-client"}, "password": {"demo-password"}, "grant_type": {"password"}})
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), `"expires_in":3599`)
	token := strings.Split(strings.Split(string(body), `"access_token":"`)[1], `"`)[0]

	// Single-key mode: the custom Visitor key opens HierarchyMapping under the custom tenant.
	req, err := http.NewRequest(http.MethodGet, base+"/acme/api/V1/countries", nil)
	require.NoError(t, err)
	req.Header.Set("Ocp-Apim-Subscription-Key", "vk")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, out.String(), "listening on http://"+addr)

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	err := run(context.Background(), []string{"-key", "nonsense"}, io.Discard, io.Discard, nil)
	assert.Error(t, err)
	err = run(context.Background(), []string{"-key", "Nope=k"}, io.Discard, io.Discard, nil)
	assert.Error(t, err)
}
