package webhook

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listenerStore is an in-memory upstream behind fakeListeners, replacing a URL's registration
// on a second POST as the simulator does.
type listenerStore struct {
	listeners []workplace.Listener
	secrets   map[string]string
	removed   map[string][]workplace.EventType
	listErr   error
	regErr    error
}

func (s *listenerStore) fake() fakeListeners {
	return fakeListeners{
		list: func(context.Context) ([]workplace.Listener, error) { return s.listeners, s.listErr },
		register: func(_ context.Context, l workplace.NewListener) (workplace.Listener, error) {
			if s.regErr != nil {
				return workplace.Listener{}, s.regErr
			}
			got := workplace.Listener{ID: "id-" + l.NotificationURL, EventTypes: l.EventTypes, NotificationURL: l.NotificationURL}
			s.secrets[l.NotificationURL] = l.SecretKey
			for i, e := range s.listeners {
				if e.NotificationURL == l.NotificationURL {
					s.listeners[i] = got
					return got, nil
				}
			}
			s.listeners = append(s.listeners, got)
			return got, nil
		},
		remove: func(_ context.Context, url string, types []workplace.EventType) error {
			s.removed[url] = append(s.removed[url], types...)
			for i, e := range s.listeners {
				if e.NotificationURL == url {
					var keep []workplace.EventType
					for _, t := range e.EventTypes {
						if !slices.Contains(types, t) {
							keep = append(keep, t)
						}
					}
					s.listeners[i].EventTypes = keep
				}
			}
			return nil
		},
	}
}

func newListenerStore(ls ...workplace.Listener) *listenerStore {
	return &listenerStore{listeners: ls, secrets: map[string]string{}, removed: map[string][]workplace.EventType{}}
}

func TestRegister(t *testing.T) {
	const base = "https://gw.example.com"
	url := func(p string) string { return base + MountPath + p }
	all := func() []workplace.Listener {
		var out []workplace.Listener
		for _, s := range Services() {
			out = append(out, workplace.Listener{ID: "x", EventTypes: []workplace.EventType{s.EventType}, NotificationURL: url(s.Path)})
		}
		return out
	}
	tests := []struct {
		name       string
		existing   []workplace.Listener
		baseURL    string
		registered []string // URLs
		removed    map[string][]workplace.EventType
	}{
		{"none yet", nil, base, []string{url(PathMeetingExternal), url(PathMeetingProgression), url(PathDesk), url(PathDeskProgression), url(PathResource), url(PathVisitor)}, map[string][]workplace.EventType{}},
		{"base URL with a slash", nil, base + "/", []string{url(PathMeetingExternal), url(PathMeetingProgression), url(PathDesk), url(PathDeskProgression), url(PathResource), url(PathVisitor)}, map[string][]workplace.EventType{}},
		{"all in place", all(), base, nil, map[string][]workplace.EventType{}},
		{"one missing, others of other gateways kept", append(all()[1:], workplace.Listener{EventTypes: []workplace.EventType{3}, NotificationURL: "https://other.example.com/hook"}), base,
			[]string{url(PathMeetingExternal)}, map[string][]workplace.EventType{}},
		{"one with the wrong type", append(all()[:2], append([]workplace.Listener{{EventTypes: []workplace.EventType{3}, NotificationURL: url(PathDesk)}}, all()[3:]...)...), base,
			[]string{url(PathDesk)}, map[string][]workplace.EventType{url(PathDesk): {3}}},
		{"one with extra types", append(all()[:5], workplace.Listener{EventTypes: []workplace.EventType{8, 1, 4}, NotificationURL: url(PathVisitor)}), base,
			nil, map[string][]workplace.EventType{url(PathVisitor): {1, 4}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newListenerStore(tt.existing...)
			got, err := Register(t.Context(), s.fake(), tt.baseURL, "hook-secret")
			require.NoError(t, err)
			var urls []string
			for _, l := range got {
				urls = append(urls, l.NotificationURL)
				assert.Equal(t, "hook-secret", s.secrets[l.NotificationURL])
			}
			assert.Equal(t, tt.registered, urls)
			assert.Equal(t, tt.removed, s.removed)

			// Afterwards each service has exactly its own type at its own URL, and a second
			// call changes nothing.
			for _, svc := range Services() {
				var types []workplace.EventType
				for _, l := range s.listeners {
					if l.NotificationURL == url(svc.Path) {
						types = append(types, l.EventTypes...)
					}
				}
				assert.Equal(t, []workplace.EventType{svc.EventType}, types, svc.Path)
			}
			again, err := Register(t.Context(), s.fake(), tt.baseURL, "hook-secret")
			require.NoError(t, err)
			assert.Empty(t, again)
		})
	}
}

func TestRegisterErrors(t *testing.T) {
	s := newListenerStore()
	_, err := Register(t.Context(), s.fake(), "https://gw", "")
	assert.ErrorContains(t, err, "secret")
	_, err = Register(t.Context(), s.fake(), "", "k")
	assert.ErrorContains(t, err, "base URL")

	s.listErr = errors.New("401")
	_, err = Register(t.Context(), s.fake(), "https://gw", "k")
	assert.ErrorContains(t, err, "listing listeners: 401")

	s = newListenerStore()
	s.regErr = errors.New("bad key")
	got, err := Register(t.Context(), s.fake(), "https://gw", "k")
	assert.ErrorContains(t, err, "registering https://gw/webhooks/engage/meeting-external: bad key")
	assert.Empty(t, got)
}
