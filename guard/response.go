package guard

// The bound on the errors of a response. A document's validation errors
// grow with the document (one per unknown directive, one per conflicting
// field), and an operation's execution errors with the fields that fail; a
// client learns nothing more from the thousandth than from the tenth, and
// the response must stay small whatever the document was.

import (
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// maxMessageBytes bounds one error message. Validation messages quote the
// document (an unknown name, a value not of its type), and one name or
// value may fill the whole body.
const maxMessageBytes = 1000

// capErrors keeps the first max-1 errors of resp and replaces the rest with
// one TOO_MANY_ERRORS error saying how many were left out, so that resp
// carries at most max errors; it also cuts each message to maxMessageBytes.
// The first errors are kept because they are the ones in document order: a
// client fixes those first.
func capErrors(resp *graphql.Response, max int) *graphql.Response {
	if resp == nil {
		return nil
	}
	for _, err := range resp.Errors {
		if len(err.Message) > maxMessageBytes {
			err.Message = cutMessage(err.Message)
		}
	}
	if len(resp.Errors) <= max {
		return resp
	}
	left := len(resp.Errors) - (max - 1)
	resp.Errors = append(slices.Clone(resp.Errors[:max-1]), &gqlerror.Error{
		Message:    fmt.Sprintf("%d more errors were left out: a response carries at most %d", left, max),
		Extensions: map[string]any{"code": CodeTooManyErrors},
	})
	return resp
}

// cutMessage cuts msg to maxMessageBytes, at a character boundary, and
// marks the cut.
func cutMessage(msg string) string {
	cut := maxMessageBytes
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "… (cut)"
}
