package server

// Seven lobby screens in real time: what a tenant's screens cost with the
// mirror, over real HTTP, webhooks and Redis, on the real clock.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMirrorSevenDashboardsInRealTime polls tomorrow's dashboard of every
// location from seven screens every 15 s for 6 minutes while 5 bookings
// change, three in the web app and two through the gateway. Every change
// is made half-way between two polls, and every screen's next poll, and
// each one after, shows it. Engage is called only for the changes: at
// most 2 calls per change plus a handful, where a change through the
// gateway costs its own write too.
func TestMirrorSevenDashboardsInRealTime(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 6 minutes of real time")
	}
	// Not in parallel with the rest: on a machine loaded by the tests the
	// store's calls time out now and then, and every read in the second
	// the cache then steps aside goes upstream, which would be counted
	// here as the mirror's.
	const (
		screens  = 7
		every    = 15 * time.Second
		duration = 6 * time.Minute
		changes  = 5
		handful  = 5
	)
	rs := startRedisServer(t)
	l := newMirrorLive(t, mirrorEnv(rs.url()))
	awaitFilled(t, l.gwURL)
	room := londonRooms(t, l.gwURL)[1]
	host := anyHostEmail(t, l.gwURL)

	// want is what every screen must show from a poll on: a booking's
	// title, or "" for one that must be gone.
	type expectation struct {
		from  time.Time
		id    int64
		title string
	}
	var mu sync.Mutex
	var wants []expectation
	expect := func(from time.Time, id int64, title string) {
		mu.Lock()
		wants = append(wants, expectation{from, id, title})
		mu.Unlock()
	}
	// Settle: whatever the fill left in flight lands before counting.
	awaitRounds(t, l.gwURL, 2)
	resetLiveStats(t, l.simURL)
	start := time.Now()

	var polls sync.WaitGroup
	failures := make(chan string, screens*int(duration/every)+1)
	for s := range screens {
		polls.Add(1)
		go func() {
			defer polls.Done()
			for k := 0; ; k++ {
				// The screens poll within a second of each other.
				at := start.Add(time.Duration(k)*every + time.Duration(s)*100*time.Millisecond)
				if at.After(start.Add(duration)) {
					return
				}
				time.Sleep(time.Until(at))
				began := time.Now()
				titles, err := pollTitles(l.gwURL)
				if err != nil {
					failures <- fmt.Sprintf("screen %d, poll %d: %v", s, k, err)
					continue
				}
				mu.Lock()
				due := map[int64]expectation{}
				for _, w := range wants {
					if !w.from.After(began) {
						due[w.id] = w // the latest for each booking
					}
				}
				mu.Unlock()
				for _, w := range due {
					got, there := titles[w.id]
					switch {
					case w.title == "" && there:
						failures <- fmt.Sprintf("screen %d, poll %d: booking %d is still shown after its cancellation", s, k, w.id)
					case w.title != "" && got != w.title:
						failures <- fmt.Sprintf("screen %d, poll %d: booking %d shows %q, not %q", s, k, w.id, got, w.title)
					}
				}
			}
		}()
	}

	// The changes, one every 1¼ minutes, each half-way between two polls.
	at := func(i int) time.Time { return start.Add(time.Duration(5*i+2)*every + every/2) }
	time.Sleep(time.Until(at(0)))
	webID := seedBooking(t, l.simURL, room, tomorrow(), "Booked in the web app")
	expect(time.Now(), webID, "Booked in the web app")

	time.Sleep(time.Until(at(1)))
	l.admin(t, http.MethodPut, fmt.Sprintf("/_sim/bookings/%d", webID), map[string]any{"meetingTitle": "Renamed in the web app"}, nil)
	expect(time.Now(), webID, "Renamed in the web app")

	time.Sleep(time.Until(at(2)))
	gwNode, gwID := bookThroughGateway(t, l.gwURL, host, room, "Booked through the gateway")
	expect(time.Now(), gwID, "Booked through the gateway")

	time.Sleep(time.Until(at(3)))
	l.admin(t, http.MethodDelete, fmt.Sprintf("/_sim/bookings/%d", webID), nil, nil)
	expect(time.Now(), webID, "")

	time.Sleep(time.Until(at(4)))
	resp := queryAt(t, l.gwURL, `mutation($u: String!, $b: ID!) { cancelBooking(input: {actingUserEmail: $u, bookingId: $b}) { errors { code message } } }`,
		map[string]any{"u": host, "b": gwNode})
	require.Empty(t, resp.Errors)
	require.JSONEq(t, `{"cancelBooking":{"errors":[]}}`, string(resp.Data))
	expect(time.Now(), gwID, "")

	polls.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}

	st := liveStats(t, l.simURL)
	t.Logf("%d screens polled every %s for %s while %d bookings changed: %d calls to Engage: %+v",
		screens, every, duration, changes, st.TotalCalls, st.Calls)
	assert.LessOrEqual(t, st.TotalCalls, 2*changes+handful, "calls beyond the changes: %+v", st.Calls)
	assert.Positive(t, st.TotalCalls, "the changes cost nothing: they were not seen")
}

// pollTitles is one poll of tomorrow's dashboard: every booking's title by
// its Engage number, or what was wrong with the answer.
func pollTitles(gwURL string) (map[int64]string, error) {
	body, _ := json.Marshal(map[string]any{"query": tomorrowDashboard, "variables": tomorrowVars()})
	resp, err := http.Post(gwURL+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			Locations []struct {
				Rooms []struct {
					Bookings []struct {
						EngageID apiEngageID
						Title    string
					}
				}
			}
		}
		Errors []json.RawMessage
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("status %d, undecodable answer: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || len(out.Errors) > 0 || len(out.Data.Locations) == 0 {
		return nil, fmt.Errorf("status %d, errors %s", resp.StatusCode, out.Errors)
	}
	titles := map[int64]string{}
	for _, l := range out.Data.Locations {
		for _, r := range l.Rooms {
			for _, b := range r.Bookings {
				titles[int64(b.EngageID)] = b.Title
			}
		}
	}
	return titles, nil
}

// anyHostEmail is the email of some booking's host, read through the
// gateway: a user the simulator knows.
func anyHostEmail(t *testing.T, gwURL string) string {
	t.Helper()
	resp := queryAt(t, gwURL, `query($from: DateTime!, $to: DateTime!) { locations { rooms { bookings(from: $from, to: $to) { host { email } } } } }`, tomorrowVars())
	require.Empty(t, resp.Errors)
	var out struct {
		Locations []struct {
			Rooms []struct {
				Bookings []struct{ Host *struct{ Email string } }
			}
		}
	}
	require.NoError(t, json.Unmarshal(resp.Data, &out))
	for _, l := range out.Locations {
		for _, r := range l.Rooms {
			for _, b := range r.Bookings {
				if b.Host != nil && b.Host.Email != "" {
					return b.Host.Email
				}
			}
		}
	}
	require.Fail(t, "no booking of tomorrow names a host")
	return ""
}

// bookThroughGateway books room for half an hour tomorrow through the
// gateway, at the first free half-hour from 07:00 UTC, and returns the
// booking's GraphQL id and Engage number.
func bookThroughGateway(t *testing.T, gwURL, host, room, title string) (string, int64) {
	t.Helper()
	for start := tomorrow().Add(7 * time.Hour); start.Before(tomorrow().Add(20 * time.Hour)); start = start.Add(30 * time.Minute) {
		resp := queryAt(t, gwURL, `mutation($u: String!, $r: ID!, $s: DateTime!, $e: DateTime!, $t: String!) {
			bookRoom(input: {actingUserEmail: $u, roomId: $r, start: $s, end: $e, title: $t}) { booking { id engageId } errors { code message } } }`,
			map[string]any{"u": host, "r": room, "s": start.Format(time.RFC3339), "e": start.Add(30 * time.Minute).Format(time.RFC3339), "t": title})
		require.Empty(t, resp.Errors)
		var out struct {
			BookRoom struct {
				Booking *struct {
					ID       string
					EngageID apiEngageID
				}
				Errors []struct{ Code, Message string }
			}
		}
		require.NoError(t, json.Unmarshal(resp.Data, &out))
		if b := out.BookRoom.Booking; b != nil {
			return b.ID, int64(b.EngageID)
		}
		require.Len(t, out.BookRoom.Errors, 1)
		if out.BookRoom.Errors[0].Code != "CONFLICT" {
			require.Failf(t, "booking through the gateway failed", "%+v", out.BookRoom.Errors)
		}
	}
	require.Fail(t, "the room has no free half-hour tomorrow")
	return "", 0
}
