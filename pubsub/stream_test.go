package pubsub

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStreamIDs(t *testing.T) {
	ordered := []string{"0-0", "0-1", "1-0", "1-18446744073709551615", "1718000000000-0", "1718000000000-2", "1718000000001-0"}
	for i, s := range ordered {
		id, err := parseStreamID(s)
		require.NoError(t, err, s)
		assert.Equal(t, s, id.String())
		for j, other := range ordered {
			o, err := parseStreamID(other)
			require.NoError(t, err)
			assert.Equal(t, i < j, id.less(o), "%s < %s", s, other)
		}
	}
	for _, bad := range []string{"", "1", "1-", "-1", "a-1", "1-b", "*", "$", "-1-2"} {
		_, err := parseStreamID(bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestStreamTrimmedPast(t *testing.T) {
	id := func(s string) streamID {
		v, err := parseStreamID(s)
		require.NoError(t, err)
		return v
	}
	tests := []struct {
		name string
		st   streamState
		last string
		want bool
	}{
		{name: "last still in the stream", st: streamState{first: id("5-0"), last: id("9-0"), trimmed: true}, last: "5-0", want: false},
		{name: "last before the oldest of a trimmed stream", st: streamState{first: id("5-0"), last: id("9-0"), trimmed: true}, last: "4-9", want: true},
		{name: "never trimmed: a new stream after a restart", st: streamState{first: id("5-0"), last: id("9-0")}, last: "4-9", want: false},
		{name: "no stream", st: streamState{}, last: "4-9", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.st.trimmedPast(id(tt.last)))
		})
	}
}
