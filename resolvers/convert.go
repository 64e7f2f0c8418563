package resolvers

// ptr turns a loader's (value, error) into the (pointer, error) gqlgen wants
// for a nullable field, never (nil, nil): a missing entity is an error.
func ptr[T any](v T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return &v, nil
}
