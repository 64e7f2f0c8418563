package server

// End-to-end tests of times on both sides of a daylight saving change: a
// booking made with a UTC time reads back as the same instant, with the
// offset its location has at that instant.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apiNextTransition returns the next instant after from at which zone's
// offset moves forward (forward true) or back, scanning hour by hour.
func apiNextTransition(t testing.TB, zone *time.Location, from time.Time, forward bool) time.Time {
	t.Helper()
	at := from.Truncate(time.Hour)
	_, off := at.In(zone).Zone()
	for end := at.AddDate(2, 0, 0); at.Before(end); at = at.Add(time.Hour) {
		_, o := at.In(zone).Zone()
		if o != off && (o > off) == forward {
			return at
		}
		off = o
	}
	require.Failf(t, "no transition", "%s has no DST change within two years", zone)
	return time.Time{}
}

func TestAPITimeZonesAcrossDST(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, location string
		forward        bool
		// before and after are the offsets on either side of the change.
		before, after string
	}{
		{"London springs forward (last Sunday of March)", "London HQ", true, "+00:00", "+01:00"},
		{"London falls back (last Sunday of October)", "London HQ", false, "+01:00", "+00:00"},
		{"Sydney springs forward (first Sunday of October)", "Sydney", true, "+10:00", "+11:00"},
		{"Sydney falls back (first Sunday of April)", "Sydney", false, "+11:00", "+10:00"},
		{"New York springs forward", "New York", true, "-05:00", "-04:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newAPIStack(t)
			loc := s.location(t, tt.location)
			zone := s.zone(t, loc)
			change := apiNextTransition(t, zone, time.Now(), tt.forward)
			// The simulator lives a few days before the change; the gateway
			// is asked only about explicit windows, never about "today".
			s.setClock(t, change.AddDate(0, 0, -3))
			locID := s.locationID(t, loc.Name)
			roomID := s.roomIDs(t, locID)[s.resources(loc.ID, 1)[0].Name]
			user := s.fx.Users[40]

			bookings := []struct {
				name       string
				start, end time.Time
				// startOffset and endOffset are what the API must write.
				startOffset, endOffset string
			}{
				{"the day before", change.Add(-26 * time.Hour), change.Add(-25 * time.Hour), tt.before, tt.before},
				{"across the change", change.Add(-30 * time.Minute), change.Add(30 * time.Minute), tt.before, tt.after},
				{"the day after", change.Add(25 * time.Hour), change.Add(26 * time.Hour), tt.after, tt.after},
			}
			ids := map[string]string{}
			for _, b := range bookings {
				t.Run("book "+b.name, func(t *testing.T) {
					got := s.bookRoom(t, user.Email, roomID, b.start, b.end, b.name)
					ids[got.ID] = b.name
					for _, at := range []struct {
						what, got, offset string
						want              time.Time
					}{{"start", got.Start, b.startOffset, b.start}, {"end", got.End, b.endOffset, b.end}} {
						assert.True(t, apiTime(t, at.got).Equal(at.want), "%s %s is %s", at.what, at.got, at.want.UTC().Format(time.RFC3339))
						assert.Equal(t, at.offset, at.got[len(at.got)-6:], "offset of %s %s", at.what, at.got)
					}
					again, code := s.booking(t, got.ID)
					require.Empty(t, code)
					assert.Equal(t, got, *again, "read back by id")
				})
			}

			t.Run("listed in a window around the change", func(t *testing.T) {
				var d struct {
					Room struct {
						Bookings []struct{ ID, Title, Start, End string }
					}
				}
				from, to := change.Add(-48*time.Hour).In(zone), change.Add(48*time.Hour).In(zone)
				s.data(t, `query($id: ID!, $from: DateTime!, $to: DateTime!) { room(id: $id) { bookings(from: $from, to: $to) { id title start end } } }`,
					map[string]any{"id": roomID, "from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339)}, &d)
				require.Len(t, d.Room.Bookings, len(bookings))
				for i, b := range bookings {
					g := d.Room.Bookings[i]
					assert.Equal(t, b.name, g.Title)
					assert.Equal(t, b.name, ids[g.ID])
					assert.True(t, apiTime(t, g.Start).Equal(b.start), "%s: %s", b.name, g.Start)
					assert.Equal(t, b.startOffset, g.Start[len(g.Start)-6:], b.name)
					assert.Equal(t, b.endOffset, g.End[len(g.End)-6:], b.name)
				}
			})

			t.Run("visitors either side", func(t *testing.T) {
				// Visitor times come without an offset or a UTC twin: the
				// gateway places them in the location's zone itself.
				for _, c := range []struct {
					day    time.Time
					offset string
				}{{change.AddDate(0, 0, -1), tt.before}, {change.AddDate(0, 0, 1), tt.after}} {
					arrival := apiAt(apiLocalDay(c.day, zone), 10, 30)
					var p apiVisitorPayload
					s.mutate(t, "registerVisitor", "RegisterVisitorInput", `visitor { `+apiVisitorFields+` } errors { code message field }`, map[string]any{
						"actingUserEmail": user.Email, "firstName": "Dee", "lastName": "Este", "locationId": locID,
						"arrival": arrival.UTC().Format(time.RFC3339),
					}, &p)
					require.Empty(t, p.Errors)
					assert.True(t, apiTime(t, p.Visitor.Arrival).Equal(arrival), "%s is %s", p.Visitor.Arrival, arrival)
					assert.Equal(t, c.offset, p.Visitor.Arrival[len(p.Visitor.Arrival)-6:])
					var d struct {
						Visitors struct {
							Nodes []struct{ ID, Arrival string }
						}
					}
					s.data(t, `query($d: Date!, $loc: ID) { visitors(date: $d, locationId: $loc) { nodes { id arrival } } }`,
						map[string]any{"d": arrival.Format(time.DateOnly), "loc": locID}, &d)
					assert.Contains(t, d.Visitors.Nodes, struct{ ID, Arrival string }{p.Visitor.ID, p.Visitor.Arrival})
				}
			})

			t.Run("a booking in the hour that does not exist or repeats", func(t *testing.T) {
				// Local wall times around the change, sent with the offset
				// in force: the same instants as UTC, whatever the clocks do.
				start := change.Add(-15 * time.Minute).In(zone)
				end := change.Add(15 * time.Minute).In(zone)
				var p apiBookingPayload
				s.mutate(t, "bookRoom", "BookRoomInput", `booking { `+apiBookingFields+` } errors { code message field }`, map[string]any{
					"actingUserEmail": user.Email, "roomId": s.roomIDs(t, locID)[s.resources(loc.ID, 1)[1].Name], "title": "Night shift",
					"start": start.Format(time.RFC3339), "end": end.Format(time.RFC3339),
				}, &p)
				require.Empty(t, p.Errors)
				assert.True(t, apiTime(t, p.Booking.Start).Equal(start))
				assert.True(t, apiTime(t, p.Booking.End).Equal(end))
				assert.Equal(t, 30*time.Minute, apiTime(t, p.Booking.End).Sub(apiTime(t, p.Booking.Start)), "half an hour, not 90 or -30 minutes")
				assert.Equal(t, tt.before, p.Booking.Start[len(p.Booking.Start)-6:])
				assert.Equal(t, tt.after, p.Booking.End[len(p.Booking.End)-6:])
			})
		})
	}
}
