package webhook

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// result is one call of Options.OnResult.
type result struct {
	service     string
	status      int
	invalidated int
}

// TestOnResultReportsEveryRequest: accepted, duplicate, rejected and
// unknown-path requests are each reported once, with a bounded service name
// and the number of changes invalidated.
func TestOnResultReportsEveryRequest(t *testing.T) {
	var got []result
	h, err := NewHandler(Options{Secret: testSecret, MaxBody: 4096, Invalidator: &recorder{}, Now: testNow,
		OnResult: func(service string, status, invalidated int) { got = append(got, result{service, status, invalidated}) }})
	require.NoError(t, err)

	serve(t, h, delivery{}.request(t))
	serve(t, h, delivery{}.request(t)) // the same delivery id again
	serve(t, h, delivery{header: map[string]string{headerSignature: "sha256=00"}}.request(t))
	serve(t, h, delivery{path: MountPath + "made-up-" + t.Name()}.request(t))
	serve(t, h, delivery{method: http.MethodGet}.request(t))

	assert.Equal(t, []result{
		{PathDesk, http.StatusOK, 1},
		{PathDesk, http.StatusOK, 0},
		{PathDesk, http.StatusUnauthorized, 0},
		{"", http.StatusNotFound, 0},
		{"", http.StatusMethodNotAllowed, 0},
	}, got)
}
