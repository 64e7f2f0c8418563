package auth

// This file holds static API keys: parsing them from the environment and
// checking a presented key. Only SHA-256 hashes are configured, so the
// gateway's environment never holds a usable key.

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// APIKey is one static key a service may present instead of a token. Only
// the key's hash is kept, so a leaked configuration does not leak the key.
type APIKey struct {
	// Name identifies the key in Principal.Subject, ClientID and logs.
	Name string
	// Hash is the SHA-256 of the key as the client sends it.
	Hash [32]byte
	// Scopes are granted to every request made with the key.
	Scopes []string
	// Email is Principal.Email for the key; it may be empty.
	Email string
}

// ParseAPIKeys parses the AUTH_API_KEYS setting: comma-separated entries
// "name:sha256hex[:scopes[:email]]" with scopes space-separated, for example
// "reports:9f86...08:read:rooms read:desks:ops@example.com". Scopes may
// contain colons, as OAuth scopes often do: the text after the last colon
// is the email when it contains "@" (or is empty), and part of the scopes
// otherwise. Blank entries are skipped and an empty string gives no keys.
// Names must be unique and non-empty, and no two keys may share a hash.
// Errors name the entry by its name or, before a name is known, its
// position, and never contain a hash.
func ParseAPIKeys(s string) ([]APIKey, error) {
	var keys []APIKey
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		parts := strings.SplitN(entry, ":", 3)
		name := strings.TrimSpace(parts[0])
		if name == "" {
			return nil, fmt.Errorf("auth: API key entry %d has an empty name", i+1)
		}
		if len(parts) < 2 {
			return nil, fmt.Errorf("auth: API key %q has no hash; the form is name:sha256hex[:scopes[:email]]", name)
		}
		digest := strings.TrimSpace(parts[1])
		if len(digest) != hex.EncodedLen(sha256.Size) {
			return nil, fmt.Errorf("auth: API key %q: the hash must be %d hexadecimal characters (a SHA-256), not %d",
				name, hex.EncodedLen(sha256.Size), len(digest))
		}
		k := APIKey{Name: name}
		if _, err := hex.Decode(k.Hash[:], []byte(digest)); err != nil {
			return nil, fmt.Errorf("auth: API key %q: the hash is not hexadecimal", name)
		}
		if len(parts) == 3 {
			scopes := parts[2]
			if i := strings.LastIndexByte(scopes, ':'); i >= 0 {
				if email := strings.TrimSpace(scopes[i+1:]); email == "" || strings.Contains(email, "@") {
					scopes, k.Email = scopes[:i], email
				}
			}
			if f := strings.Fields(scopes); len(f) > 0 {
				k.Scopes = f
			}
		}
		keys = append(keys, k)
	}
	if err := checkAPIKeys(keys); err != nil {
		return nil, err
	}
	return keys, nil
}

// checkAPIKeys rejects key sets that would make a presented key ambiguous or
// trivially guessable, whether they came from ParseAPIKeys or were built by
// hand.
func checkAPIKeys(keys []APIKey) error {
	names := make(map[string]bool, len(keys))
	hashes := make(map[[32]byte]string, len(keys))
	for i, k := range keys {
		if strings.TrimSpace(k.Name) == "" {
			return fmt.Errorf("auth: API key %d has an empty name", i+1)
		}
		if names[k.Name] {
			return fmt.Errorf("auth: API key name %q appears more than once", k.Name)
		}
		names[k.Name] = true
		if k.Hash == ([32]byte{}) {
			return fmt.Errorf("auth: API key %q has no hash", k.Name)
		}
		if other, ok := hashes[k.Hash]; ok {
			return fmt.Errorf("auth: API keys %q and %q have the same hash", other, k.Name)
		}
		hashes[k.Hash] = k.Name
	}
	return nil
}

// cloneAPIKeys copies keys so a caller changing its slice later cannot change
// what the Authenticator accepts.
func cloneAPIKeys(keys []APIKey) []APIKey {
	out := slices.Clone(keys)
	for i := range out {
		out[i].Scopes = slices.Clone(out[i].Scopes)
	}
	return out
}

// checkAPIKey finds the key whose hash matches key's. It compares against
// every configured hash in constant time, so neither the time taken nor an
// early exit tells an attacker how close a guess was or which key matched.
func (a *Authenticator) checkAPIKey(key string) (*Principal, error) {
	if len(key) > maxCredentialLen {
		return nil, fail(ReasonMalformed, "the API key is larger than 16 KB")
	}
	sum := sha256.Sum256([]byte(key))
	found, match := 0, 0
	for i := range a.apiKeys {
		eq := subtle.ConstantTimeCompare(sum[:], a.apiKeys[i].Hash[:])
		match = subtle.ConstantTimeSelect(eq, i, match)
		found |= eq
	}
	if found == 0 {
		return nil, fail(ReasonUnknownKey, "unknown API key")
	}
	k := a.apiKeys[match]
	return &Principal{
		Kind:    KindAPIKey,
		Subject: k.Name,
		Email:   k.Email,
		Scopes:  slices.Clone(k.Scopes),
	}, nil
}
