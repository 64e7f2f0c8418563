package protocol

// Content negotiation: which of the media types this endpoint answers with a
// request's Accept header prefers.

import (
	"mime"
	"strconv"
	"strings"
)

// The media types of GraphQL responses over HTTP.
const (
	// MediaGraphQLResponse is the GraphQL over HTTP spec's own type, whose
	// status codes tell request errors (4xx) from executed operations (2xx).
	MediaGraphQLResponse = "application/graphql-response+json"
	// MediaJSON is the legacy type: every well-formed GraphQL response is a
	// 200, request errors included.
	MediaJSON = "application/json"
	// MediaMultipart is incremental delivery (@defer): one part per payload.
	MediaMultipart = "multipart/mixed"
	// MediaEventStream is server-sent events (graphql-sse).
	MediaEventStream = "text/event-stream"
)

// accepted is what a request's Accept header allows.
type accepted struct {
	// json is the single-response media type to answer with: MediaJSON or
	// MediaGraphQLResponse; "" when the client accepts neither.
	json string
	// multipart is true when the client names multipart/mixed itself (a
	// wildcard does not count: a client that does not know incremental
	// delivery must get one response).
	multipart bool
}

// acceptable reports whether the client accepts any response this endpoint
// can give.
func (a accepted) acceptable() bool { return a.json != "" || a.multipart }

// negotiate reads an Accept header. Without one, or with only wildcards, the
// answer is application/json, as the GraphQL over HTTP spec asks for clients
// that predate application/graphql-response+json. Between the two JSON
// types the higher quality wins, then the one the client names itself over
// one a wildcard covers, then the one it lists first.
func negotiate(header string) accepted {
	if strings.TrimSpace(header) == "" {
		return accepted{json: MediaJSON}
	}
	type match struct {
		q        float64
		explicit bool
		pos      int
	}
	var gr, js match
	gr.pos, js.pos = -1, -1
	multipartQ := 0.0
	consider := func(m *match, q float64, explicit bool, pos int) {
		// A more specific range decides (RFC 9110 12.5.1), whatever its q.
		if m.pos >= 0 && m.explicit && !explicit {
			return
		}
		if m.pos < 0 || (explicit && !m.explicit) || q > m.q {
			*m = match{q: q, explicit: explicit, pos: pos}
		}
	}
	for pos, part := range strings.Split(header, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
				q = f
			}
		}
		switch mt {
		case MediaGraphQLResponse:
			consider(&gr, q, true, pos)
		case MediaJSON:
			consider(&js, q, true, pos)
		case "application/*", "*/*":
			consider(&gr, q, false, pos)
			consider(&js, q, false, pos)
		case MediaMultipart:
			multipartQ = max(multipartQ, q)
		}
	}
	a := accepted{multipart: multipartQ > 0}
	grOK, jsOK := gr.pos >= 0 && gr.q > 0, js.pos >= 0 && js.q > 0
	switch {
	case grOK && jsOK:
		switch {
		case gr.q != js.q:
			a.json = pick(gr.q > js.q)
		case gr.explicit != js.explicit:
			a.json = pick(gr.explicit)
		case gr.explicit:
			a.json = pick(gr.pos < js.pos)
		default:
			a.json = MediaJSON
		}
	case grOK:
		a.json = MediaGraphQLResponse
	case jsOK:
		a.json = MediaJSON
	}
	return a
}

func pick(graphQLResponse bool) string {
	if graphQLResponse {
		return MediaGraphQLResponse
	}
	return MediaJSON
}
