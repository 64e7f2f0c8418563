package telemetry

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestMetricsOperationNamesAreBounded: past the cap, new operation names
// share one label value, and long names are cut.
func TestMetricsOperationNamesAreBounded(t *testing.T) {
	m := NewMetrics(Build{}, nil)
	long := strings.Repeat("x", 200)
	assert.Len(t, m.operationName(long), MaxOperationName)
	for i := range maxOperationNames {
		m.operationName(fmt.Sprintf("Op%d", i))
	}
	assert.Equal(t, "Op0", m.operationName("Op0"), "a name seen before keeps its label")
	assert.Equal(t, otherOperations, m.operationName("OneTooMany"))
}
