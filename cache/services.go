package cache

// Cost codes, vendors and service orders (cached, their writes invalidate),
// and the upstream's listeners (never cached).

import (
	"context"

	"github.com/engagegql/gateway/workplace"
)

// CostCodes implements workplace.CostCodes.
func (s *Service) CostCodes(ctx context.Context, locationID workplace.LocationID) ([]workplace.CostCode, error) {
	return readOne(ctx, s, s.codecs.costCodes, fill[[]workplace.CostCode]{key: costCodesKey(locationID), ttl: s.ttl.Catalog,
		fetch: func(ctx context.Context) ([]workplace.CostCode, error) { return s.inner.CostCodes(ctx, locationID) }})
}

// CreateCostCodes implements workplace.CostCodes, dropping the cost codes of
// every location it adds to.
func (s *Service) CreateCostCodes(ctx context.Context, codes []workplace.NewCostCode) error {
	err := s.inner.CreateCostCodes(ctx, codes)
	ks := keyset{}
	for _, c := range codes {
		ks.add(costCodesKey(c.LocationID))
	}
	_ = s.storeInvalidate(ctx, ks.list())
	return err
}

// Vendors implements workplace.VendorServices.
func (s *Service) Vendors(ctx context.Context, locationID workplace.LocationID) ([]workplace.Vendor, error) {
	return readOne(ctx, s, s.codecs.vendors, fill[[]workplace.Vendor]{key: vendorsKey(locationID), ttl: s.ttl.Catalog,
		fetch: func(ctx context.Context) ([]workplace.Vendor, error) { return s.inner.Vendors(ctx, locationID) }})
}

// Orders implements workplace.VendorServices.
func (s *Service) Orders(ctx context.Context, bookingID workplace.BookingID) ([]workplace.ServiceOrder, error) {
	return readOne(ctx, s, s.codecs.orders, fill[[]workplace.ServiceOrder]{key: ordersKey(bookingID), ttl: s.ttl.Orders,
		fetch: func(ctx context.Context) ([]workplace.ServiceOrder, error) { return s.inner.Orders(ctx, bookingID) }})
}

// OrderService implements workplace.VendorServices, dropping the booking's
// orders.
func (s *Service) OrderService(ctx context.Context, o workplace.NewServiceOrder) (workplace.OrderID, error) {
	id, err := s.inner.OrderService(ctx, o)
	_ = s.storeInvalidate(ctx, []string{ordersKey(o.BookingID)})
	return id, err
}

// RegisterListener implements workplace.Listeners; it passes through.
func (s *Service) RegisterListener(ctx context.Context, l workplace.NewListener) (workplace.Listener, error) {
	return s.inner.RegisterListener(ctx, l)
}

// RemoveListener implements workplace.Listeners; it passes through.
func (s *Service) RemoveListener(ctx context.Context, notificationURL string, types []workplace.EventType) error {
	return s.inner.RemoveListener(ctx, notificationURL, types)
}

// Listeners implements workplace.Listeners; it passes through.
func (s *Service) Listeners(ctx context.Context) ([]workplace.Listener, error) {
	return s.inner.Listeners(ctx)
}
