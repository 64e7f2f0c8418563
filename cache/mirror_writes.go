package cache

// What a write made through the gateway does to what the cache holds.

import (
	"context"
)

// invalidateWrite brings the keys a write through the gateway touched up to
// date. Without a mirror they are dropped, and the next read reads them
// through. With one, the held days among them are kept: re-read in place
// (the writer then reads its own write from the mirror, and no reader
// reads it through), or, for a cancellation (gone names what was
// cancelled), patched without a call. The write's own notification, when
// it arrives, re-reads them once more, as any notification does.
func (s *Service) invalidateWrite(ctx context.Context, ks keyset, gone ...int64) error {
	if s.mirror == nil || !s.mirror.live.Load() {
		return s.storeInvalidate(ctx, ks.list())
	}
	rest, reread, patch := keyset{}, keyset{}, keyset{}
	for k := range ks {
		switch _, ok := s.mirror.heldOf(ctx, k); {
		case !ok:
			rest.add(k)
		case len(gone) > 0:
			patch.add(k)
		default:
			reread.add(k)
		}
	}
	return s.mirror.keep(ctx, rest, reread, patch, gone)
}
