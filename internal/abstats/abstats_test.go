package abstats

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The reference values were computed independently (a Python script with only the math module: the normal
// distribution through erfc, the t-distribution and the Beta posteriors by numerical integration of their
// densities), to at least 6 digits; the tests ask for 4 decimals.
const fourDecimals = 5e-5

func TestProportions(t *testing.T) {
	c := Proportions(200, 1000, 250, 1000)
	assert.InDelta(t, 0.2, c.Control, 1e-12)
	assert.InDelta(t, 0.25, c.Variant, 1e-12)
	assert.InDelta(t, 0.05, c.AbsoluteLift, 1e-12)
	assert.InDelta(t, 0.25, c.RelativeLift, 1e-12)
	assert.InDelta(t, 0.007420, c.PValue, fourDecimals)
	assert.InDelta(t, 0.013464, c.CILow, fourDecimals)
	assert.InDelta(t, 0.086536, c.CIHigh, fourDecimals)
	assert.InDelta(t, 0.996283, c.ChanceToBeat, fourDecimals)

	assert.InDelta(t, 0.947603, Proportions(20, 100, 30, 100).ChanceToBeat, fourDecimals)
	assert.InDelta(t, 0.5, Proportions(50, 100, 50, 100).ChanceToBeat, 1e-9, "equal data, even odds")
	assert.Equal(t, 1.0, Proportions(0, 100, 0, 100).PValue, "nobody converted: no evidence")
}

// Welch's t-test on the two samples of Wikipedia's "Welch's t-test" example (A1 and A2).
func TestMeans(t *testing.T) {
	c := Means(20.82, 7.867428571428574, 15, 22.986666666666668, 3.812666666666668, 15)
	assert.InDelta(t, 2.166667, c.AbsoluteLift, fourDecimals)
	assert.InDelta(t, 0.021378, c.PValue, fourDecimals)
	assert.InDelta(t, 0.349237, c.CILow, fourDecimals)
	assert.InDelta(t, 3.984096, c.CIHigh, fourDecimals)
	assert.True(t, math.IsNaN(c.ChanceToBeat))
	assert.Equal(t, 1.0, Means(1, 0, 10, 1, 0, 10).PValue, "no variance, no difference")
}

func TestSampleRatioMismatch(t *testing.T) {
	chi, p := SampleRatioMismatch([]int{5100, 4900}, []float64{0.5, 0.5})
	assert.InDelta(t, 4.0, chi, 1e-9)
	assert.InDelta(t, 0.045500, p, fourDecimals)
	chi, p = SampleRatioMismatch([]int{300, 350, 350}, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3})
	assert.InDelta(t, 5.0, chi, 1e-9)
	assert.InDelta(t, 0.082085, p, fourDecimals)
}

// An A/A test (no true effect) is significant at 5% in about 5% of runs: 200 simulated experiments of 2,000
// users per arm converting at 10%.
func TestAAFalsePositiveRate(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	significant := 0
	for range 200 {
		x := [2]int{}
		for arm := range x {
			for range 2000 {
				if r.Float64() < 0.1 {
					x[arm]++
				}
			}
		}
		if Proportions(x[0], 2000, x[1], 2000).PValue < 0.05 {
			significant++
		}
	}
	t.Logf("%d of 200 A/A runs significant at 5%%", significant)
	assert.InDelta(t, 10, significant, 9, "about 5%% (10 ± 3 standard deviations)")
}
