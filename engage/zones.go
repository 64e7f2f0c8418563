package engage

// This file maps the Windows time zone names the upstream uses ("GMT
// Standard Time") to IANA zones, with CLDR's windowsZones table, the standard
// source. windowsZones.xml is CLDR's file, unchanged, with its Unicode
// license header (unicode-org/cldr, common/supplemental/windowsZones.xml);
// update it by replacing the file.

import (
	_ "embed" // for the CLDR table
	"encoding/xml"
	"fmt"
	"strings"
	"sync"
	"time"
)

// windowsZonesXML is CLDR's mapping table. It is the one package-level
// variable: go:embed only fills package-level variables, and the bytes are
// read-only data, parsed by each Zones on first use.
//
//go:embed windowsZones.xml
var windowsZonesXML []byte

// Zones maps Windows time zone names to IANA locations. The table is parsed
// on first use, once, and loaded locations are cached; a Zones is safe for
// concurrent use. The zero value is not usable; call NewZones.
type Zones struct {
	once  sync.Once
	names map[string]string // lower-cased Windows name -> IANA name (territory 001)
	err   error

	mu   sync.Mutex
	locs map[string]*time.Location // IANA name -> location
}

// NewZones returns a Zones over CLDR's embedded table.
func NewZones() *Zones {
	return &Zones{locs: make(map[string]*time.Location)}
}

// ZoneFor returns the IANA location of a Windows zone name, using CLDR's
// default mapping (territory "001": "GMT Standard Time" is Europe/London, not
// Europe/Dublin). Names match case-insensitively and an IANA name is accepted
// as itself, in case a tenant stores one. An unknown name is an error that
// names it; the client then falls back to UTC, loudly (see Client.zoneOf).
func (z *Zones) ZoneFor(windowsName string) (*time.Location, error) {
	z.once.Do(z.parse)
	if z.err != nil {
		return nil, z.err
	}
	name := strings.TrimSpace(windowsName)
	if name == "" {
		return nil, fmt.Errorf("engage: empty time zone name")
	}
	iana, ok := z.names[strings.ToLower(name)]
	if !ok {
		if !strings.Contains(name, "/") {
			return nil, fmt.Errorf("engage: unknown Windows time zone %q", name)
		}
		iana = name // looks like an IANA name already
	}
	return z.load(iana)
}

func (z *Zones) load(iana string) (*time.Location, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if loc, ok := z.locs[iana]; ok {
		return loc, nil
	}
	loc, err := time.LoadLocation(iana)
	if err != nil {
		// The table names a zone this system's tz database lacks: the
		// binary needs time/tzdata or a zoneinfo directory.
		return nil, fmt.Errorf("engage: time zone %q: %w", iana, err)
	}
	z.locs[iana] = loc
	return loc, nil
}

// cldrSupplemental is the part of windowsZones.xml the client reads.
type cldrSupplemental struct {
	MapZones []struct {
		Other     string `xml:"other,attr"`
		Territory string `xml:"territory,attr"`
		Type      string `xml:"type,attr"`
	} `xml:"windowsZones>mapTimezones>mapZone"`
}

func (z *Zones) parse() {
	var doc cldrSupplemental
	if err := xml.Unmarshal(windowsZonesXML, &doc); err != nil {
		z.err = fmt.Errorf("engage: parsing CLDR windowsZones: %w", err)
		return
	}
	z.names = make(map[string]string, len(doc.MapZones)/3)
	for _, m := range doc.MapZones {
		if m.Territory != "001" {
			continue
		}
		// A type lists several zones for some territories; the first is
		// the canonical one.
		if f := strings.Fields(m.Type); len(f) > 0 {
			z.names[strings.ToLower(m.Other)] = f[0]
		}
	}
	if len(z.names) == 0 {
		z.err = fmt.Errorf("engage: CLDR windowsZones has no territory 001 mappings")
	}
}
