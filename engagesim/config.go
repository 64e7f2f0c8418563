package engagesim

import (
	"log/slog"
	"net/http"
	"time"
)

// Defaults of Config, exported so clients and tests can talk to a default simulator without
// repeating its secrets.
const (
	DefaultTenant        = "Demo_Tenant"
	DefaultClientID      = "demo-client"
	DefaultPassword      = "demo-password"
	DefaultTokenLifetime = 12 * time.Hour
	DefaultRatePerMinute = 500
	DefaultQuotaPerWeek  = 50000
	DefaultDeliveryTO    = 10 * time.Second
	DefaultAddr          = "127.0.0.1:8090"
)

// Product names of the Engage API, as the subscription keys are issued per product.
const (
	ProductCostCode         = "CostCode"
	ProductExternalBookings = "ExternalBookings"
	ProductHierarchyMapping = "HierarchyMapping"
	ProductVendorServices   = "VendorServices"
	ProductVisitor          = "Visitor"
)

// DefaultKeys returns the demo subscription keys, one per product. It is a function, not a
// variable, so no caller can change another's defaults.
func DefaultKeys() map[string]string {
	return map[string]string{
		ProductHierarchyMapping: "demo-hierarchymapping-key",
		ProductExternalBookings: "demo-externalbookings-key",
		ProductVisitor:          "demo-visitor-key",
		ProductCostCode:         "demo-costcode-key",
		ProductVendorServices:   "demo-vendorservices-key",
	}
}

// DefaultRetryDelays returns the contract's webhook backoff: 1 s, 5 s, 25 s.
func DefaultRetryDelays() []time.Duration {
	return []time.Duration{time.Second, 5 * time.Second, 25 * time.Second}
}

// Config sets up a simulator. The zero value is a working demo tenant; every field documents
// its default.
type Config struct {
	Tenant    string            // default DefaultTenant; matched case-insensitively in paths
	ClientID  string            // default DefaultClientID
	Password  string            // default DefaultPassword
	Keys      map[string]string // product -> subscription key; nil = DefaultKeys()
	SingleKey bool              // any valid key opens every product (sandbox tenants behave so)
	// LenientParams lets the hierarchy routes list everything when the parameter the contract
	// lists for them is missing (countryId of regions and groups, regionId of locations,
	// locationId of rooms and desks); false, the default, answers 400 as a strict upstream would.
	LenientParams bool
	TokenLifetime time.Duration // default 12h; expires_in is this in seconds minus one
	RatePerMinute int           // calls per minute per key; default 500
	QuotaPerWeek  int           // calls per week per key; default 50,000
	Fixture       *Fixture      // nil = DemoFixture(1, today of Now)
	// Now is the base clock; nil = time.Now. POST /_sim/clock moves the simulator clock by an
	// offset over this base.
	Now func() time.Time
	// DeliveryTimeout is how long a webhook receiver may take to answer; default 10s.
	DeliveryTimeout time.Duration
	// RetryDelays are the waits before each webhook retry; nil = DefaultRetryDelays(). Tests
	// shrink them.
	RetryDelays []time.Duration
	// OnDelivery, when set, hears every webhook delivery attempt once it has ended (answered,
	// failed or dropped), so a benchmark can tell when a change was acknowledged. It must be
	// quick and safe for concurrent use.
	OnDelivery func(DeliveryRecord)
	// HTTPClient sends webhook deliveries; nil = a client whose timeout is DeliveryTimeout.
	HTTPClient *http.Client
	// Logger receives delivery and admin logs; nil = discard.
	Logger *slog.Logger
}

// withDefaults fills the zero fields of a copy of c.
func (c Config) withDefaults() Config {
	if c.Tenant == "" {
		c.Tenant = DefaultTenant
	}
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.Password == "" {
		c.Password = DefaultPassword
	}
	if c.Keys == nil {
		c.Keys = DefaultKeys()
	}
	if c.TokenLifetime <= 0 {
		c.TokenLifetime = DefaultTokenLifetime
	}
	if c.RatePerMinute <= 0 {
		c.RatePerMinute = DefaultRatePerMinute
	}
	if c.QuotaPerWeek <= 0 {
		c.QuotaPerWeek = DefaultQuotaPerWeek
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.DeliveryTimeout <= 0 {
		c.DeliveryTimeout = DefaultDeliveryTO
	}
	if c.RetryDelays == nil {
		c.RetryDelays = DefaultRetryDelays()
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: c.DeliveryTimeout}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
