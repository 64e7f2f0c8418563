package resolvers

// The mutations. Each resolves the acting user, makes the change upstream,
// and reads the changed entity back from the service (not from the
// operation's loaders, which may hold what it was before). Failures a client
// can act on (unknown ids, bad input, clashes) come back as UserErrors in the
// payload; failures of the gateway or the upstream stay GraphQL errors.

import (
	"context"
	"errors"
	"slices"

	"github.com/engagegql/gateway/graph"
	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/workplace"
)

// fieldError ties an error to the input field it is about.
type fieldError struct {
	field []string
	err   error
}

func (e *fieldError) Error() string { return e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

func onField(err error, field ...string) error {
	if err == nil {
		return nil
	}
	return &fieldError{field: field, err: err}
}

// userErrors sorts a mutation's failure: the kinds a client can act on
// become UserErrors, anything else is returned to become a GraphQL error.
func userErrors(err error) ([]graph.UserError, error) {
	switch code := workplace.ErrorCode(err); code {
	case workplace.ENOTFOUND, workplace.EINVALID, workplace.ECONFLICT:
		ue := graph.UserError{Code: code, Message: workplace.ErrorMessage(err)}
		var fe *fieldError
		if errors.As(err, &fe) {
			ue.Field = fe.field
		}
		return []graph.UserError{ue}, nil
	}
	return nil, err
}

// actingUser decides whose name a mutation is made in (the caller, or the
// user requested when the caller may act for others) and resolves that email
// to the Engage user.
func actingUser(ctx context.Context, requested *string) (workplace.User, error) {
	email, err := workplace.ActingEmail(ctx, deref(requested))
	if err != nil {
		return workplace.User{}, onField(err, "input", "actingUserEmail")
	}
	u, err := loader.UserByEmail(ctx, email)
	return u, onField(err, "input", "actingUserEmail")
}

func idOf(id, typ string, field ...string) (globalID, error) {
	g, err := parseIDOf(id, typ)
	return g, onField(err, field...)
}

// bookingPayload runs a change of one booking and reads it back.
func bookingPayload(ctx context.Context, svc workplace.Service, change func() (workplace.BookingID, error)) (graph.BookingPayload, error) {
	id, err := change()
	if err == nil {
		var b workplace.Booking
		if b, err = svc.Booking(ctx, id); err == nil {
			return graph.BookingPayload{Booking: &b, Errors: []graph.UserError{}}, nil
		}
	}
	ues, err := userErrors(err)
	return graph.BookingPayload{Errors: ues}, err
}

func bookRoom(ctx context.Context, svc workplace.Service, in graph.BookRoomInput) (graph.BookingPayload, error) {
	return bookingPayload(ctx, svc, func() (workplace.BookingID, error) {
		user, err := actingUser(ctx, in.ActingUserEmail)
		if err != nil {
			return 0, err
		}
		g, err := idOf(in.RoomID, typeRoom, "input", "roomId")
		if err != nil {
			return 0, err
		}
		if !in.Start.Before(in.End) {
			return 0, onField(workplace.Errorf(workplace.EINVALID, "end must be after start"), "input", "end")
		}
		nb := workplace.NewBooking{
			UserID: user.ID, RoomID: workplace.RoomID(g.Parts[1]),
			Start: in.Start, End: in.End, Title: in.Title,
			NumberOfAttendees: max(1, len(in.Attendees)),
		}
		if in.NumberOfAttendees != nil {
			nb.NumberOfAttendees = *in.NumberOfAttendees
		}
		for _, a := range in.Attendees {
			typ := 1
			if a.External != nil && *a.External {
				typ = 2
			}
			nb.Attendees = append(nb.Attendees, workplace.Attendee{FirstName: a.FirstName, LastName: a.LastName, Email: a.Email, Type: typ})
		}
		return svc.CreateBooking(ctx, nb)
	})
}

func updateBooking(ctx context.Context, svc workplace.Service, in graph.UpdateBookingInput) (graph.BookingPayload, error) {
	return bookingPayload(ctx, svc, func() (workplace.BookingID, error) {
		user, err := actingUser(ctx, in.ActingUserEmail)
		if err != nil {
			return 0, err
		}
		g, err := idOf(in.BookingID, typeBooking, "input", "bookingId")
		if err != nil {
			return 0, err
		}
		id := workplace.BookingID(g.Parts[0])
		// The upstream's edit takes the whole booking, so omitted fields
		// are filled from what it is now.
		cur, err := svc.Booking(ctx, id)
		if err != nil {
			return 0, onField(err, "input", "bookingId")
		}
		ch := workplace.BookingChange{UserID: user.ID, RoomID: cur.RoomID, Start: cur.Start, End: cur.End, Title: cur.Title}
		if in.RoomID != nil {
			rg, err := idOf(*in.RoomID, typeRoom, "input", "roomId")
			if err != nil {
				return 0, err
			}
			ch.RoomID = workplace.RoomID(rg.Parts[1])
		}
		if in.Start != nil {
			ch.Start = *in.Start
		}
		if in.End != nil {
			ch.End = *in.End
		}
		if in.Title != nil {
			ch.Title = *in.Title
		}
		if !ch.Start.Before(ch.End) {
			return 0, onField(workplace.Errorf(workplace.EINVALID, "end must be after start"), "input", "end")
		}
		_, err = svc.UpdateBooking(ctx, id, ch)
		return id, err
	})
}

func cancelBooking(ctx context.Context, svc workplace.Service, in graph.BookingActionInput) (graph.CancelBookingPayload, error) {
	err := func() error {
		user, err := actingUser(ctx, in.ActingUserEmail)
		if err != nil {
			return err
		}
		g, err := idOf(in.BookingID, typeBooking, "input", "bookingId")
		if err != nil {
			return err
		}
		return svc.CancelBooking(ctx, workplace.BookingID(g.Parts[0]), user.ID)
	}()
	if err == nil {
		return graph.CancelBookingPayload{CancelledBookingID: &in.BookingID, Errors: []graph.UserError{}}, nil
	}
	ues, err := userErrors(err)
	return graph.CancelBookingPayload{Errors: ues}, err
}

func progressMeeting(ctx context.Context, svc workplace.Service, email *string, bookingID string, action workplace.MeetingAction, minutes int) (graph.BookingPayload, error) {
	return bookingPayload(ctx, svc, func() (workplace.BookingID, error) {
		user, err := actingUser(ctx, email)
		if err != nil {
			return 0, err
		}
		g, err := idOf(bookingID, typeBooking, "input", "bookingId")
		if err != nil {
			return 0, err
		}
		if action == workplace.MeetingExtend && minutes <= 0 {
			return 0, onField(workplace.Errorf(workplace.EINVALID, "minutes must be positive"), "input", "minutes")
		}
		id := workplace.BookingID(g.Parts[0])
		return id, svc.ProgressMeeting(ctx, id, user.ID, action, minutes)
	})
}

func bookDesk(ctx context.Context, svc workplace.Service, in graph.BookDeskInput) (graph.BookDeskPayload, error) {
	bookings, err := func() ([]workplace.DeskBooking, error) {
		user, err := actingUser(ctx, in.ActingUserEmail)
		if err != nil {
			return nil, err
		}
		g, err := idOf(in.DeskID, typeDesk, "input", "deskId")
		if err != nil {
			return nil, err
		}
		if len(in.Dates) == 0 {
			return nil, onField(workplace.Errorf(workplace.EINVALID, "give at least one date"), "input", "dates")
		}
		period := workplace.DeskAllDay
		if in.Period != nil {
			period = *in.Period
		}
		nb := workplace.NewDeskBooking{UserID: user.ID, DeskID: workplace.DeskID(g.Parts[1])}
		for _, d := range in.Dates {
			nb.Days = append(nb.Days, workplace.DeskDay{Date: d, Type: period})
		}
		ids, err := svc.CreateDeskBookings(ctx, nb)
		if err != nil {
			return nil, err
		}
		loc := workplace.LocationID(g.Parts[0])
		return readDeskBookings(ctx, svc, loc, nb.DeskID, in.Dates, ids)
	}()
	if err == nil {
		return graph.BookDeskPayload{DeskBookings: bookings, Errors: []graph.UserError{}}, nil
	}
	ues, err := userErrors(err)
	return graph.BookDeskPayload{DeskBookings: []workplace.DeskBooking{}, Errors: ues}, err
}

// readDeskBookings reads back the desk bookings with the given ids, made on
// the given days.
func readDeskBookings(ctx context.Context, svc workplace.Service, loc workplace.LocationID, desk workplace.DeskID, dates []workplace.Date, ids []workplace.DeskBookingID) ([]workplace.DeskBooking, error) {
	from, to := dates[0], dates[0]
	for _, d := range dates {
		if d.Before(from) {
			from = d
		}
		if d.After(to) {
			to = d
		}
	}
	var out []workplace.DeskBooking
	for _, w := range workplace.SplitWindow(from, to) {
		ds, err := svc.DeskBookings(ctx, desk, w[0], w[1])
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if slices.Contains(ids, d.ID) {
				d.LocationID = loc
				out = append(out, d)
			}
		}
	}
	return out, nil
}

func cancelDeskBooking(ctx context.Context, svc workplace.Service, in graph.DeskBookingActionInput) (graph.CancelDeskBookingPayload, error) {
	err := func() error {
		user, err := actingUser(ctx, in.ActingUserEmail)
		if err != nil {
			return err
		}
		g, err := idOf(in.DeskBookingID, typeDeskBooking, "input", "deskBookingId")
		if err != nil {
			return err
		}
		return svc.CancelDeskBooking(ctx, workplace.DeskBookingID(g.Parts[3]), user.ID, partDay(g.Parts[2]))
	}()
	if err == nil {
		return graph.CancelDeskBookingPayload{CancelledDeskBookingID: &in.DeskBookingID, Errors: []graph.UserError{}}, nil
	}
	ues, err := userErrors(err)
	return graph.CancelDeskBookingPayload{Errors: ues}, err
}

func progressDesk(ctx context.Context, svc workplace.Service, in graph.DeskBookingActionInput, action workplace.DeskAction) (graph.DeskBookingPayload, error) {
	b, err := func() (workplace.DeskBooking, error) {
		user, err := actingUser(ctx, in.ActingUserEmail)
		if err != nil {
			return workplace.DeskBooking{}, err
		}
		g, err := idOf(in.DeskBookingID, typeDeskBooking, "input", "deskBookingId")
		if err != nil {
			return workplace.DeskBooking{}, err
		}
		id := workplace.DeskBookingID(g.Parts[3])
		if err := svc.ProgressDeskBooking(ctx, id, user.ID, action); err != nil {
			return workplace.DeskBooking{}, err
		}
		day := partDay(g.Parts[2])
		ds, err := readDeskBookings(ctx, svc, workplace.LocationID(g.Parts[0]), workplace.DeskID(g.Parts[1]), []workplace.Date{day}, []workplace.DeskBookingID{id})
		if err != nil {
			return workplace.DeskBooking{}, err
		}
		if len(ds) == 0 {
			return workplace.DeskBooking{}, workplace.Errorf(workplace.ENOTFOUND, "desk booking %d no longer exists", id)
		}
		return ds[0], nil
	}()
	if err == nil {
		return graph.DeskBookingPayload{DeskBooking: &b, Errors: []graph.UserError{}}, nil
	}
	ues, err := userErrors(err)
	return graph.DeskBookingPayload{Errors: ues}, err
}

// visitorPayload runs a change of one visitor and wraps the outcome.
func visitorPayload(run func() (workplace.Visitor, error)) (graph.VisitorPayload, error) {
	v, err := run()
	if err == nil {
		return graph.VisitorPayload{Visitor: &v, Errors: []graph.UserError{}}, nil
	}
	ues, err := userErrors(err)
	return graph.VisitorPayload{Errors: ues}, err
}

// readVisitor reads a visitor back from the service by its day and location.
func readVisitor(ctx context.Context, svc workplace.Service, loc workplace.LocationID, day workplace.Date, id workplace.VisitorID) (workplace.Visitor, error) {
	page, err := svc.Visitors(ctx, workplace.VisitorQuery{Date: day, LocationID: loc})
	if err != nil {
		return workplace.Visitor{}, err
	}
	for _, v := range page.Visitors {
		if v.ID == id {
			return v, nil
		}
	}
	return workplace.Visitor{}, workplace.Errorf(workplace.ENOTFOUND, "visitor %d does not exist (or no longer does)", id)
}

func registerVisitor(ctx context.Context, svc workplace.Service, in graph.RegisterVisitorInput) (graph.VisitorPayload, error) {
	return visitorPayload(func() (workplace.Visitor, error) {
		actor, err := actingUser(ctx, in.ActingUserEmail)
		if err != nil {
			return workplace.Visitor{}, err
		}
		host := actor
		if in.HostEmail != nil {
			if host, err = loader.UserByEmail(ctx, *in.HostEmail); err != nil {
				return workplace.Visitor{}, onField(err, "input", "hostEmail")
			}
		}
		lg, err := idOf(in.LocationID, typeLocation, "input", "locationId")
		if err != nil {
			return workplace.Visitor{}, err
		}
		loc := workplace.LocationID(lg.Parts[0])
		zone, err := zoneOf(ctx, loc)
		if err != nil {
			return workplace.Visitor{}, onField(err, "input", "locationId")
		}
		nv := workplace.NewVisitor{
			FirstName: in.FirstName, LastName: in.LastName,
			Company: deref(in.Company), Email: deref(in.Email),
			HostID: host.ID, HostEmail: host.Email, LocationID: loc,
			Arrival: in.Arrival.In(zone), PassType: 1,
			NotifyByEmail:  in.NotifyByEmail == nil || *in.NotifyByEmail,
			PurposeOfVisit: deref(in.PurposeOfVisit), Floor: deref(in.Floor),
		}
		if in.BookingID != nil {
			bg, err := idOf(*in.BookingID, typeBooking, "input", "bookingId")
			if err != nil {
				return workplace.Visitor{}, err
			}
			nv.BookingID = workplace.BookingID(bg.Parts[0])
		}
		id, err := svc.RegisterVisitor(ctx, nv)
		if err != nil {
			return workplace.Visitor{}, err
		}
		return readVisitor(ctx, svc, loc, workplace.DateOf(nv.Arrival), id)
	})
}

func updateVisitor(ctx context.Context, svc workplace.Service, in graph.UpdateVisitorInput) (graph.VisitorPayload, error) {
	return visitorPayload(func() (workplace.Visitor, error) {
		if _, err := actingUser(ctx, in.ActingUserEmail); err != nil {
			return workplace.Visitor{}, err
		}
		g, err := idOf(in.VisitorID, typeVisitor, "input", "visitorId")
		if err != nil {
			return workplace.Visitor{}, err
		}
		loc := workplace.LocationID(g.Parts[0])
		cur, err := readVisitor(ctx, svc, loc, partDay(g.Parts[1]), workplace.VisitorID(g.Parts[2]))
		if err != nil {
			return workplace.Visitor{}, onField(err, "input", "visitorId")
		}
		nv := workplace.NewVisitor{
			FirstName: cur.FirstName, LastName: cur.LastName, Company: cur.Company, Email: cur.Email,
			HostID: cur.Host.ID, HostEmail: cur.Host.Email, LocationID: loc, Arrival: cur.Arrival,
			Floor: cur.Floor, BookingID: cur.BookingID,
		}
		setIf(&nv.FirstName, in.FirstName)
		setIf(&nv.LastName, in.LastName)
		setIf(&nv.Company, in.Company)
		setIf(&nv.Email, in.Email)
		setIf(&nv.Floor, in.Floor)
		if in.Arrival != nil {
			nv.Arrival = in.Arrival.In(cur.Arrival.Location())
		}
		if in.HostEmail != nil {
			host, err := loader.UserByEmail(ctx, *in.HostEmail)
			if err != nil {
				return workplace.Visitor{}, onField(err, "input", "hostEmail")
			}
			nv.HostID, nv.HostEmail = host.ID, host.Email
		}
		return svc.UpdateVisitor(ctx, cur.ID, nv)
	})
}

func cancelVisitor(ctx context.Context, svc workplace.Service, in graph.VisitorActionInput) (graph.CancelVisitorPayload, error) {
	err := func() error {
		if _, err := actingUser(ctx, in.ActingUserEmail); err != nil {
			return err
		}
		g, err := idOf(in.VisitorID, typeVisitor, "input", "visitorId")
		if err != nil {
			return err
		}
		return svc.CancelVisitor(ctx, workplace.VisitorID(g.Parts[2]))
	}()
	if err == nil {
		return graph.CancelVisitorPayload{CancelledVisitorID: &in.VisitorID, Errors: []graph.UserError{}}, nil
	}
	ues, err := userErrors(err)
	return graph.CancelVisitorPayload{Errors: ues}, err
}

func setVisitorStatus(ctx context.Context, svc workplace.Service, in graph.SetVisitorStatusInput) (graph.VisitorPayload, error) {
	return visitorPayload(func() (workplace.Visitor, error) {
		if _, err := actingUser(ctx, in.ActingUserEmail); err != nil {
			return workplace.Visitor{}, err
		}
		g, err := idOf(in.VisitorID, typeVisitor, "input", "visitorId")
		if err != nil {
			return workplace.Visitor{}, err
		}
		return svc.SetVisitorStatus(ctx, workplace.VisitorID(g.Parts[2]), in.Change)
	})
}

func createCostCodes(ctx context.Context, svc workplace.Service, in graph.CreateCostCodesInput) (graph.CreateCostCodesPayload, error) {
	codes, err := func() ([]workplace.CostCode, error) {
		if _, err := actingUser(ctx, in.ActingUserEmail); err != nil {
			return nil, err
		}
		g, err := idOf(in.LocationID, typeLocation, "input", "locationId")
		if err != nil {
			return nil, err
		}
		if len(in.Codes) == 0 {
			return nil, onField(workplace.Errorf(workplace.EINVALID, "give at least one code"), "input", "codes")
		}
		loc := workplace.LocationID(g.Parts[0])
		ncs := make([]workplace.NewCostCode, len(in.Codes))
		for i, c := range in.Codes {
			ncs[i] = workplace.NewCostCode{Code: c.Code, Description: deref(c.Description), LocationID: loc, Active: c.Active == nil || *c.Active}
		}
		if err := svc.CreateCostCodes(ctx, ncs); err != nil {
			return nil, err
		}
		return svc.CostCodes(ctx, loc)
	}()
	if err == nil {
		return graph.CreateCostCodesPayload{CostCodes: codes, Errors: []graph.UserError{}}, nil
	}
	ues, err := userErrors(err)
	return graph.CreateCostCodesPayload{CostCodes: []workplace.CostCode{}, Errors: ues}, err
}

func orderVendorService(ctx context.Context, svc workplace.Service, in graph.OrderVendorServiceInput) (graph.OrderVendorServicePayload, error) {
	order, err := func() (workplace.ServiceOrder, error) {
		user, err := actingUser(ctx, in.ActingUserEmail)
		if err != nil {
			return workplace.ServiceOrder{}, err
		}
		bg, err := idOf(in.BookingID, typeBooking, "input", "bookingId")
		if err != nil {
			return workplace.ServiceOrder{}, err
		}
		sg, err := idOf(in.ServiceID, typeVendorService, "input", "serviceId")
		if err != nil {
			return workplace.ServiceOrder{}, err
		}
		qty := 1
		if in.Quantity != nil {
			qty = *in.Quantity
		}
		if qty <= 0 {
			return workplace.ServiceOrder{}, onField(workplace.Errorf(workplace.EINVALID, "quantity must be positive"), "input", "quantity")
		}
		bid := workplace.BookingID(bg.Parts[0])
		id, err := svc.OrderService(ctx, workplace.NewServiceOrder{BookingID: bid, ServiceID: workplace.ServiceID(sg.Parts[1]), Quantity: qty, UserID: user.ID})
		if err != nil {
			return workplace.ServiceOrder{}, err
		}
		os, err := svc.Orders(ctx, bid)
		if err != nil {
			return workplace.ServiceOrder{}, err
		}
		for _, o := range os {
			if o.ID == id {
				return o, nil
			}
		}
		return workplace.ServiceOrder{}, workplace.Errorf(workplace.ENOTFOUND, "order %d was placed but Engage does not list it", id)
	}()
	if err == nil {
		return graph.OrderVendorServicePayload{Order: &order, Errors: []graph.UserError{}}, nil
	}
	ues, err := userErrors(err)
	return graph.OrderVendorServicePayload{Errors: ues}, err
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func setIf[T any](dst *T, p *T) {
	if p != nil {
		*dst = *p
	}
}
