package protocol

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNegotiate(t *testing.T) {
	tests := []struct {
		accept    string
		json      string
		multipart bool
	}{
		{"", MediaJSON, false},
		{"*/*", MediaJSON, false},
		{"application/*", MediaJSON, false},
		{"application/json", MediaJSON, false},
		{"application/graphql-response+json", MediaGraphQLResponse, false},
		{"application/graphql-response+json, application/json;q=0.9", MediaGraphQLResponse, false},
		{"application/json, application/graphql-response+json", MediaJSON, false},
		{"application/graphql-response+json;q=0.5, application/json", MediaJSON, false},
		{"application/graphql-response+json, */*", MediaGraphQLResponse, false},
		{"*/*, application/graphql-response+json", MediaGraphQLResponse, false},
		{"application/json;q=0, */*", MediaGraphQLResponse, false},
		{"multipart/mixed;deferSpec=20220824, application/json", MediaJSON, true},
		{"multipart/mixed;deferSpec=20220824,application/graphql-response+json,application/json;q=0.9", MediaGraphQLResponse, true},
		{"multipart/mixed", "", true},
		{"multipart/mixed;q=0, application/json", MediaJSON, false},
		{"text/html", "", false},
		{"application/json;q=0", "", false},
		{"not a media type", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			a := negotiate(tt.accept)
			assert.Equal(t, tt.json, a.json)
			assert.Equal(t, tt.multipart, a.multipart)
			assert.Equal(t, tt.json != "" || tt.multipart, a.acceptable())
		})
	}
}
