package engage

// Cost codes (CostCode product), vendor services and their orders
// (VendorServices product) and webhook listeners (ExternalBookings product).
// These routes answer plain JSON, without the HierarchyMapping envelope.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/engagegql/gateway/workplace"
)

type wireCostCode struct {
	CostCodeID  flexInt  `json:"costCodeId"`
	Code        string   `json:"code"`
	Description string   `json:"description"`
	LocationID  flexInt  `json:"locationId"`
	IsActive    flexBool `json:"isActive"`
}

// CostCodes implements workplace.CostCodes.
func (c *Client) CostCodes(ctx context.Context, locationID workplace.LocationID) ([]workplace.CostCode, error) {
	var ws []wireCostCode
	if err := c.do(ctx, get(ProductCostCode, "/costcodes", "/costcodes", idParam(url.Values{}, "locationId", locationID)), &ws); err != nil {
		return nil, err
	}
	out := make([]workplace.CostCode, len(ws))
	for i, w := range ws {
		out[i] = workplace.CostCode{ID: workplace.CostCodeID(w.CostCodeID), Code: w.Code, Description: w.Description, LocationID: workplace.LocationID(w.LocationID), Active: bool(w.IsActive)}
	}
	return out, nil
}

// CreateCostCodes implements workplace.CostCodes; the upstream answers 201
// and its body is not read [X].
func (c *Client) CreateCostCodes(ctx context.Context, codes []workplace.NewCostCode) error {
	if len(codes) == 0 {
		return nil
	}
	type wireNewCostCode struct {
		Code        string `json:"code"`
		Description string `json:"description"`
		LocationID  int64  `json:"locationId"`
		IsActive    bool   `json:"isActive"`
	}
	body := make([]wireNewCostCode, len(codes))
	for i, cc := range codes {
		body[i] = wireNewCostCode{cc.Code, cc.Description, int64(cc.LocationID), cc.Active}
	}
	return c.do(ctx, send(ProductCostCode, http.MethodPost, "/costcodes", "/costcodes", nil, body), nil)
}

type wireVendor struct {
	VendorID flexInt `json:"vendorId"`
	Name     string  `json:"name"`
	Services []struct {
		ServiceID flexInt `json:"serviceId"`
		Name      string  `json:"name"`
		Price     float64 `json:"price"`
		Currency  string  `json:"currency"`
	} `json:"services"`
}

// Vendors implements workplace.VendorServices.
func (c *Client) Vendors(ctx context.Context, locationID workplace.LocationID) ([]workplace.Vendor, error) {
	var ws []wireVendor
	if err := c.do(ctx, get(ProductVendorServices, "/vendorservices", "/vendorservices", idParam(url.Values{}, "locationId", locationID)), &ws); err != nil {
		return nil, err
	}
	out := make([]workplace.Vendor, len(ws))
	for i, w := range ws {
		v := workplace.Vendor{ID: workplace.VendorID(w.VendorID), Name: w.Name, Services: make([]workplace.VendorService, len(w.Services))}
		for j, s := range w.Services {
			v.Services[j] = workplace.VendorService{ID: workplace.ServiceID(s.ServiceID), Name: s.Name, Price: s.Price, Currency: s.Currency}
		}
		out[i] = v
	}
	return out, nil
}

// OrderService implements workplace.VendorServices.
func (c *Client) OrderService(ctx context.Context, o workplace.NewServiceOrder) (workplace.OrderID, error) {
	body := struct {
		BookingID int64 `json:"bookingId"`
		ServiceID int64 `json:"serviceId"`
		Quantity  int   `json:"quantity"`
		UserID    int64 `json:"userId"`
	}{int64(o.BookingID), int64(o.ServiceID), o.Quantity, int64(o.UserID)}
	var resp struct {
		OrderID flexInt `json:"orderId"`
	}
	if err := c.do(ctx, send(ProductVendorServices, http.MethodPost, "/vendorservices/orders", "/vendorservices/orders", nil, body), &resp); err != nil {
		return 0, err
	}
	return workplace.OrderID(resp.OrderID), nil
}

// Orders implements workplace.VendorServices. [X] The status is a number on
// the wire and a string in the domain; it is passed on as written.
func (c *Client) Orders(ctx context.Context, bookingID workplace.BookingID) ([]workplace.ServiceOrder, error) {
	var ws []struct {
		OrderID   flexInt    `json:"orderId"`
		BookingID flexInt    `json:"bookingId"`
		ServiceID flexInt    `json:"serviceId"`
		Quantity  flexInt    `json:"quantity"`
		Status    flexString `json:"status"`
	}
	if err := c.do(ctx, get(ProductVendorServices, "/vendorservices/orders", "/vendorservices/orders", idParam(url.Values{}, "bookingId", bookingID)), &ws); err != nil {
		return nil, err
	}
	out := make([]workplace.ServiceOrder, len(ws))
	for i, w := range ws {
		out[i] = workplace.ServiceOrder{ID: workplace.OrderID(w.OrderID), BookingID: workplace.BookingID(w.BookingID), ServiceID: workplace.ServiceID(w.ServiceID), Quantity: int(w.Quantity), Status: string(w.Status)}
	}
	return out, nil
}

type wireListener struct {
	ListenerID      string    `json:"listenerId"`
	EventTypes      []flexInt `json:"eventTypes"`
	NotificationURL string    `json:"notificationUrl"`
}

func (w wireListener) domain() workplace.Listener {
	return workplace.Listener{ID: w.ListenerID, EventTypes: ints[workplace.EventType](w.EventTypes), NotificationURL: w.NotificationURL}
}

func eventTypes(ts []workplace.EventType) []int {
	out := make([]int, len(ts))
	for i, t := range ts {
		out[i] = int(t)
	}
	return out
}

// RegisterListener implements workplace.Listeners. queueProvider 2 is what
// the documented registrations send [C]; the secret is sent as "secretkey",
// the spelling of the registration example [C], and never logged.
func (c *Client) RegisterListener(ctx context.Context, l workplace.NewListener) (workplace.Listener, error) {
	if l.NotificationURL == "" || len(l.EventTypes) == 0 {
		return workplace.Listener{}, workplace.Errorf(workplace.EINVALID, "A listener needs a notification URL and at least one event type.")
	}
	body := struct {
		SecretKey       string `json:"secretkey"`
		EventTypes      []int  `json:"eventTypes"`
		NotificationURL string `json:"notificationUrl"`
		QueueProvider   int    `json:"queueProvider"`
	}{l.SecretKey, eventTypes(l.EventTypes), l.NotificationURL, 2}
	var w wireListener
	if err := c.do(ctx, send(ProductExternalBookings, http.MethodPost, "/listener", "/listener", nil, body), &w); err != nil {
		return workplace.Listener{}, err
	}
	out := w.domain()
	if out.NotificationURL == "" { // [X] the answer's shape is not public
		out.NotificationURL = l.NotificationURL
	}
	if len(out.EventTypes) == 0 {
		out.EventTypes = l.EventTypes
	}
	return out, nil
}

// RemoveListener implements workplace.Listeners: the types leave the URL's
// registration (all of them when types is empty).
func (c *Client) RemoveListener(ctx context.Context, notificationURL string, types []workplace.EventType) error {
	body := struct {
		NotificationURL string `json:"notificationUrl"`
		EventTypes      []int  `json:"eventTypes"`
	}{notificationURL, eventTypes(types)}
	return c.do(ctx, send(ProductExternalBookings, http.MethodDelete, "/listener", "/listener", nil, body), nil)
}

// listenerList reads GET /listener, whose shape is not public [X]: a bare
// list, or an object holding the list under "listeners".
type listenerList []wireListener

// UnmarshalJSON implements json.Unmarshaler.
func (l *listenerList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		return json.Unmarshal(b, (*[]wireListener)(l))
	}
	var obj struct {
		Listeners []wireListener `json:"listeners"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	*l = obj.Listeners
	return nil
}

// Listeners implements workplace.Listeners.
func (c *Client) Listeners(ctx context.Context) ([]workplace.Listener, error) {
	var ws listenerList
	if err := c.do(ctx, get(ProductExternalBookings, "/listener", "/listener", nil), &ws); err != nil {
		return nil, err
	}
	out := make([]workplace.Listener, len(ws))
	for i, w := range ws {
		out[i] = w.domain()
	}
	return out, nil
}
