// GraphiQL at / as a person uses it: Debian's chromium, headless, loads the
// page from a gateway on the embedded simulator, runs the example query, and
// watches a booking made in the simulator arrive on a subscription.
package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/engagegql/gateway/graphiql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// chromium returns the browser to test with. Without one the test fails
// where a browser must be there (CI, or BROWSER_TESTS=1, which
// scripts/test.sh sets after installing it) and is skipped elsewhere.
func chromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err == nil {
		return chromiumPath
	}
	msg := chromiumPath + " is missing: install Debian's chromium (apt-get install chromium), as scripts/test.sh does"
	if os.Getenv("CI") != "" || os.Getenv("BROWSER_TESTS") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// pageLog is what a page did that the test checks afterwards. The listener
// fills it from chromedp's event loop, so it takes a lock.
type pageLog struct {
	mu       sync.Mutex
	requests []string // every URL the page requested, websockets included
	problems []string // uncaught exceptions, console errors, CSP violations
	received []string // websocket messages from the server
}

func (l *pageLog) listen(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		u := ev.Request.URL
		if len(u) > 100 { // inlined fonts and icons: data: URLs of many KiB
			u = u[:100] + "…"
		}
		l.requests = append(l.requests, u)
	case *network.EventWebSocketCreated:
		l.requests = append(l.requests, ev.URL)
	case *network.EventWebSocketFrameReceived:
		l.received = append(l.received, string(ev.Response.PayloadData))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		l.problems = append(l.problems, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			l.problems = append(l.problems, "console."+string(ev.Type)+": "+strings.Join(args, " "))
		}
	case *log.EventEntryAdded:
		// The browser's own messages: failed loads, refused by the CSP.
		if e := ev.Entry; e.Level == log.EntryLevelError {
			l.problems = append(l.problems, fmt.Sprintf("%s %s: %s", e.Source, e.URL, e.Text))
		}
	}
}

func (l *pageLog) snapshot() (requests, problems, received []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.requests), slices.Clone(l.problems), slices.Clone(l.received)
}

// isLocal reports whether the page may have requested u: its own gateway on
// loopback, or content inlined in the page (data: fonts and icons).
func isLocal(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	switch p.Scheme {
	case "data", "blob", "about":
		return true
	case "http", "https", "ws", "wss":
		if p.Hostname() == "localhost" {
			return true
		}
		ip := net.ParseIP(p.Hostname())
		return ip != nil && ip.IsLoopback()
	}
	return false
}

// newTab starts a headless chromium and returns the context of a tab in it,
// whose events go to listen. Everything the browser does, its start
// included, ends within browserTimeout; the browser stops when the test ends.
func newTab(t *testing.T, listen func(ev any)) context.Context {
	t.Helper()
	exe := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	// No UserDataDir: the allocator makes a new temporary profile for the
	// run and removes it when cancelled.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		// Containers have a small /dev/shm, which chromium can fill.
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1400, 900),
	)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(listen))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for the browser to exit
		cancel()
	})
	return tabCtx
}

// browserTimeout bounds a browser test; the one here takes a few seconds
// on an idle machine.
const browserTimeout = 60 * time.Second

func TestGraphiQLInBrowser(t *testing.T) {
	chromium(t)
	g := startGateway(t, map[string]string{})
	// The tab closes before the gateway stops: cleanups run last first.
	var pl pageLog
	ctx := newTab(t, pl.listen)

	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(g.url+"/"))
	require.NoError(t, err, "load GraphiQL")
	require.EqualValues(t, http.StatusOK, resp.Status)
	assert.Contains(t, resp.Headers["Content-Security-Policy"], "script-src 'self'")

	title, err := chromedp.Run(ctx, chromedp.Title())
	require.NoError(t, err)
	assert.Equal(t, "Engage GraphQL Gateway", title)

	editorText := graphiqlEditorText
	poll := chromedp.WithPollingTimeout(20 * time.Second)

	query, err := chromedp.Run(ctx, chromedp.Poll[string](editorText(".graphiql-query-editor"), poll))
	require.NoError(t, err, "GraphiQL's query editor did not appear")
	assert.Equal(t, strings.TrimSpace(graphiql.ExampleQuery), strings.TrimSpace(query))

	// The documentation explorer is open from the start, on screen, and
	// fills in from introspection; its root query type lists the fields.
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`(() => {
		const docs = document.querySelector(".graphiql-doc-explorer");
		if (!docs || !docs.innerText.includes("Root Types")) return false;
		const title = docs.querySelector(".graphiql-doc-explorer-title").getBoundingClientRect();
		const hit = document.elementFromPoint(title.left + title.width / 2, title.top + title.height / 2);
		return docs.contains(hit);
	})()`, poll))
	require.NoError(t, err, "the documentation explorer did not show the schema")
	// The first type named is the root query type.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(".graphiql-doc-explorer a.graphiql-doc-explorer-type-name"))))
	fields, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => {
		const docs = document.querySelector(".graphiql-doc-explorer");
		return docs && docs.innerText.includes("locations") ? docs.innerText : "";
	})()`, poll))
	require.NoError(t, err, "the Query type's fields did not show")
	assert.Contains(t, fields, "countries")

	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(".graphiql-execute-button"))))
	result, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => {
		const v = `+editorText(".graphiql-response")+`;
		return v.includes('"data"') || v.includes('"errors"') ? v : "";
	})()`, poll))
	require.NoError(t, err, "no result in the response pane")
	var out struct {
		Data struct {
			Locations []struct {
				Name, TimeZone string
				Rooms          []struct{ Name string }
			}
		}
		Errors []struct{ Message string }
	}
	require.NoError(t, json.Unmarshal([]byte(result), &out), "response pane: %s", result)
	require.Empty(t, out.Errors)
	zones := map[string]string{}
	for _, l := range out.Data.Locations {
		zones[l.Name] = l.TimeZone
	}
	assert.Equal(t, "Europe/London", zones["London HQ"], "locations in the response pane: %v", zones)

	// A subscription goes over graphql-transport-ws to the same path, on a
	// websocket URL made from the page's location.
	wsURL := "ws://" + strings.TrimPrefix(g.url, "http://") + "/graphql"
	const sub = "subscription Watch { bookingChanged { action bookingId booking { title } } }"
	require.NoError(t, chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.setValue(%q)`, sub))))
	// GraphiQL parses an edit a moment later; until then it would run
	// the new text under the old operation's name.
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](
		`document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.operationName === "Watch"`, poll))
	require.NoError(t, err, "GraphiQL did not take in the subscription")
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	_, err = chromedp.Run(wctx, chromedp.WaitEvent(network.WebSocketFrameSent,
		func(ev network.EventWebSocketFrameSent) bool {
			return strings.Contains(string(ev.Response.PayloadData), `"type":"subscribe"`)
		},
		chromedp.Click(chromedp.CSS(".graphiql-execute-button"))))
	requests, problems, received := pl.snapshot()
	require.NoError(t, err, "GraphiQL sent no graphql-transport-ws subscribe message; requests %q, problems %q, received %q", requests, problems, received)
	assert.Contains(t, requests, wsURL)
	assert.Contains(t, strings.Join(received, "\n"), `"type":"connection_ack"`)

	// Someone books a room in the Engage web app (the embedded simulator's
	// admin route); the simulator's webhook reaches the gateway, and the
	// event shows in the response pane. The subscription is registered a
	// moment after the subscribe message, and a booking made before then
	// sends no event, so each attempt books anew (bounded).
	require.NotEmpty(t, g.simURL, "the embedded simulator's URL was not logged")
	room := londonRooms(t, g.url)[0]
	const booked = "Booked in the web app"
	seen := ""
	for attempt := 1; attempt <= 6 && seen == ""; attempt++ {
		seedBooking(t, g.simURL, room, tomorrow().Add(24*time.Hour), fmt.Sprintf("%s #%d", booked, attempt))
		seen, _ = chromedp.Run(ctx, chromedp.Poll[string](`(() => {
			const v = `+editorText(".graphiql-response")+`;
			return v.includes(`+fmt.Sprintf("%q", booked)+`) ? v : "";
		})()`, chromedp.WithPollingTimeout(4*time.Second)))
	}
	_, _, received = pl.snapshot()
	require.NotEmpty(t, seen, "no booking event showed in the response pane; frames received %q", received)
	var event struct {
		Data struct {
			BookingChanged struct {
				Action, BookingID string
				Booking           struct{ Title string }
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(seen), &event), "response pane: %s", seen)
	assert.Equal(t, "UPDATED", event.Data.BookingChanged.Action)
	assert.NotEmpty(t, event.Data.BookingChanged.BookingID)
	assert.True(t, strings.HasPrefix(event.Data.BookingChanged.Booking.Title, booked+" #"), "response pane: %s", seen)
	assert.Contains(t, strings.Join(received, "\n"), `"type":"next"`)

	requests, problems, _ = pl.snapshot()
	assert.Empty(t, problems, "the page reported problems")
	var sawAsset, sawQuery bool
	for _, u := range requests {
		assert.True(t, isLocal(u), "the page requested a non-local URL: %s", u)
		sawAsset = sawAsset || strings.Contains(u, graphiql.AssetsPath+"graphiql/graphiql.min.js")
		sawQuery = sawQuery || strings.HasSuffix(u, "/graphql")
	}
	assert.True(t, sawAsset && sawQuery, "the network listener missed the page's own requests: %v", requests)
}

// graphiqlEditorText is JavaScript that reads the whole text of one of
// GraphiQL's editors: CodeMirror 5 renders only the lines in view; its
// instance on the wrapper element has the whole text.
func graphiqlEditorText(selector string) string {
	return fmt.Sprintf(`(() => {
		const cm = document.querySelector(%q);
		return cm && cm.CodeMirror ? cm.CodeMirror.getValue() : "";
	})()`, selector+" .CodeMirror")
}

// TestGraphiQLDeferInBrowser runs a query with @defer in GraphiQL, which
// asks for multipart/mixed and merges the parts: the response pane ends up
// with every deferred field, real data where the first part had none.
func TestGraphiQLDeferInBrowser(t *testing.T) {
	chromium(t)
	g := startGateway(t, map[string]string{})
	var pl pageLog
	ctx := newTab(t, pl.listen)
	_, err := chromedp.Run(ctx, chromedp.NavigateResponse(g.url+"/"))
	require.NoError(t, err, "load GraphiQL")
	poll := chromedp.WithPollingTimeout(20 * time.Second)
	_, err = chromedp.Run(ctx, chromedp.Poll[string](graphiqlEditorText(".graphiql-query-editor"), poll))
	require.NoError(t, err, "GraphiQL's query editor did not appear")

	const deferred = `query Deferred { locations { name ... @defer(label: "rooms") { rooms { name } } } }`
	require.NoError(t, chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.setValue(%q)`, deferred))))
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](
		`document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.operationName === "Deferred"`, poll))
	require.NoError(t, err, "GraphiQL did not take in the query")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(".graphiql-execute-button"))))
	// The pane shows the first part, then the parts merged as they come:
	// done once every location has its rooms.
	result, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => {
		const v = `+graphiqlEditorText(".graphiql-response")+`;
		try {
			const locs = JSON.parse(v).data.locations;
			return locs.length > 0 && locs.every((l) => Array.isArray(l.rooms)) ? v : "";
		} catch (e) {
			return "";
		}
	})()`, poll))
	requests, problems, _ := pl.snapshot()
	last, _ := chromedp.Run(ctx, chromedp.Evaluate[string](graphiqlEditorText(".graphiql-response")))
	require.NoError(t, err, "the deferred rooms never showed in the response pane: %s; requests %q, problems %q", last, requests, problems)
	var out struct {
		Data struct {
			Locations []struct {
				Name  string
				Rooms *[]struct{ Name string }
			}
		}
		Errors []struct{ Message string }
	}
	require.NoError(t, json.Unmarshal([]byte(result), &out), "response pane: %s", result)
	require.Empty(t, out.Errors)
	require.NotEmpty(t, out.Data.Locations)
	for _, l := range out.Data.Locations {
		if assert.NotNil(t, l.Rooms, "%s has its deferred rooms: %s", l.Name, result) {
			assert.NotEmpty(t, *l.Rooms, "%s", l.Name)
		}
	}
	assert.Empty(t, problems, "the page reported problems")
}

// The example query must stay valid as the schema changes, also where no
// browser runs the test above.
func TestGraphiQLExampleQueryIsValid(t *testing.T) {
	g := startGateway(t, map[string]string{})
	resp := g.query(t, graphiql.ExampleQuery, nil)
	require.Empty(t, resp.Errors)
	assert.Contains(t, string(resp.Data), "London HQ")
}
