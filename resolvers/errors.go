package resolvers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"

	"github.com/99designs/gqlgen/graphql"
	"github.com/engagegql/gateway/workplace"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// ErrorPresenter returns the gqlgen error presenter: every error leaves with
// extensions.code and a message a front-end developer can act on. Errors
// gqlgen raised itself (parse and validation) keep their message, which is
// about the client's query; a domain error shows its own message; anything
// else is logged for operators and shown as INTERNAL with no detail, so no
// upstream body, token, key or stack trace reaches a client.
func ErrorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		var gqlErr *gqlerror.Error
		if errors.As(err, &gqlErr) && gqlErr.Err == nil {
			// Raised by gqlgen about the query itself.
			if gqlErr.Extensions == nil {
				gqlErr.Extensions = map[string]any{}
			}
			if _, ok := gqlErr.Extensions["code"]; !ok {
				gqlErr.Extensions["code"] = workplace.EINVALID
			}
			return gqlErr
		}
		pres := graphql.DefaultErrorPresenter(ctx, err)
		code := workplace.ErrorCode(err)
		if code == workplace.EINTERNAL {
			log.ErrorContext(ctx, "internal error", "path", pres.Path.String(), "err", err)
		}
		pres.Message = workplace.ErrorMessage(err)
		pres.Extensions = map[string]any{"code": code}
		if ra := workplace.RetryAfter(err); ra > 0 {
			pres.Extensions["retryAfter"] = int(math.Ceil(ra.Seconds()))
		}
		return pres
	}
}

// Recover turns a panic in a resolver into an INTERNAL error, logged with the
// panic value for operators and nothing for the client.
func Recover(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(p))
		return workplace.Errorf(workplace.EINTERNAL, "An internal error has occurred.")
	}
}
