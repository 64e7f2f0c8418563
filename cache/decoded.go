package cache

// The in-process tier of decoded values. Every read still asks the shared
// store for the key's bytes, so what it answers is whatever the fleet
// holds now; what the tier saves is decoding them again. A value is taken
// from it only for bytes equal to those it was decoded from, so it can
// never answer anything but what decoding the store's bytes would, on any
// replica, whatever the change stream did or missed: it needs no
// invalidation of its own.

import (
	"bytes"
	"slices"
	"sync"

	"github.com/engagegql/gateway/workplace"
)

// DefaultDecodedBytes bounds the decoded tier unless Options.DecodedBytes
// says otherwise.
const DefaultDecodedBytes = 64 << 20

// decodedCost is what one entry is counted as against the bound: its
// bytes, kept for the comparison, and the value decoded from them, which
// is about twice their size.
func decodedCost(key string, b []byte) int { return len(key) + 3*len(b) }

// decodedTier holds, by store key, the bytes last decoded and their value.
// It is bounded by cost in two generations: once the newer holds half the
// bound, the older is dropped whole and the newer takes its place, so a
// value read in the last half-bound's worth of decodes stays.
type decodedTier struct {
	mu       sync.Mutex
	half     int
	cur, old map[string]decodedEntry
	curCost  int
}

type decodedEntry struct {
	b []byte
	v any
}

// newDecodedTier returns a tier bounded by limit bytes, or nil (no tier)
// for a limit of zero or less.
func newDecodedTier(limit int) *decodedTier {
	if limit <= 0 {
		return nil
	}
	return &decodedTier{half: limit / 2, cur: map[string]decodedEntry{}, old: map[string]decodedEntry{}}
}

// get returns the value decoded from b under key, if b is what it was
// decoded from.
func (d *decodedTier) get(key string, b []byte) (any, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.cur[key]; ok && bytes.Equal(e.b, b) {
		return e.v, true
	}
	if e, ok := d.old[key]; ok && bytes.Equal(e.b, b) {
		d.putLocked(key, e)
		return e.v, true
	}
	return nil, false
}

// put records that b under key decoded to v.
func (d *decodedTier) put(key string, b []byte, v any) {
	cost := decodedCost(key, b)
	if cost > d.half {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.putLocked(key, decodedEntry{b: b, v: v})
}

func (d *decodedTier) putLocked(key string, e decodedEntry) {
	if prev, ok := d.cur[key]; ok {
		d.curCost -= decodedCost(key, prev.b)
	}
	cost := decodedCost(key, e.b)
	if d.curCost+cost > d.half {
		d.old, d.cur, d.curCost = d.cur, map[string]decodedEntry{}, 0
	}
	d.cur[key] = e
	delete(d.old, key)
	d.curCost += cost
}

// decodeKept decodes b, the store's bytes under key, through the tier:
// bytes decoded before are not decoded again. Each caller gets a value of
// its own (c.clone's copy), which it may change without touching the
// tier's or another caller's.
func decodeKept[T any](s *Service, c codec[T], key string, b []byte) (T, error) {
	if s.decoded == nil || c.clone == nil {
		return c.dec(b)
	}
	if v, ok := s.decoded.get(key, b); ok {
		if t, ok := v.(T); ok {
			return c.clone(t), nil
		}
	}
	v, err := c.dec(b)
	if err != nil {
		return v, err
	}
	s.decoded.put(key, b, v)
	return c.clone(v), nil
}

// cloneSlice is the clone of a codec of slices.
func cloneSlice[S ~[]E, E any](v S) S { return slices.Clone(v) }

// cloneVisitorPage is the clone of a page of visitors.
func cloneVisitorPage(p workplace.VisitorPage) workplace.VisitorPage {
	p.Visitors = slices.Clone(p.Visitors)
	return p
}
