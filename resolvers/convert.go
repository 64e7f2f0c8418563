package resolvers

import "strconv"

// ptr turns a loader's (value, error) into the (pointer, error) gqlgen wants
// for a nullable field, never (nil, nil): a missing entity is an error.
func ptr[T any](v T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// engageID writes an Engage id for engageId: a decimal string, because the
// ids are 64-bit and GraphQL's Int is 32.
func engageID[T ~int64](id T) string { return strconv.FormatInt(int64(id), 10) }
