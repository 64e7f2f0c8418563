package engagesim

import "time"

// This file holds every choice the simulator makes where the public material on the Engage API
// is silent (the [X] items of /work/shared/engage-api.md, plus the simulator's own readings).
// When real traffic shows otherwise, correct the value here and nowhere else.

// Wire formats.
const (
	// localLayout is how every response date-time is written: no offset, local to the location
	// [C]. The UTC twins use the same layout, read as UTC [X].
	localLayout = "2006-01-02T15:04:05"
	// noValue is the "no value" date-time [C].
	noValue = "0001-01-01T00:00:00"
	// dateLayout is the request date format [C].
	dateLayout = "2006-01-02"
)

// Meeting rules [X].
const (
	// startEarlyWindow is how long before its start a meeting may be started. A start earlier
	// than this, or at or after the booked end, answers "Meeting cannot be started at this moment.".
	startEarlyWindow = 15 * time.Minute
	// maxWindowDays is the widest inclusive range of dates a booking, desk-booking or visitor query
	// may cover: endDate ≤ startDate + (maxWindowDays-1) days [X reading].
	maxWindowDays = 14
	// maxPageSize caps pageSize; larger values are clamped to it [X].
	maxPageSize = 500
	// holdUnitMinutes is the prepUnit and cleanDownUnit of a set-up or clean-down time, whose
	// prepPeriod and cleanDownPeriod are then minutes [X]; 0 when there is none.
	holdUnitMinutes = 1
)

// Values of enumerations the contract names without numbers [X].
const (
	progressNotStarted = 0 // meetingProgress: not started
	progressStarted    = 1 // meetingProgress: started
	progressEnded      = 2 // meetingProgress: ended

	actionStart  = 1 // PUT /bookings/{id} actionType: start [C]
	actionEnd    = 2 // actionType: end [X]
	actionExtend = 3 // actionType: extend, with extendByMinutes [X]

	deskActionCheckIn = 1 // PUT /deskBookings/{id} actionType: check in [X]
	deskActionRelease = 2 // actionType: release [X]

	deskBooked     = 0 // desk booking status: booked [X]
	deskCheckedIn  = 1 // checked in [X]
	deskReleased   = 2 // released; a released booking no longer holds the desk [X]
	deskMorning    = 1 // bookingType: morning [X]
	deskAfternoon  = 2 // bookingType: afternoon [X]
	deskAllDay     = 3 // bookingType: all day [X]
	visitorExpect  = 0 // visitor status: expected [X]
	visitorArrived = 1 // arrived [X]
	visitorLeft    = 2 // departed [X]

	bookingStatusActive = 1 // Booking.status of a live booking [X]
	bookingUserRole     = 1 // Booking.userRole of every booking [X]
	bookingMeetingType  = 1 // Booking.meetingType of every booking [X]
	orderPlaced         = 0 // vendor order status: placed [X]

	workspaceRoom = 1 // WorkspaceTypeId of a meeting room [C]
	workspaceDesk = 2 // WorkspaceTypeId of a desk [X]
)

// Notification enumerations [C] (section 6).
const (
	eventMeeting            = 1
	eventDesk               = 2
	eventMeetingExternal    = 3
	eventIPPhone            = 4
	eventMeetingProgression = 5
	eventDeskProgression    = 6
	eventResource           = 7
	eventVisitor            = 8

	sourceWeb      = 0 // ActionSource of changes made through the admin routes (the web app)
	sourceExternal = 1 // ActionSource of changes made through the API

	meetingDeleted = 0 // Meeting External Action
	meetingUpdated = 1

	progStart  = 0 // MeetingProgressionAction
	progStop   = 1
	progExtend = 2

	deskProgCheckIn = 0 // DeskProgressionAction [X mapping]
	deskProgRelease = 1

	resourceDeleted = 0 // Resource Action [X]
	resourceCreated = 1
	resourceUpdated = 2

	visitorCreated    = 0 // VisitorAction [X]
	visitorUpdated    = 1
	visitorDeleted    = 2
	visitorArrive     = 3
	visitorUnarrive   = 4
	visitorDepart     = 5
	visitorUndepartEv = 6
)

// Error texts. The quoted [C] ones come from public material; the rest are [X].
const (
	msgBookingNotFound   = "Booking Id does not exist."                // [C], answered with 400
	msgCannotStart       = "Meeting cannot be started at this moment." // [C]
	msgAlreadyStarted    = "Meeting already started."                  // [C]
	msgNotStarted        = "Meeting has not started."
	msgAlreadyEnded      = "Meeting has already ended."
	msgRoomNotAvailable  = "Room is not available for the requested time."
	msgDeskNotAvailable  = "Desk is not available for the requested date."
	msgDateRange         = "The date range cannot exceed 14 days."
	msgServerError       = "An error has occurred."
	msgInvalidRequest    = "The request is invalid."
	msgBadJSON           = "The request body is not valid JSON."
	msgEndBeforeStart    = "The end must be after the start."
	msgTimeNotExist      = "The local time does not exist in the location's time zone."
	msgExtendMinutes     = "extendByMinutes must be greater than 0."
	msgHoldMinutes       = "prepMinutes and cleanDownMinutes must not be negative."
	msgUnknownAction     = "Unknown actionType."
	msgCannotCheckIn     = "Desk cannot be checked in at this moment."
	msgAlreadyReleased   = "Desk booking already released."
	msgVisitorTransition = "The visitor action is not allowed in the visitor's current status."
	msgSuccess           = "Success"

	msgCountryNotFound   = "Country not found."
	msgRegionNotFound    = "Region not found."
	msgLocationNotFound  = "Location not found."
	msgRoomNotFound      = "Room not found."
	msgDeskNotFound      = "Desk not found."
	msgResourceNotFound  = "Resource not found."
	msgUserNotFound      = "User not found."
	msgDeskBookingNF     = "Desk booking not found."
	msgVisitorNotFound   = "Visitor not found."
	msgServiceNotFound   = "Service not found."
	msgListenerNotFound  = "Listener not found."
	msgQuantity          = "quantity must be greater than 0."
	msgListenerURL       = "notificationUrl is required and must be an absolute http(s) URL."
	msgListenerTypes     = "eventTypes must be a non-empty list of event types 1 to 8."
	msgListenerResources = "resourceIds are only allowed with queueProvider 4."

	// Azure API Management default texts [C].
	msgMissingKey   = "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."
	msgInvalidKey   = "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."
	msgRateLimit    = "Rate limit is exceeded. Try again in %d seconds."
	msgQuota        = "Out of call volume quota. Quota will be replenished in %s." // [X text]
	msgUnauthorized = "Authorization has been denied for this request."            // [X] ASP.NET default
	msgNoRoute      = "Resource not found"                                         // APIM default for no operation

	// Token provider texts [X].
	errUnsupportedGrant = "unsupported_grant_type"
	errInvalidGrant     = "invalid_grant"
	msgInvalidGrant     = "The client id or password is incorrect."
)

// Gateway windows [X]: the per-minute and per-week counters are fixed windows that open with a
// key's first call and are measured on the simulator clock, so moving the clock resets them.
const (
	rateWindow  = time.Minute
	quotaWindow = 7 * 24 * time.Hour
)

// Delivery log length kept for GET /_sim/deliveries [X].
const deliveryLogSize = 1000

// Other readings the code follows (no constant needed):
//   - Route paths after the tenant ("api/V1/bookings/...") match case-insensitively, like the tenant.
//   - A room's occupied span ends at its actual end once ended early; extending moves timeTo.
//   - A booking holds its room from utcWithSetupTime (the start less prepPeriod) to its occupied
//     end plus cleanDownPeriod: clashes and freeslots/availableRooms count set-up and clean-down as
//     busy; utcWithCleanDownTime is the booked end plus cleanDownPeriod.
//   - Desk bookings: any live (not released) booking of a desk on a date blocks that desk for the
//     whole date whatever its bookingType; freeslots shows a desk as busy for the half or whole day.
//   - freeslots omits resources with no free slot; availableRooms ignores roomsPerDay.
//   - floorNumber is an int everywhere except GET /rooms and GET /desks (string, [C]).
//   - Registering a listener for a notificationUrl already registered replaces it (same listenerId).
//   - dropDeliveries drops single attempts, which are then retried like an unanswered request;
//     duplicateDeliveries sends a delivery's first attempt twice with the same X-Engage-Delivery.
//   - Extending a meeting sends MeetingProgression (5) and Meeting External (3).
//   - Bookings may be made in the past and cost codes are never mandatory.
//   - userId 0 is accepted on bookings (no host); a non-zero unknown userId is a 404.
//   - The demo fixture's "today" is the simulator clock's date in UTC.
