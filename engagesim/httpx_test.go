package engagesim

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An id in a request body is read exactly, beyond 2^53 too, whether a
// number or a string; an integral float is its integer; anything else is
// refused.
func TestFlexIntIsExact(t *testing.T) {
	for in, want := range map[string]flexInt{
		`9007199254740993`:    9007199254740993,
		`"9007199254740993"`:  9007199254740993,
		`9223372036854775807`: 9223372036854775807,
		`13.0`:                13,
		`"13"`:                13,
		`null`:                0,
		`""`:                  0,
	} {
		var got flexInt
		require.NoError(t, json.Unmarshal([]byte(in), &got), in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{`13.5`, `"x"`, `1e300`, `true`} {
		var got flexInt
		assert.Error(t, json.Unmarshal([]byte(in), &got), in)
	}
}
