package guard

import (
	"fmt"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

func TestCapErrors(t *testing.T) {
	errs := func(n int) gqlerror.List {
		var l gqlerror.List
		for i := range n {
			l = append(l, &gqlerror.Error{Message: fmt.Sprintf("error %d", i)})
		}
		return l
	}
	tests := []struct {
		name    string
		n, max  int
		kept    int
		summary string
	}{
		{"none", 0, 10, 0, ""},
		{"under the cap", 9, 10, 9, ""},
		{"at the cap", 10, 10, 10, ""},
		{"one over", 11, 10, 9, "2 more errors were left out: a response carries at most 10"},
		{"far over", 100_000, 100, 99, "99901 more errors were left out: a response carries at most 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := capErrors(&graphql.Response{Errors: errs(tt.n)}, tt.max)
			if tt.summary == "" {
				assert.Len(t, resp.Errors, tt.n)
				return
			}
			require.Len(t, resp.Errors, tt.max)
			for i, e := range resp.Errors[:tt.kept] {
				assert.Equal(t, fmt.Sprintf("error %d", i), e.Message, "the first errors are kept, in order")
			}
			last := resp.Errors[tt.max-1]
			assert.Equal(t, tt.summary, last.Message)
			assert.Equal(t, CodeTooManyErrors, last.Extensions["code"])
		})
	}
	assert.Nil(t, capErrors(nil, 10))
}

func TestCapErrorsCutsLongMessages(t *testing.T) {
	long := "Cannot query field \"" + strings.Repeat("é", 5000) + "\" on type \"Query\"."
	resp := capErrors(&graphql.Response{Errors: gqlerror.List{{Message: long}, {Message: "short"}}}, 10)
	msg := resp.Errors[0].Message
	assert.LessOrEqual(t, len(msg), maxMessageBytes+len("… (cut)"))
	assert.True(t, strings.HasPrefix(msg, "Cannot query field \"éé"))
	assert.True(t, strings.HasSuffix(msg, "é… (cut)"), "cut between characters")
	assert.Equal(t, "short", resp.Errors[1].Message)
}
