package webhook

import (
	"testing"
	"time"

	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Bodies exactly as section 6 of the contract shows them.
const (
	specMeetingExternal    = `{"2019-08-28T00:00:00":{"ChangedItems":[{"Action":1,"BookingID":99,"ResourceItemID":96}]}}`
	specMeetingProgression = `[{"BookingId":101,"ResourceItemId":96,"UpdatedTime":"0001-01-01T00:00:00","MeetingProgressionAction":2,"ActionSource":1}]`
	specDesk               = `[{"Date":"2019-08-28T00:00:00","BookingID":102,"ResourceItemID":101,"Action":1,"UntilFurtherNotice":false}]`
	specDeskProgression    = `[{"BookingId":102,"ResourceItemId":101,"UpdateTime":"0001-01-01T00:00:00","DeskProgressionAction":0,"ActionSource":0}]`
	specResource           = `[{"ResourceItemID":96,"WorkspaceTypeId":1,"LocationId":41,"FloorNumber":13,"Action":2}]`
	specVisitor            = `[{"VisitorId":555,"BookingId":0,"LocationId":41,"VisitDate":"2019-08-28T09:30:00","VisitorAction":3}]`
)

// Bodies engagesim sent for changes made through its admin routes (captured by TestSimEveryService,
// which logs them with -v).
const (
	simMeetingExternalMoved = `{"2026-03-20T00:00:00":{"ChangedItems":[{"Action":1,"BookingID":100002,"ResourceItemID":2002}]},"2026-03-23T00:00:00":{"ChangedItems":[{"Action":1,"BookingID":100002,"ResourceItemID":2001}]}}`
	simMeetingExternalDel   = `{"2026-03-23T00:00:00":{"ChangedItems":[{"Action":0,"BookingID":100002,"ResourceItemID":2001}]}}`
	simMeetingStart         = `[{"BookingId":100001,"ResourceItemId":2001,"UpdatedTime":"0001-01-01T00:00:00","MeetingProgressionAction":0,"ActionSource":0}]`
	simMeetingExtend        = `[{"BookingId":100001,"ResourceItemId":2001,"UpdatedTime":"2026-03-20T12:30:00","MeetingProgressionAction":2,"ActionSource":0}]`
	simMeetingEnd           = `[{"BookingId":100001,"ResourceItemId":2001,"UpdatedTime":"0001-01-01T00:00:00","MeetingProgressionAction":1,"ActionSource":0}]`
	simDeskCreated          = `[{"Date":"2026-03-23T00:00:00","BookingID":500002,"ResourceItemID":3001,"Action":1,"UntilFurtherNotice":false}]`
	simDeskDeleted          = `[{"Date":"2026-03-23T00:00:00","BookingID":500002,"ResourceItemID":3001,"Action":0,"UntilFurtherNotice":false}]`
	simDeskCheckIn          = `[{"BookingId":500001,"ResourceItemId":3001,"UpdateTime":"0001-01-01T00:00:00","DeskProgressionAction":0,"ActionSource":0}]`
	simDeskRelease          = `[{"BookingId":500001,"ResourceItemId":3001,"UpdateTime":"0001-01-01T00:00:00","DeskProgressionAction":1,"ActionSource":0}]`
	simResourceCreated      = `[{"ResourceItemID":3002,"WorkspaceTypeId":2,"LocationId":41,"FloorNumber":5,"Action":1}]`
	simResourceDeleted      = `[{"ResourceItemID":3002,"WorkspaceTypeId":2,"LocationId":41,"FloorNumber":6,"Action":0}]`
	simVisitorCreated       = `[{"VisitorId":9002,"BookingId":0,"LocationId":41,"VisitDate":"2026-03-21T09:30:00","VisitorAction":0}]`
	simVisitorDeparted      = `[{"VisitorId":9001,"BookingId":100001,"LocationId":41,"VisitDate":"2026-03-20T10:50:00","VisitorAction":5}]`
)

func date(y int, m time.Month, d int) workplace.Date {
	return workplace.Date{Year: y, Month: m, Day: d}
}

func TestDecode(t *testing.T) {
	at := time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		service string
		body    string
		want    []workplace.Change
	}{
		// The contract's examples.
		{"spec meeting external", PathMeetingExternal, specMeetingExternal, []workplace.Change{
			{Kind: workplace.KindBooking, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown, BookingID: 99, RoomID: 96, Date: date(2019, 8, 28)}}},
		{"spec meeting progression: extend without a time", PathMeetingProgression, specMeetingProgression, []workplace.Change{
			{Kind: workplace.KindBooking, Action: workplace.ActionExtended, Source: workplace.SourceExternal, BookingID: 101, RoomID: 96}}},
		{"spec desk", PathDesk, specDesk, []workplace.Change{
			{Kind: workplace.KindDeskBooking, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown, DeskBookingID: 102, DeskID: 101, Date: date(2019, 8, 28)}}},
		{"spec desk progression", PathDeskProgression, specDeskProgression, []workplace.Change{
			{Kind: workplace.KindDeskBooking, Action: workplace.ActionCheckedIn, Source: workplace.SourceWeb, DeskBookingID: 102, DeskID: 101}}},
		{"spec resource", PathResource, specResource, []workplace.Change{
			{Kind: workplace.KindResource, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown, ResourceID: 96, WorkspaceType: workplace.WorkspaceRoom, LocationID: 41, Floor: 13}}},
		{"spec visitor", PathVisitor, specVisitor, []workplace.Change{
			{Kind: workplace.KindVisitor, Action: workplace.ActionArrived, Source: workplace.SourceUnknown, VisitorID: 555, LocationID: 41, Date: date(2019, 8, 28)}}},

		// What engagesim sends.
		{"sim meeting moved: both days, in date order", PathMeetingExternal, simMeetingExternalMoved, []workplace.Change{
			{Kind: workplace.KindBooking, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown, BookingID: 100002, RoomID: 2002, Date: date(2026, 3, 20)},
			{Kind: workplace.KindBooking, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown, BookingID: 100002, RoomID: 2001, Date: date(2026, 3, 23)}}},
		{"sim meeting deleted", PathMeetingExternal, simMeetingExternalDel, []workplace.Change{
			{Kind: workplace.KindBooking, Action: workplace.ActionDeleted, Source: workplace.SourceUnknown, BookingID: 100002, RoomID: 2001, Date: date(2026, 3, 23)}}},
		{"sim meeting start", PathMeetingProgression, simMeetingStart, []workplace.Change{
			{Kind: workplace.KindBooking, Action: workplace.ActionStarted, Source: workplace.SourceWeb, BookingID: 100001, RoomID: 2001}}},
		{"sim meeting extend carries the new end", PathMeetingProgression, simMeetingExtend, []workplace.Change{
			{Kind: workplace.KindBooking, Action: workplace.ActionExtended, Source: workplace.SourceWeb, BookingID: 100001, RoomID: 2001,
				NewEnd: time.Date(2026, 3, 20, 12, 30, 0, 0, time.UTC)}}},
		{"sim meeting end", PathMeetingProgression, simMeetingEnd, []workplace.Change{
			{Kind: workplace.KindBooking, Action: workplace.ActionEnded, Source: workplace.SourceWeb, BookingID: 100001, RoomID: 2001}}},
		{"sim desk created", PathDesk, simDeskCreated, []workplace.Change{
			{Kind: workplace.KindDeskBooking, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown, DeskBookingID: 500002, DeskID: 3001, Date: date(2026, 3, 23)}}},
		{"sim desk deleted", PathDesk, simDeskDeleted, []workplace.Change{
			{Kind: workplace.KindDeskBooking, Action: workplace.ActionDeleted, Source: workplace.SourceUnknown, DeskBookingID: 500002, DeskID: 3001, Date: date(2026, 3, 23)}}},
		{"sim desk check-in", PathDeskProgression, simDeskCheckIn, []workplace.Change{
			{Kind: workplace.KindDeskBooking, Action: workplace.ActionCheckedIn, Source: workplace.SourceWeb, DeskBookingID: 500001, DeskID: 3001}}},
		{"sim desk release", PathDeskProgression, simDeskRelease, []workplace.Change{
			{Kind: workplace.KindDeskBooking, Action: workplace.ActionReleased, Source: workplace.SourceWeb, DeskBookingID: 500001, DeskID: 3001}}},
		{"sim resource created", PathResource, simResourceCreated, []workplace.Change{
			{Kind: workplace.KindResource, Action: workplace.ActionCreated, Source: workplace.SourceUnknown, ResourceID: 3002, WorkspaceType: workplace.WorkspaceDesk, LocationID: 41, Floor: 5}}},
		{"sim resource deleted", PathResource, simResourceDeleted, []workplace.Change{
			{Kind: workplace.KindResource, Action: workplace.ActionDeleted, Source: workplace.SourceUnknown, ResourceID: 3002, WorkspaceType: workplace.WorkspaceDesk, LocationID: 41, Floor: 6}}},
		{"sim visitor created", PathVisitor, simVisitorCreated, []workplace.Change{
			{Kind: workplace.KindVisitor, Action: workplace.ActionCreated, Source: workplace.SourceUnknown, VisitorID: 9002, LocationID: 41, Date: date(2026, 3, 21)}}},
		{"sim visitor departed", PathVisitor, simVisitorDeparted, []workplace.Change{
			{Kind: workplace.KindVisitor, Action: workplace.ActionDeparted, Source: workplace.SourceUnknown, VisitorID: 9001, BookingID: 100001, LocationID: 41, Date: date(2026, 3, 20)}}},

		// Casing drift: field names match whatever their case.
		{"meeting external in lower and odd case", PathMeetingExternal, `{"2019-08-28T00:00:00":{"changeditems":[{"action":0,"BookingId":99,"resourceItemId":96}]}}`, []workplace.Change{
			{Kind: workplace.KindBooking, Action: workplace.ActionDeleted, Source: workplace.SourceUnknown, BookingID: 99, RoomID: 96, Date: date(2019, 8, 28)}}},
		{"meeting progression with BookingID casing", PathMeetingProgression, `[{"BookingID":101,"ResourceItemID":96,"updatedtime":"2019-08-28T10:15:00","meetingProgressionAction":2,"actionSource":0}]`, []workplace.Change{
			{Kind: workplace.KindBooking, Action: workplace.ActionExtended, Source: workplace.SourceWeb, BookingID: 101, RoomID: 96, NewEnd: time.Date(2019, 8, 28, 10, 15, 0, 0, time.UTC)}}},
		{"desk with BookingId casing", PathDesk, `[{"date":"2019-08-28T00:00:00","BookingId":102,"ResourceItemId":101,"ACTION":0}]`, []workplace.Change{
			{Kind: workplace.KindDeskBooking, Action: workplace.ActionDeleted, Source: workplace.SourceUnknown, DeskBookingID: 102, DeskID: 101, Date: date(2019, 8, 28)}}},
		{"desk progression with BookingID casing, extend", PathDeskProgression, `[{"BookingID":102,"ResourceItemID":101,"updateTime":"2019-08-28T18:00:00","DeskProgressionAction":2,"ActionSource":1}]`, []workplace.Change{
			{Kind: workplace.KindDeskBooking, Action: workplace.ActionUpdated, Source: workplace.SourceExternal, DeskBookingID: 102, DeskID: 101, NewEnd: time.Date(2019, 8, 28, 18, 0, 0, 0, time.UTC)}}},
		{"resource with Id casing", PathResource, `[{"ResourceItemId":96,"WorkspaceTypeID":2,"LocationID":41,"floorNumber":-1,"action":0}]`, []workplace.Change{
			{Kind: workplace.KindResource, Action: workplace.ActionDeleted, Source: workplace.SourceUnknown, ResourceID: 96, WorkspaceType: workplace.WorkspaceDesk, LocationID: 41, Floor: -1}}},
		{"visitor with ID casing", PathVisitor, `[{"VisitorID":555,"BookingID":7,"LocationID":41,"visitDate":"2019-08-28T23:30:00","visitorAction":6}]`, []workplace.Change{
			{Kind: workplace.KindVisitor, Action: workplace.ActionUndeparted, Source: workplace.SourceUnknown, VisitorID: 555, BookingID: 7, LocationID: 41, Date: date(2019, 8, 28)}}},

		// Several dates and items in one Meeting External body, out of order on the wire.
		{"several dates", PathMeetingExternal, `{"2019-08-30T00:00:00":{"ChangedItems":[{"Action":0,"BookingID":3,"ResourceItemID":96}]},
			"2019-08-28T00:00:00":{"ChangedItems":[{"Action":1,"BookingID":1,"ResourceItemID":96},{"Action":0,"BookingID":2,"ResourceItemID":97}]},
			"2019-08-29T00:00:00":{"ChangedItems":[]}}`, []workplace.Change{
			{Kind: workplace.KindBooking, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown, BookingID: 1, RoomID: 96, Date: date(2019, 8, 28)},
			{Kind: workplace.KindBooking, Action: workplace.ActionDeleted, Source: workplace.SourceUnknown, BookingID: 2, RoomID: 97, Date: date(2019, 8, 28)},
			{Kind: workplace.KindBooking, Action: workplace.ActionDeleted, Source: workplace.SourceUnknown, BookingID: 3, RoomID: 96, Date: date(2019, 8, 30)}}},

		// Every action number and source of every service.
		{"meeting progression actions and sources", PathMeetingProgression, `[
			{"BookingId":1,"ResourceItemId":9,"MeetingProgressionAction":0,"ActionSource":0},
			{"BookingId":2,"ResourceItemId":9,"MeetingProgressionAction":1,"ActionSource":1},
			{"BookingId":3,"ResourceItemId":9,"MeetingProgressionAction":2},
			{"BookingId":4,"ResourceItemId":9,"MeetingProgressionAction":1,"ActionSource":7}]`, []workplace.Change{
			{Kind: workplace.KindBooking, Action: workplace.ActionStarted, Source: workplace.SourceWeb, BookingID: 1, RoomID: 9},
			{Kind: workplace.KindBooking, Action: workplace.ActionEnded, Source: workplace.SourceExternal, BookingID: 2, RoomID: 9},
			{Kind: workplace.KindBooking, Action: workplace.ActionExtended, Source: workplace.SourceUnknown, BookingID: 3, RoomID: 9},
			{Kind: workplace.KindBooking, Action: workplace.ActionEnded, Source: workplace.SourceUnknown, BookingID: 4, RoomID: 9}}},
		{"desk progression actions", PathDeskProgression, `[
			{"BookingId":1,"ResourceItemId":9,"DeskProgressionAction":0,"ActionSource":1},
			{"BookingId":2,"ResourceItemId":9,"DeskProgressionAction":1,"ActionSource":0},
			{"BookingId":3,"ResourceItemId":9,"UpdateTime":"0001-01-01T00:00:00","DeskProgressionAction":2}]`, []workplace.Change{
			{Kind: workplace.KindDeskBooking, Action: workplace.ActionCheckedIn, Source: workplace.SourceExternal, DeskBookingID: 1, DeskID: 9},
			{Kind: workplace.KindDeskBooking, Action: workplace.ActionReleased, Source: workplace.SourceWeb, DeskBookingID: 2, DeskID: 9},
			{Kind: workplace.KindDeskBooking, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown, DeskBookingID: 3, DeskID: 9}}},
		{"resource actions", PathResource, `[
			{"ResourceItemID":1,"WorkspaceTypeId":1,"Action":0},
			{"ResourceItemID":2,"WorkspaceTypeId":1,"Action":1},
			{"ResourceItemID":3,"WorkspaceTypeId":1,"Action":2}]`, []workplace.Change{
			{Kind: workplace.KindResource, Action: workplace.ActionDeleted, Source: workplace.SourceUnknown, ResourceID: 1, WorkspaceType: workplace.WorkspaceRoom},
			{Kind: workplace.KindResource, Action: workplace.ActionCreated, Source: workplace.SourceUnknown, ResourceID: 2, WorkspaceType: workplace.WorkspaceRoom},
			{Kind: workplace.KindResource, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown, ResourceID: 3, WorkspaceType: workplace.WorkspaceRoom}}},
		{"visitor actions", PathVisitor, `[
			{"VisitorId":1,"VisitorAction":0},{"VisitorId":1,"VisitorAction":1},{"VisitorId":1,"VisitorAction":2},
			{"VisitorId":1,"VisitorAction":3},{"VisitorId":1,"VisitorAction":4},{"VisitorId":1,"VisitorAction":5},
			{"VisitorId":1,"VisitorAction":6,"VisitDate":"0001-01-01T00:00:00"}]`, []workplace.Change{
			{Kind: workplace.KindVisitor, Action: workplace.ActionCreated, Source: workplace.SourceUnknown, VisitorID: 1},
			{Kind: workplace.KindVisitor, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown, VisitorID: 1},
			{Kind: workplace.KindVisitor, Action: workplace.ActionDeleted, Source: workplace.SourceUnknown, VisitorID: 1},
			{Kind: workplace.KindVisitor, Action: workplace.ActionArrived, Source: workplace.SourceUnknown, VisitorID: 1},
			{Kind: workplace.KindVisitor, Action: workplace.ActionUnarrived, Source: workplace.SourceUnknown, VisitorID: 1},
			{Kind: workplace.KindVisitor, Action: workplace.ActionDeparted, Source: workplace.SourceUnknown, VisitorID: 1},
			{Kind: workplace.KindVisitor, Action: workplace.ActionUndeparted, Source: workplace.SourceUnknown, VisitorID: 1}}},

		// Tolerated variations: ids as strings, unknown fields, a "no value" date key.
		{"ids as strings and unknown fields", PathDesk, `[{"Date":"2019-08-28","BookingID":"102","ResourceItemID":" 101 ","Action":"1","Extra":{"x":[1]}}]`, []workplace.Change{
			{Kind: workplace.KindDeskBooking, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown, DeskBookingID: 102, DeskID: 101, Date: date(2019, 8, 28)}}},
		{"no-value date key reads as the zero date", PathMeetingExternal, `{"0001-01-01T00:00:00":{"ChangedItems":[{"Action":0,"BookingID":5,"ResourceItemID":6}]}}`, []workplace.Change{
			{Kind: workplace.KindBooking, Action: workplace.ActionDeleted, Source: workplace.SourceUnknown, BookingID: 5, RoomID: 6}}},
		{"date-time with an offset keeps its wall clock", PathVisitor, `[{"VisitorId":1,"VisitorAction":0,"VisitDate":"2019-08-28T23:30:00-05:00"}]`, []workplace.Change{
			{Kind: workplace.KindVisitor, Action: workplace.ActionCreated, Source: workplace.SourceUnknown, VisitorID: 1, Date: date(2019, 8, 28)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, ok := lookup(tt.service)
			require.True(t, ok)
			got, err := svc.decode([]byte(tt.body), at)
			require.NoError(t, err)
			for i := range tt.want {
				tt.want[i].At = at
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name    string
		service string
		body    string
		msg     []string // the error contains each
	}{
		{"not JSON", PathDesk, `[{"Date":`, []string{"not valid JSON"}},
		{"empty body", PathVisitor, ``, []string{"not valid JSON"}},
		{"desk array to meeting-external", PathMeetingExternal, specDesk, []string{"meeting-external body: must be an object keyed by booking date, got an array", "looks like a desk notification"}},
		{"meeting external object to desk", PathDesk, specMeetingExternal, []string{"desk body: must be an array of changes, got an object", "looks like a meeting-external notification"}},
		{"visitor array to resource", PathResource, specVisitor, []string{"ResourceItemID is missing", "looks like a visitor notification"}},
		{"desk array to resource", PathResource, specDesk, []string{"WorkspaceTypeId is missing", "looks like a desk notification"}},
		{"resource array to desk", PathDesk, specResource, []string{"Date is missing", "looks like a resource notification"}},
		{"desk progression to meeting progression", PathMeetingProgression, specDeskProgression, []string{"MeetingProgressionAction is missing", "looks like a desk-progression notification"}},
		{"meeting progression to desk progression", PathDeskProgression, specMeetingProgression, []string{"DeskProgressionAction is missing", "looks like a meeting-progression notification"}},
		{"desk to visitor", PathVisitor, specDesk, []string{"item 0: VisitorId is missing"}},
		{"a string", PathVisitor, `"hello"`, []string{"got a string"}},
		{"null", PathMeetingExternal, `null`, []string{"got null"}},
		{"empty array", PathDesk, `[]`, []string{"holds no changes"}},
		{"empty object", PathMeetingExternal, `{}`, []string{"holds no changes"}},
		{"array item not an object", PathDesk, `[1]`, []string{"item 0: must be an object, got a number"}},
		{"missing booking id", PathMeetingExternal, `{"2019-08-28T00:00:00":{"ChangedItems":[{"Action":1,"ResourceItemID":96}]}}`, []string{`day "2019-08-28T00:00:00": item 0: BookingID is missing`}},
		{"zero booking id", PathDesk, `[{"Date":"2019-08-28T00:00:00","BookingID":0,"ResourceItemID":101,"Action":1}]`, []string{"BookingID 0 is not an id"}},
		{"missing action", PathMeetingExternal, `{"2019-08-28T00:00:00":{"ChangedItems":[{"BookingID":99,"ResourceItemID":96}]}}`, []string{"Action is missing"}},
		{"unknown action", PathVisitor, `[{"VisitorId":1,"VisitorAction":7}]`, []string{"VisitorAction 7 is not one of [0 1 2 3 4 5 6]"}},
		{"date key not a date", PathMeetingExternal, `{"yesterday":{"ChangedItems":[]}}`, []string{`key "yesterday" is not a booking date`}},
		{"day without ChangedItems", PathMeetingExternal, `{"2019-08-28T00:00:00":{"Items":[]}}`, []string{"ChangedItems is missing"}},
		{"day not an object", PathMeetingExternal, `{"2019-08-28T00:00:00":[1]}`, []string{"must be an object holding ChangedItems"}},
		{"id not an integer", PathResource, `[{"ResourceItemID":1.5,"WorkspaceTypeId":1,"Action":0}]`, []string{"1.5 is not an integer"}},
		{"id a boolean", PathResource, `[{"ResourceItemID":true,"WorkspaceTypeId":1,"Action":0}]`, []string{"true is not an integer"}},
		{"bad date", PathDesk, `[{"Date":"28/08/2019","BookingID":1,"ResourceItemID":2,"Action":1}]`, []string{`"28/08/2019" is not a date-time`}},
		{"date not a string", PathVisitor, `[{"VisitorId":1,"VisitorAction":0,"VisitDate":20190828}]`, []string{"is not a date-time string"}},
		{"second item bad", PathVisitor, `[{"VisitorId":1,"VisitorAction":0},{"VisitorAction":0}]`, []string{"item 1: VisitorId is missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, ok := lookup(tt.service)
			require.True(t, ok)
			got, err := svc.decode([]byte(tt.body), time.Now())
			require.Error(t, err)
			assert.Nil(t, got)
			for _, m := range tt.msg {
				assert.Contains(t, err.Error(), m)
			}
		})
	}
}

func TestServices(t *testing.T) {
	assert.Equal(t, []Service{
		{PathMeetingExternal, workplace.EventMeetingExternal},
		{PathMeetingProgression, workplace.EventMeetingProgression},
		{PathDesk, workplace.EventDesk},
		{PathDeskProgression, workplace.EventDeskProgression},
		{PathResource, workplace.EventResource},
		{PathVisitor, workplace.EventVisitor},
	}, Services())
	_, ok := lookup("meeting")
	assert.False(t, ok)
}
