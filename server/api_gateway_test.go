package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGatewayEndToEndOnEmbeddedSimulator(t *testing.T) {
	g := startGateway(t, map[string]string{})

	resp := g.query(t, `{
		countries { id name regions { id name locations { id name timeZone windowsTimeZone
			rooms { id name capacity floor { number } location { id } }
			desks { id name floor { number } }
		} } }
	}`, nil)
	require.Empty(t, resp.Errors)
	var data struct {
		Countries []struct {
			ID, Name string
			Regions  []struct {
				ID, Name  string
				Locations []struct {
					ID, Name, TimeZone, WindowsTimeZone string
					Rooms                               []struct {
						ID, Name string
						Capacity int
						Floor    struct{ Number int }
						Location struct{ ID string }
					}
					Desks []struct {
						ID, Name string
						Floor    struct{ Number int }
					}
				}
			}
		}
	}
	require.NoError(t, json.Unmarshal(resp.Data, &data))
	require.GreaterOrEqual(t, len(data.Countries), 3)

	zones := map[string]bool{}
	var rooms, desks int
	var aRoom, aLocation string
	for _, c := range data.Countries {
		for _, r := range c.Regions {
			for _, l := range r.Locations {
				zones[l.TimeZone] = true
				assert.NotEmpty(t, l.WindowsTimeZone)
				assert.Contains(t, l.TimeZone, "/", "IANA zone for %s", l.Name)
				for _, room := range l.Rooms {
					assert.Equal(t, l.ID, room.Location.ID)
					aRoom, aLocation = room.ID, l.ID
				}
				rooms += len(l.Rooms)
				desks += len(l.Desks)
			}
		}
	}
	assert.GreaterOrEqual(t, len(zones), 3)
	assert.True(t, zones["Australia/Sydney"], "a southern-hemisphere location: %v", zones)
	assert.GreaterOrEqual(t, rooms, 100)
	assert.GreaterOrEqual(t, desks, 500)

	// node(id:) resolves any global id to its entity.
	resp = g.query(t, `query($id: ID!) { node(id: $id) { id ... on Room { name location { id } } } }`, map[string]any{"id": aRoom})
	require.Empty(t, resp.Errors)
	var node struct {
		Node struct {
			ID       string
			Name     string
			Location struct{ ID string }
		}
	}
	require.NoError(t, json.Unmarshal(resp.Data, &node))
	assert.Equal(t, aRoom, node.Node.ID)
	assert.Equal(t, aLocation, node.Node.Location.ID)
	assert.NotEmpty(t, node.Node.Name)
}

func TestGatewayErrorsAreClientFacing(t *testing.T) {
	g := startGateway(t, map[string]string{})

	tests := []struct {
		name, query string
		code        string
		contains    string
	}{
		{"malformed id", `{ room(id: "not-an-id") { id } }`, "BAD_USER_INPUT", "not an id"},
		{"wrong id type", `{ countries { id } location(id: "Q291bnRyeToxMDAwMDAw") { id } }`, "BAD_USER_INPUT", "Country id, not a Location id"},
		{"unknown location", `{ location(id: "TG9jYXRpb246OTk5OTk5") { id } }`, "NOT_FOUND", "location 999999 does not exist"},
		{"syntax error", `{ countries { id `, "GRAPHQL_PARSE_FAILED", "Expected"},
		{"unknown field", `{ countries { nope } }`, "GRAPHQL_VALIDATION_FAILED", "Cannot query field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := g.query(t, tt.query, nil)
			require.NotEmpty(t, resp.Errors)
			assert.Equal(t, tt.code, resp.Errors[0].Extensions["code"])
			assert.Contains(t, resp.Errors[0].Message, tt.contains)
		})
	}

	// A malformed body is the client's fault and says so.
	resp, err := http.Post(g.url+"/graphql", "application/json", strings.NewReader("{not json"))
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestGatewayReadiness(t *testing.T) {
	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		t.Skip("REDIS_URL is not set; scripts/test.sh starts a redis-server and sets it")
	}
	g := startGateway(t, map[string]string{"REDIS_URL": redisURL})
	resp, err := http.Get(g.url + "/readyz")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body struct {
		Status string
		Checks map[string]string
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, "ready", body.Status)
	assert.Equal(t, "ok", body.Checks["upstream"])
	assert.Equal(t, "ok", body.Checks["redis"])

	page, err := http.Get(g.url + "/")
	require.NoError(t, err)
	defer page.Body.Close()
	html, _ := io.ReadAll(page.Body)
	assert.Equal(t, http.StatusOK, page.StatusCode)
	assert.Contains(t, string(html), "graphiql")
}

func TestGatewayRefusesToStartWithoutItsRedis(t *testing.T) {
	// Nothing listens on port 1: a replica that cannot reach the fleet's
	// Redis must say so and stop, not run on state of its own.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := map[string]string{"LISTEN_ADDR": "127.0.0.1:0", "REDIS_URL": "redis://127.0.0.1:1/0"}
	err := run(ctx, func(k string) string { return env[k] }, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Redis (127.0.0.1:1) did not answer")
}
