// Package abstats holds the statistics of an A/B experiment's results: a variant against the control, for a
// conversion rate (two-proportion z-test, and the Bayesian chance to beat control with Beta-Binomial
// posteriors) or a mean (Welch's t-test), and the sample-ratio-mismatch check of the assignment.
package abstats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// z95 is the normal quantile of a two-sided 95% interval.
var z95 = distuv.UnitNormal.Quantile(0.975)

// Comparison is a variant against the control.
type Comparison struct {
	Control, Variant float64 // the two values (rates or means)
	AbsoluteLift     float64 // Variant − Control
	RelativeLift     float64 // AbsoluteLift / Control (NaN when Control is 0)
	CILow, CIHigh    float64 // the 95% interval of the absolute lift
	PValue           float64 // two-sided
	// ChanceToBeat is the posterior probability that the variant's true value exceeds the control's
	// (conversions only; NaN for means).
	ChanceToBeat float64
}

// Proportions compares conversions: x of n users converted in the control and in the variant. The p-value is
// the pooled two-proportion z-test's; the interval uses the unpooled standard error; the chance to beat control
// uses Beta(1 + x, 1 + n − x) posteriors (a uniform prior).
func Proportions(xControl, nControl, xVariant, nVariant int) Comparison {
	p1, p2 := rate(xControl, nControl), rate(xVariant, nVariant)
	c := Comparison{Control: p1, Variant: p2, AbsoluteLift: p2 - p1, RelativeLift: relative(p2-p1, p1)}
	n1, n2 := float64(nControl), float64(nVariant)
	pooled := float64(xControl+xVariant) / (n1 + n2)
	if se := math.Sqrt(pooled * (1 - pooled) * (1/n1 + 1/n2)); se > 0 {
		c.PValue = 2 * distuv.UnitNormal.Survival(math.Abs(c.AbsoluteLift)/se)
	} else {
		c.PValue = 1
	}
	seDiff := math.Sqrt(p1*(1-p1)/n1 + p2*(1-p2)/n2)
	c.CILow, c.CIHigh = c.AbsoluteLift-z95*seDiff, c.AbsoluteLift+z95*seDiff
	c.ChanceToBeat = chanceToBeat(1+float64(xControl), 1+n1-float64(xControl), 1+float64(xVariant), 1+n2-float64(xVariant))
	return c
}

// Means compares means with Welch's t-test (unequal variances): each group's mean, sample variance and size.
func Means(meanControl, varControl float64, nControl int, meanVariant, varVariant float64, nVariant int) Comparison {
	c := Comparison{Control: meanControl, Variant: meanVariant, AbsoluteLift: meanVariant - meanControl,
		RelativeLift: relative(meanVariant-meanControl, meanControl), ChanceToBeat: math.NaN()}
	a, b := varControl/float64(nControl), varVariant/float64(nVariant)
	se := math.Sqrt(a + b)
	if se == 0 || nControl < 2 || nVariant < 2 {
		c.PValue, c.CILow, c.CIHigh = 1, c.AbsoluteLift, c.AbsoluteLift
		return c
	}
	df := (a + b) * (a + b) / (a*a/float64(nControl-1) + b*b/float64(nVariant-1)) // Welch–Satterthwaite
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}
	c.PValue = 2 * t.Survival(math.Abs(c.AbsoluteLift)/se)
	q := t.Quantile(0.975)
	c.CILow, c.CIHigh = c.AbsoluteLift-q*se, c.AbsoluteLift+q*se
	return c
}

// SampleRatioMismatch is the chi-square test of the users assigned to each variant against the weights; a small
// p-value (GrowthBook flags p < 0.001) means the assignment or the data is broken, not that a variant won.
func SampleRatioMismatch(counts []int, weights []float64) (chiSquare, pValue float64) {
	total := 0
	for _, n := range counts {
		total += n
	}
	if total == 0 || len(counts) < 2 {
		return 0, 1
	}
	for i, n := range counts {
		expected := weights[i] * float64(total)
		chiSquare += (float64(n) - expected) * (float64(n) - expected) / expected
	}
	return chiSquare, distuv.ChiSquared{K: float64(len(counts) - 1)}.Survival(chiSquare)
}

// chanceToBeat is P(B > A) for independent Beta(aA, bA) and Beta(aB, bB), by Evan Miller's closed form:
// Σ_{i=0}^{aB−1} B(aA+i, bA+bB) / ((bB+i)·B(1+i, bB)·B(aA, bA)), in log space (exact for integer aB).
func chanceToBeat(aA, bA, aB, bB float64) float64 {
	total := 0.0
	for i := 0.0; i < aB; i++ {
		total += math.Exp(lbeta(aA+i, bA+bB) - math.Log(bB+i) - lbeta(1+i, bB) - lbeta(aA, bA))
	}
	return total
}

func lbeta(a, b float64) float64 {
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
}

func rate(x, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(x) / float64(n)
}

func relative(diff, base float64) float64 {
	if base == 0 {
		return math.NaN()
	}
	return diff / base
}
