package webhook

import (
	"testing"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// fuzzDecoder checks the decoder of one service against arbitrary bodies: it never panics, and it
// returns either an error or at least one well-formed change, never both and never neither.
func fuzzDecoder(f *testing.F, path string, seeds ...string) {
	f.Helper()
	svc, ok := lookup(path)
	if !ok {
		f.Fatalf("no service %q", path)
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	// Every service's body is a seed of every other, so the wrong-shape paths are explored too.
	for _, s := range []string{specMeetingExternal, specMeetingProgression, specDesk, specDeskProgression, specResource, specVisitor,
		``, `null`, `[]`, `{}`, `[null]`, `[{}]`, `{"x":null}`, `[{"Action":"9223372036854775808"}]`} {
		f.Add([]byte(s))
	}
	at := time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		changes, err := svc.decode(body, at)
		if err != nil {
			if changes != nil {
				t.Fatalf("error %v with changes %v", err, changes)
			}
			return
		}
		if len(changes) == 0 {
			t.Fatalf("no error and no changes for %q", body)
		}
		for _, c := range changes {
			if c.Kind == "" || c.Action == "" || c.Source == "" || !c.At.Equal(at) {
				t.Fatalf("incomplete change %+v for %q", c, body)
			}
			if c.BookingID < 0 || c.DeskBookingID < 0 || c.VisitorID < 0 || c.RoomID < 0 || c.DeskID < 0 || c.ResourceID < 0 {
				t.Fatalf("negative id in %+v for %q", c, body)
			}
			switch c.Kind {
			case workplace.KindBooking:
				if c.BookingID == 0 || c.RoomID == 0 {
					t.Fatalf("booking change without ids: %+v", c)
				}
			case workplace.KindDeskBooking:
				if c.DeskBookingID == 0 || c.DeskID == 0 {
					t.Fatalf("desk booking change without ids: %+v", c)
				}
			case workplace.KindResource:
				if c.ResourceID == 0 {
					t.Fatalf("resource change without id: %+v", c)
				}
			case workplace.KindVisitor:
				if c.VisitorID == 0 {
					t.Fatalf("visitor change without id: %+v", c)
				}
			}
		}
	})
}

func FuzzDecodeMeetingExternal(f *testing.F) {
	fuzzDecoder(f, PathMeetingExternal, specMeetingExternal, simMeetingExternalMoved, simMeetingExternalDel,
		`{"2019-08-28T00:00:00":{"changeditems":[{"action":0,"BookingId":99,"resourceItemId":96}]},"0001-01-01T00:00:00":{"ChangedItems":[]}}`)
}

func FuzzDecodeMeetingProgression(f *testing.F) {
	fuzzDecoder(f, PathMeetingProgression, specMeetingProgression, simMeetingStart, simMeetingExtend, simMeetingEnd,
		`[{"BookingID":"101","ResourceItemID":96,"updatedtime":"2019-08-28T10:15:00+02:00","meetingProgressionAction":2}]`)
}

func FuzzDecodeDesk(f *testing.F) {
	fuzzDecoder(f, PathDesk, specDesk, simDeskCreated, simDeskDeleted,
		`[{"date":"2019-08-28","BookingId":102,"ResourceItemId":101,"ACTION":0}]`)
}

func FuzzDecodeDeskProgression(f *testing.F) {
	fuzzDecoder(f, PathDeskProgression, specDeskProgression, simDeskCheckIn, simDeskRelease,
		`[{"BookingID":102,"ResourceItemID":101,"updateTime":"2019-08-28T18:00:00","DeskProgressionAction":2,"ActionSource":1}]`)
}

func FuzzDecodeResource(f *testing.F) {
	fuzzDecoder(f, PathResource, specResource, simResourceCreated, simResourceDeleted,
		`[{"ResourceItemId":96,"WorkspaceTypeID":2,"LocationID":41,"floorNumber":-1,"action":0}]`)
}

func FuzzDecodeVisitor(f *testing.F) {
	fuzzDecoder(f, PathVisitor, specVisitor, simVisitorCreated, simVisitorDeparted,
		`[{"VisitorID":555,"BookingID":7,"LocationID":41,"visitDate":"2019-08-28T23:30:00","visitorAction":6}]`)
}
