package webhook

// This file registers the gateway's listeners with the upstream.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/engagegql/gateway/workplace"
)

// MountPath is where the Handler is mounted; each service's listener URL is
// the gateway's base URL, MountPath and the service's Path.
const MountPath = "/webhooks/engage/"

// Register makes sure the upstream has one listener per service at baseURL
// + MountPath + path, signing with secret, and returns the listeners it
// registered (none when all were in place), for the log. It is idempotent,
// so every replica can call it at start: it lists the existing listeners
// and registers only a missing one or one whose event types differ. One
// listener per service, rather than one for all, is what lets the path
// name the service (the bodies carry no type).
//
// A listener at one of these URLs that also carries other event types has
// those types removed, so no other service's bodies reach a path that would
// refuse them. The upstream never shows secrets, so a rotated secret is not
// detected here: remove the listeners (or register them afresh) when the
// secret changes. Registering a URL again replaces its registration, as
// the simulator does. [X]
func Register(ctx context.Context, l workplace.Listeners, baseURL, secret string) ([]workplace.Listener, error) {
	if secret == "" {
		return nil, errors.New("webhook: Register needs a secret")
	}
	if baseURL == "" {
		return nil, errors.New("webhook: Register needs the gateway's base URL")
	}
	base := strings.TrimSuffix(baseURL, "/") + MountPath
	existing, err := l.Listeners(ctx)
	if err != nil {
		return nil, fmt.Errorf("webhook: listing listeners: %w", err)
	}
	var registered []workplace.Listener
	for _, s := range Services() {
		target := base + s.Path
		var types []workplace.EventType
		for _, e := range existing {
			if e.NotificationURL == target {
				types = append(types, e.EventTypes...)
			}
		}
		var extra []workplace.EventType
		for _, t := range types {
			if t != s.EventType && !slices.Contains(extra, t) {
				extra = append(extra, t)
			}
		}
		if len(extra) > 0 {
			if err := l.RemoveListener(ctx, target, extra); err != nil {
				return registered, fmt.Errorf("webhook: removing event types %v from %s: %w", extra, target, err)
			}
		}
		if slices.Contains(types, s.EventType) {
			continue
		}
		got, err := l.RegisterListener(ctx, workplace.NewListener{SecretKey: secret, EventTypes: []workplace.EventType{s.EventType}, NotificationURL: target})
		if err != nil {
			return registered, fmt.Errorf("webhook: registering %s: %w", target, err)
		}
		registered = append(registered, got)
	}
	return registered, nil
}
