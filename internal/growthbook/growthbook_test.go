package growthbook

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The vectors of GrowthBook's cases.json (specVersion 0.7.0), as the research recorded them.
func TestCasesJSONVectors(t *testing.T) {
	for _, tc := range []struct {
		seed, value string
		version     int
		want        float64
	}{
		{"", "a", 1, 0.22},
		{"b", "a", 1, 0.946},
		{"seed", "a", 2, 0.0505},
		{"seed", "b", 2, 0.2696},
		{"89123klj", "8952klfjas09ujkasdf", 2, 0.124},
	} {
		got, ok := Hash(tc.seed, tc.value, tc.version)
		assert.True(t, ok)
		assert.InDelta(t, tc.want, got, 1e-9, "hash(%q, %q, v%d)", tc.seed, tc.value, tc.version)
	}
	_, ok := Hash("a", "b", 3)
	assert.False(t, ok)

	assert.False(t, InNamespace("1", "namespace1", 0, 0.4))
	assert.True(t, InNamespace("1", "namespace1", 0.4, 1))
}

func TestBucketRangesAndChoice(t *testing.T) {
	assert.Equal(t, []Range{{0, 0.25}, {0.5, 0.75}}, BucketRanges([]float64{0.5, 0.5}, 0.5))
	ranges := BucketRanges([]float64{0.2, 0.8}, 1)
	assert.Equal(t, 0, ChooseVariation(0.1, ranges))
	assert.Equal(t, 1, ChooseVariation(0.2, ranges))
	assert.Equal(t, -1, ChooseVariation(0.3, BucketRanges([]float64{0.5, 0.5}, 0.5)))
}

// Over 100,000 users the variations get their weights, within 1%.
func TestDistribution(t *testing.T) {
	ranges := BucketRanges([]float64{0.5, 0.3, 0.2}, 1)
	counts := make([]int, 3)
	const n = 100_000
	for i := range n {
		v, _ := Hash("exp-1", fmt.Sprintf("k1.user%06d", i), 2)
		counts[ChooseVariation(v, ranges)]++
	}
	for i, w := range []float64{0.5, 0.3, 0.2} {
		assert.InDelta(t, w, float64(counts[i])/n, 0.01, "variation %d", i)
	}
}
