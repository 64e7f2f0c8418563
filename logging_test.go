package main

// The logs an operator reads: JSON lines, each line of a request carrying its
// id, and no secret whatever happens.

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/engagegql/gateway/engagesim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLogsCarryRequestIDsAndNoSecrets(t *testing.T) {
	t.Parallel()
	const secret = "a-webhook-secret-that-must-never-be-logged"
	g := startGateway(t, map[string]string{"LOG_LEVEL": "debug", "WEBHOOK_SECRET": secret})

	send := func(id string, query ...string) string {
		headers := map[string]string{}
		if id != "" {
			headers[requestIDHeader] = id
		}
		q := `{ countries { name } }`
		if len(query) > 0 {
			q = query[0]
		}
		_, h, _ := postGraphQL(t, g.url, headers, q, nil)
		return h.Get(requestIDHeader)
	}
	assert.Equal(t, "lb-7f3a-01", send("lb-7f3a-01"), "a caller's id is kept")
	forged := send(`x" "level":"ERROR`)
	assert.Len(t, forged, 24, "an id that could forge log lines is replaced")
	fresh := send("")
	assert.Len(t, fresh, 24)
	assert.NotEqual(t, forged, fresh)

	// A token revoked upstream makes the client refresh, retry and log it:
	// the paths most likely to print a secret. (The query must miss the
	// cache to reach the upstream at all.)
	setFaults(t, g.simURL, map[string]any{"revokeTokens": true})
	send("after-revocation", `{ regions { name } }`)

	var ids []string
	require.Eventually(t, func() bool {
		ids = ids[:0]
		sc := bufio.NewScanner(strings.NewReader(g.logs.String()))
		for sc.Scan() {
			var line map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &line), "every line is JSON: %s", sc.Text())
			if line["msg"] == "http request" {
				id, _ := line["request_id"].(string)
				ids = append(ids, id)
			}
		}
		return len(ids) >= 4
	}, subWait, 20*time.Millisecond)
	assert.Contains(t, ids, "lb-7f3a-01")
	assert.Contains(t, ids, fresh)
	assert.Contains(t, ids, "after-revocation")

	logs := g.logs.String()
	assert.Contains(t, logs, "token rejected, refreshing", "the revocation and refresh were logged, so the check below saw them")
	for name, v := range map[string]string{"password": engagesim.DefaultPassword, "webhook secret": secret} {
		assert.NotContains(t, logs, v, "the %s is never logged", name)
	}
	for p, key := range engagesim.DefaultKeys() {
		assert.NotContains(t, logs, key, "the %s subscription key is never logged", p)
	}
	assert.NotContains(t, logs, "Bearer ", "no token is ever logged")
}
