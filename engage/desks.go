package engage

// Desk bookings, of the ExternalBookings product. A desk booking is a day
// (local to the desk's location), not a span of time, so no zone is needed.

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/engagegql/gateway/workplace"
)

type wireDay struct {
	Date        string `json:"date"`
	BookingType int    `json:"bookingType"`
}

func wireDays(days []workplace.DeskDay) []wireDay {
	out := make([]wireDay, len(days))
	for i, d := range days {
		out[i] = wireDay{Date: d.Date.String(), BookingType: int(d.Type)}
	}
	return out
}

type wireDeskBooking struct {
	BookingID          flexInt  `json:"bookingID"`
	DeskID             flexInt  `json:"deskID"`
	UserID             flexInt  `json:"userId"`
	Date               wireTime `json:"date"`
	BookingType        flexInt  `json:"bookingType"`
	UntilFurtherNotice flexBool `json:"untilFurtherNotice"`
	Status             flexInt  `json:"status"`
}

type wireAvailableDesk struct {
	DeskID         flexInt   `json:"deskID"`
	DeskName       string    `json:"deskName"`
	DeskAttributes []flexInt `json:"deskAttributes"`
	FloorNumber    flexInt   `json:"floorNumber"`
	GroupID        flexInt   `json:"groupId"`
}

// DeskBookings implements workplace.DeskBookings.
func (c *Client) DeskBookings(ctx context.Context, deskID workplace.DeskID, from, to workplace.Date) ([]workplace.DeskBooking, error) {
	if err := checkWindow(from, to); err != nil {
		return nil, err
	}
	q := idParam(url.Values{}, "deskId", deskID)
	q.Set("startDate", from.String())
	q.Set("endDate", to.String())
	var resp struct {
		DeskBookings []wireDeskBooking `json:"deskBookings"`
	}
	if err := c.do(ctx, get(ProductExternalBookings, "/deskBookings", "/deskBookings", q), &resp); err != nil {
		return nil, err
	}
	out := make([]workplace.DeskBooking, len(resp.DeskBookings))
	for i, w := range resp.DeskBookings {
		date, err := wireDate(w.Date)
		if err != nil {
			return nil, &Error{Product: ProductExternalBookings, Method: http.MethodGet, Route: "/deskBookings", Message: err.Error(), kind: kindDecode}
		}
		out[i] = workplace.DeskBooking{
			ID: workplace.DeskBookingID(w.BookingID), DeskID: workplace.DeskID(w.DeskID), UserID: workplace.UserID(w.UserID),
			Date: date, Type: workplace.DeskBookingType(w.BookingType), UntilFurtherNotice: bool(w.UntilFurtherNotice),
			Status: workplace.DeskBookingStatus(w.Status),
		}
	}
	return out, nil
}

// AvailableDesks implements workplace.DeskBookings. The route is a POST
// that reads [C].
func (c *Client) AvailableDesks(ctx context.Context, aq workplace.AvailableDesksQuery) ([]workplace.AvailableDesk, error) {
	if len(aq.Days) == 0 {
		return nil, workplace.Errorf(workplace.EINVALID, "Available desks need at least one day.")
	}
	body := struct {
		UserID          int64     `json:"userID"`
		LocationID      int64     `json:"locationID"`
		GroupID         int64     `json:"groupID"`
		WorkSpaceTypeID int       `json:"workSpaceTypeId"`
		DateList        []wireDay `json:"dateList"`
		PageNumber      int       `json:"pageNumber"`
		PageSize        int       `json:"pageSize"`
	}{int64(aq.UserID), int64(aq.LocationID), int64(aq.GroupID), int(workplace.WorkspaceDesk), wireDays(aq.Days), aq.PageNumber, aq.PageSize}
	var resp struct {
		AvailableDesks []wireAvailableDesk `json:"availableDesks"`
	}
	if err := c.do(ctx, search(ProductExternalBookings, "/deskBookings/availableDesks", "/deskBookings/availableDesks", body), &resp); err != nil {
		return nil, err
	}
	out := make([]workplace.AvailableDesk, len(resp.AvailableDesks))
	for i, w := range resp.AvailableDesks {
		out[i] = workplace.AvailableDesk{
			DeskID: workplace.DeskID(w.DeskID), Name: w.DeskName, Attributes: ints[int](w.DeskAttributes),
			Floor: int(w.FloorNumber), GroupID: workplace.GroupID(w.GroupID),
		}
	}
	return out, nil
}

// CreateDeskBookings implements workplace.DeskBookings: one id per day, in
// the order of the days [X].
func (c *Client) CreateDeskBookings(ctx context.Context, nb workplace.NewDeskBooking) ([]workplace.DeskBookingID, error) {
	if len(nb.Days) == 0 {
		return nil, workplace.Errorf(workplace.EINVALID, "A desk booking needs at least one day.")
	}
	body := struct {
		UserID        int64     `json:"userId"`
		DeskID        int64     `json:"deskId"`
		BookingSource *int64    `json:"bookingSource,omitempty"`
		DateList      []wireDay `json:"dateList"`
	}{int64(nb.UserID), int64(nb.DeskID), bookingSource(nb.Source), wireDays(nb.Days)}
	var resp struct {
		BookingIDs []flexInt `json:"bookingIds"`
	}
	if err := c.do(ctx, send(ProductExternalBookings, http.MethodPost, "/deskBookings", "/deskBookings", nil, body), &resp); err != nil {
		return nil, err
	}
	return ints[workplace.DeskBookingID](resp.BookingIDs), nil
}

// CancelDeskBooking implements workplace.DeskBookings; the id travels in the
// body of the DELETE.
func (c *Client) CancelDeskBooking(ctx context.Context, id workplace.DeskBookingID, userID workplace.UserID, date workplace.Date) error {
	body := struct {
		BookingID int64  `json:"bookingId"`
		UserID    int64  `json:"userId"`
		Date      string `json:"date,omitempty"`
	}{BookingID: int64(id), UserID: int64(userID)}
	if !date.IsZero() {
		body.Date = date.String()
	}
	return c.do(ctx, send(ProductExternalBookings, http.MethodDelete, "/deskBookings", "/deskBookings", nil, body), nil)
}

// ProgressDeskBooking implements workplace.DeskBookings.
func (c *Client) ProgressDeskBooking(ctx context.Context, id workplace.DeskBookingID, userID workplace.UserID, action workplace.DeskAction) error {
	if action != workplace.DeskCheckIn && action != workplace.DeskRelease {
		return workplace.Errorf(workplace.EINVALID, "Unknown desk action %d.", action)
	}
	body := struct {
		UserID     int64 `json:"userId"`
		ActionType int   `json:"actionType"`
	}{int64(userID), int(action)}
	path := "/deskBookings/" + strconv.FormatInt(int64(id), 10)
	return c.do(ctx, send(ProductExternalBookings, http.MethodPut, "/deskBookings/{id}", path, nil, body), nil)
}
